"""The pager, the chat and the outgoing webhook the settings choose (docs/integrations.md):
PagerDuty or the local inbox file; Slack or no chat; a signed webhook or none. All over the
worker's one shared HTTP client."""

from __future__ import annotations

import httpx

from orchestrator.config.settings import Settings
from orchestrator.providers.chat import ChatNotifier
from orchestrator.providers.pagerduty import PagerDutyPager
from orchestrator.providers.paging import LocalPager
from orchestrator.providers.signed_webhook import SignedWebhook
from orchestrator.providers.slack import SlackNotifier


def pager_for(
    settings: Settings, http: httpx.AsyncClient, local: LocalPager
) -> PagerDutyPager | LocalPager:
    pd = settings.pagerduty
    if pd is None:
        return local
    return PagerDutyPager(
        http,
        routing_key=pd.routing_key,
        record=settings.state_dir / "pager" / "pagerduty.json",
        events_url=pd.events_url,
        link_base_url=settings.link_base_url,
        rate_limit_cap=settings.rate_limit_cap,
    )


def chat_for(settings: Settings, http: httpx.AsyncClient) -> ChatNotifier | None:
    slack = settings.slack
    if slack is None:
        return None
    return SlackNotifier(
        http,
        record=settings.state_dir / "chat" / "slack.json",
        webhook_url=slack.webhook_url,
        bot_token=slack.bot_token,
        channel=slack.channel,
        api_url=slack.api_url,
        rate_limit_cap=settings.rate_limit_cap,
    )


def webhook_for(settings: Settings, http: httpx.AsyncClient) -> SignedWebhook | None:
    hook = settings.webhook
    if hook is None:
        return None
    return SignedWebhook(
        http,
        url=hook.url,
        secret=hook.secret,
        record=settings.state_dir / "webhook" / "delivered.json",
    )

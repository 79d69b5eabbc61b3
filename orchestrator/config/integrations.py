"""Settings of the paging and chat integrations: PagerDuty (Events API v2) and Slack.

Chosen by configuration alone: ``ORCHESTRATOR_PAGER=pagerduty`` with a routing key pages through
PagerDuty instead of the local inbox file; ``ORCHESTRATOR_CHAT=slack`` with an incoming webhook
URL or a bot token (and a channel) posts each incident to Slack; ``ORCHESTRATOR_WEBHOOK_URL`` with
a signing secret sends the same notices, signed, to any receiver. Every credential is a
:class:`~orchestrator.secrets.Secret` (``NAME`` or the first line of ``NAME_FILE``). See
docs/integrations.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.config.env import Env
from orchestrator.errors import ConfigError
from orchestrator.secrets import Secret

PAGERS = ("local", "pagerduty")
CHATS = ("none", "slack")
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SLACK_API_URL = "https://slack.com/api"


@dataclass(frozen=True)
class PagerDutySettings:
    routing_key: Secret
    """The integration key of one Events API v2 integration on one service."""
    events_url: str = PAGERDUTY_EVENTS_URL


@dataclass(frozen=True)
class SlackSettings:
    """Exactly one of ``webhook_url`` (incoming webhook: one channel, no threads) and
    ``bot_token`` with ``channel`` (``chat.postMessage``: updates as thread replies)."""

    webhook_url: Secret | None = None
    bot_token: Secret | None = None
    channel: str = ""
    api_url: str = SLACK_API_URL


def pager_from_env(env: Env) -> PagerDutySettings | None:
    """None for the local pager (the default)."""
    if env.choice("ORCHESTRATOR_PAGER", PAGERS, "local") != "pagerduty":
        return None
    key = env.secret("ORCHESTRATOR_PAGERDUTY_ROUTING_KEY")
    if key is None:
        raise ConfigError(
            "ORCHESTRATOR_PAGER=pagerduty needs ORCHESTRATOR_PAGERDUTY_ROUTING_KEY"
            " (or ORCHESTRATOR_PAGERDUTY_ROUTING_KEY_FILE)"
        )
    return PagerDutySettings(
        routing_key=key,
        events_url=env.text("ORCHESTRATOR_PAGERDUTY_EVENTS_URL", PAGERDUTY_EVENTS_URL),
    )


def chat_from_env(env: Env) -> SlackSettings | None:
    """None when no chat is configured (the default)."""
    if env.choice("ORCHESTRATOR_CHAT", CHATS, "none") != "slack":
        return None
    webhook = env.secret("ORCHESTRATOR_SLACK_WEBHOOK_URL")
    token = env.secret("ORCHESTRATOR_SLACK_BOT_TOKEN")
    channel = env.text("ORCHESTRATOR_SLACK_CHANNEL", "")
    if (webhook is None) == (token is None):
        raise ConfigError(
            "ORCHESTRATOR_CHAT=slack needs exactly one of ORCHESTRATOR_SLACK_WEBHOOK_URL and"
            " ORCHESTRATOR_SLACK_BOT_TOKEN (each also as ..._FILE)"
        )
    if token is not None and not channel:
        raise ConfigError("ORCHESTRATOR_SLACK_BOT_TOKEN needs ORCHESTRATOR_SLACK_CHANNEL")
    if webhook is not None and not webhook.reveal().startswith(("https://", "http://")):
        raise ConfigError("ORCHESTRATOR_SLACK_WEBHOOK_URL must be an http(s) URL")
    return SlackSettings(
        webhook_url=webhook,
        bot_token=token,
        channel=channel,
        api_url=env.text("ORCHESTRATOR_SLACK_API_URL", SLACK_API_URL),
    )


@dataclass(frozen=True)
class WebhookSettings:
    """The generic outgoing webhook: notices POSTed as JSON, HMAC-signed with ``secret``."""

    url: str
    secret: Secret


def webhook_from_env(env: Env) -> WebhookSettings | None:
    """None when no outgoing webhook is configured (the default)."""
    url = env.raw("ORCHESTRATOR_WEBHOOK_URL")
    secret = env.secret("ORCHESTRATOR_WEBHOOK_SECRET")
    if url is None:
        if secret is not None:
            raise ConfigError("ORCHESTRATOR_WEBHOOK_SECRET is set without ORCHESTRATOR_WEBHOOK_URL")
        return None
    if not url.startswith(("https://", "http://")):
        raise ConfigError("ORCHESTRATOR_WEBHOOK_URL must be an http(s) URL")
    if secret is None:
        raise ConfigError(
            "ORCHESTRATOR_WEBHOOK_URL needs ORCHESTRATOR_WEBHOOK_SECRET (or ..._FILE): every"
            " delivery is signed"
        )
    return WebhookSettings(url=url, secret=secret)

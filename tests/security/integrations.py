"""PagerDuty, Slack and the signed outgoing webhook for the no-secret sweep
(tests/security/test_no_secrets.py): the local servers of tests/providers/, chosen by settings,
refusing every call with answers that echo the credentials they were sent (the webhook's secret
never travels: its receiver echoes the signed URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.providers.fake_http import Reply
from tests.providers.fake_notice_receiver import FakeNoticeReceiver
from tests.providers.fake_pagerduty import FakePagerDuty
from tests.providers.fake_slack import FakeSlack
from tests.security.secret_strategies import signed_url


@contextmanager
def refusing_integrations(
    by_variable: dict[str, str], extra: dict[str, str], webhook: bool
) -> Iterator[dict[str, str | None]]:
    """PagerDuty and Slack, chosen by settings, both refusing every call with an answer that
    echoes their credential and the signed URL; the environment that points the worker at them."""
    key = by_variable["ORCHESTRATOR_PAGERDUTY_ROUTING_KEY"]
    token = by_variable["ORCHESTRATOR_SLACK_BOT_TOKEN"]
    hook = f"T0SWEEP/B0SWEEP/{by_variable['ORCHESTRATOR_SLACK_WEBHOOK_URL']}"
    url = signed_url(extra["url signature"], extra["url credential"], extra["url token"])
    pagerduty = FakePagerDuty({key})
    refusal = f"routing_key={key} refused, see {url}"
    pagerduty.fail_next(
        Reply(400, {"status": "invalid event", "message": refusal, "errors": [key]}), 10_000
    )
    slack = FakeSlack(bot_token=token, channels={"C0SWEEP"}, webhooks={hook: "C0SWEEP"})
    echo = f"invalid_auth: Authorization: Bearer {token}; /services/{hook}; {url}"
    slack.fail_next(
        Reply(200, {"ok": False, "error": echo}) if not webhook else Reply(403, echo),
        10_000,
    )
    receiver = FakeNoticeReceiver(by_variable["ORCHESTRATOR_WEBHOOK_SECRET"])
    receiver.fail_next(Reply(400, {"error": f"refused, see {url}"}), 10_000)
    with pagerduty.running(), slack.running(), receiver.running():
        env: dict[str, str | None] = {
            "ORCHESTRATOR_WEBHOOK_URL": receiver.hook_url,
            "ORCHESTRATOR_PAGER": "pagerduty",
            "ORCHESTRATOR_PAGERDUTY_EVENTS_URL": pagerduty.events_url,
            "ORCHESTRATOR_CHAT": "slack",
            "ORCHESTRATOR_SLACK_API_URL": slack.api_url,
            "ORCHESTRATOR_SLACK_CHANNEL": "C0SWEEP",
        }
        if webhook:
            env.update(
                ORCHESTRATOR_SLACK_WEBHOOK_URL=slack.webhook_url(hook),
                ORCHESTRATOR_SLACK_BOT_TOKEN=None,
            )
        else:
            env["ORCHESTRATOR_SLACK_WEBHOOK_URL"] = None
        yield env
        assert pagerduty.requests and slack.requests, "paging and chat were never called"
        assert receiver.requests, "the outgoing webhook was never called"

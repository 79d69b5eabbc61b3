"""The worked example's SEV1 path with PagerDuty and Slack chosen by settings alone, against the
local Events API v2 and the local Slack (tests/providers/fake_*.py), on the time-skipping server:
the on-call and the approval are paged (dedup keys per page, severity from the incident's), the
approval acknowledges them, the recovery resolves them; the incident channel gets one root message
and the story as thread replies, the ending broadcast."""

from __future__ import annotations

from orchestrator.config.integrations import PagerDutySettings, SlackSettings
from orchestrator.config.settings import Settings
from orchestrator.secrets import Secret
from orchestrator.workflows.types import IncidentPhase
from tests.providers.fake_http import Reply
from tests.providers.fake_pagerduty import FakePagerDuty
from tests.providers.fake_slack import FakeSlack
from tests.workflows.conftest import HarnessFactory
from tests.workflows.helpers import settled
from tests.workflows.signals import breach, recovered

ROUTING_KEY = "R0ut1ngK3yS3cr3tPD0123456789abcd"
BOT_TOKEN = "xoxb-1234567890-0987654321-S3cr3tB0tT0k3nValue"
CHANNEL = "C0INCIDENTS"
SLO = "language-gap"


def chosen(pd: FakePagerDuty, slack: FakeSlack) -> dict[str, object]:
    """The settings that choose PagerDuty and Slack (what the environment variables build)."""
    return {
        "pagerduty": PagerDutySettings(Secret(ROUTING_KEY), events_url=pd.events_url),
        "slack": SlackSettings(bot_token=Secret(BOT_TOKEN), channel=CHANNEL, api_url=slack.api_url),
        "link_base_url": "https://orchestrator.example",
    }


async def approval_paged(pd: FakePagerDuty) -> None:
    """The phase turns to awaiting-approval as the approval's page is scheduled, not once it has
    landed: wait (in real time, a few seconds at most) for the second alert."""

    async def alerts() -> int:
        return len(pd.incidents)

    await settled(alerts, lambda count: count >= 2)


async def test_pages_and_the_thread_follow_the_incident(
    make_harness: HarnessFactory, settings: Settings
) -> None:
    pd = FakePagerDuty({ROUTING_KEY})
    slack = FakeSlack(bot_token=BOT_TOKEN, channels={CHANNEL})
    with pd.running(), slack.running():
        async with make_harness(**chosen(pd, slack)) as h:
            assert type(h.runtime.ops.pager).__name__ == "PagerDutyPager"
            inc = await h.submit(breach(SLO, observed=7.4, burn=16.0))  # everyone: SEV1
            await h.until(inc, IncidentPhase.AWAITING_APPROVAL)
            await approval_paged(pd)
            assert [a.severity for a in pd.incidents] == ["critical", "error"]
            assert all(a.status == "triggered" for a in pd.incidents)
            assert len({a.dedup_key for a in pd.incidents}) == 2

            await h.approve(inc, "ana.sre", step="rollback-prompt")
            await h.until(inc, IncidentPhase.MONITORING)
            await h.submit(recovered(SLO))
            assert (await h.result(inc)).phase is IncidentPhase.RESOLVED
            await h.runtime.audit.verify()
    assert [a.status for a in pd.incidents] == ["resolved", "resolved"]
    actions = [e["event_action"] for a in pd.incidents for e in a.events]
    assert actions.count("trigger") == 2 and actions.count("resolve") == 2
    assert actions.count("acknowledge") == 2
    [root] = slack.roots()
    assert root.text.startswith(":rotating_light:") and "orchestrator.example" in root.text
    replies = [m for m in slack.messages if m.thread_ts == root.ts]
    assert len(replies) == len(slack.messages) - 1 >= 5
    assert replies[-1].reply_broadcast and "resolved" in replies[-1].text
    assert any("approval needed" in m.text for m in replies)
    assert all(BOT_TOKEN not in m.text and ROUTING_KEY not in m.text for m in slack.messages)


async def test_a_rate_limited_then_failing_pagerduty_pages_once(
    make_harness: HarnessFactory, settings: Settings
) -> None:
    """The page activity is retried by Temporal after the 429's Retry-After, then after a 503,
    and PagerDuty ends with one alert for the page; the incident goes on meanwhile."""
    pd = FakePagerDuty({ROUTING_KEY})
    slack = FakeSlack(bot_token=BOT_TOKEN, channels={CHANNEL})
    pd.fail_next(Reply(429, {"status": "throttle event"}, {"Retry-After": "2"}))
    pd.fail_next(Reply(503, "unavailable"))
    with pd.running(), slack.running():
        async with make_harness(**chosen(pd, slack)) as h:
            inc = await h.submit(breach(SLO, observed=7.4, burn=16.0))  # everyone: SEV1
            await h.until(inc, IncidentPhase.AWAITING_APPROVAL)
            page_step = await h.step(inc, "page-oncall")
    assert page_step.status == "done"
    first = pd.requests[0].json()["dedup_key"]
    assert [r.json()["dedup_key"] for r in pd.requests[:3]] == [first] * 3  # 429, 503, 202
    assert [a.dedup_key for a in pd.incidents].count(first) == 1

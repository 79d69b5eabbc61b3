"""The audit activity tells the incident's Slack thread and PagerDuty pages as the incident moves,
through the real adapters against the local Slack and PagerDuty (tests/providers/fake_*.py):
one root message and replies, the ending broadcast, pages acknowledged on an answer and resolved
on recovery, nothing twice on a retried batch, and a chat that fails or hangs never failing the
audit write."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import structlog
from temporalio.testing import ActivityEnvironment

from orchestrator.activities.audit import AuditActivities
from orchestrator.activities.updates import IncidentUpdates
from orchestrator.audit.factory import open_audit_store
from orchestrator.audit.model import AuditEvent, AuditKind
from orchestrator.audit.store import AuditStore
from orchestrator.domain.ops_models import PageRequest
from orchestrator.providers.pagerduty import PagerDutyPager
from orchestrator.providers.slack import SlackNotifier
from orchestrator.secrets import Secret
from tests.providers.fake_http import Reply
from tests.providers.fake_pagerduty import FakePagerDuty
from tests.providers.fake_slack import FakeSlack

ROUTING_KEY = "R0ut1ngK3yS3cr3tPD0123456789abcd"
BOT_TOKEN = "xoxb-1234567890-0987654321-S3cr3tB0tT0k3nValue"
CHANNEL = "C0INCIDENTS"
INCIDENT = "incident-support-assistant--language-gap@language=es"
T0 = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
STORY = [
    (AuditKind.SIGNAL_RECEIVED, "task success es 0.85"),
    (AuditKind.SEVERITY_CLASSIFIED, "SEV2"),  # recorded before the opening, as workflows do
    (AuditKind.INCIDENT_OPENED, "language gap breached for es"),
    (AuditKind.STEP_STARTED, "route-segment-to-humans"),
    (AuditKind.EFFECT_APPLIED, "es served the human queue"),
    (AuditKind.APPROVAL_REQUESTED, "rollback needs a person"),
    (AuditKind.APPROVAL_GRANTED, "rollback approved by ana"),
    (AuditKind.INCIDENT_RESOLVED, "SLO recovered; mitigations undone"),
]


def events(story: list[tuple[AuditKind, str]] = STORY) -> list[AuditEvent]:
    return [
        AuditEvent(
            event_key=f"{INCIDENT}/run/{n:04d}-{kind.value}",
            incident_id=INCIDENT,
            kind=kind,
            at=T0 + timedelta(seconds=n),
            actor="orchestrator",
            service="support-assistant",
            slo="language-gap",
            summary=summary,
        )
        for n, (kind, summary) in enumerate(story)
    ]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    server = FakeSlack(
        bot_token=BOT_TOKEN, channels={CHANNEL}, webhooks={"T0/B0/hookpath": CHANNEL}
    )
    with server.running():
        yield server


@pytest.fixture
def pd() -> Iterator[FakePagerDuty]:
    server = FakePagerDuty({ROUTING_KEY})
    with server.running():
        yield server


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AuditStore]:
    opened = open_audit_store(f"sqlite:///{tmp_path / 'audit.db'}")
    yield opened
    await opened.close()


def wiring(
    http: httpx.AsyncClient,
    slack: FakeSlack,
    pd: FakePagerDuty,
    folder: Path,
    *,
    webhook: bool = False,
) -> tuple[IncidentUpdates, PagerDutyPager]:
    chat = (
        SlackNotifier(
            http, record=folder / "s.json", webhook_url=Secret(slack.webhook_url("T0/B0/hookpath"))
        )
        if webhook
        else SlackNotifier(
            http,
            record=folder / "s.json",
            bot_token=Secret(BOT_TOKEN),
            channel=CHANNEL,
            api_url=slack.api_url,
        )
    )
    pager = PagerDutyPager(
        http, routing_key=Secret(ROUTING_KEY), record=folder / "pd.json", events_url=pd.events_url
    )
    return IncidentUpdates(chat, pager, link_base_url="https://orch.example", budget=2.0), pager


async def page(pager: PagerDutyPager, purpose: str) -> None:
    request = PageRequest(
        key=f"{INCIDENT}/page/{purpose}", incident_id=INCIDENT, target="oncall", summary=purpose
    )
    await pager.page(request, T0)


async def test_one_thread_per_incident_and_the_pages_follow_it(
    http: httpx.AsyncClient, slack: FakeSlack, pd: FakePagerDuty, store: AuditStore, tmp_path: Path
) -> None:
    updates, pager = wiring(http, slack, pd, tmp_path)
    await page(pager, "approval")
    audit = AuditActivities(store, updates=updates)
    await ActivityEnvironment().run(audit.record_audit_events, events()[:6])
    assert [a.status for a in pd.incidents] == ["triggered"]
    await ActivityEnvironment().run(audit.record_audit_events, events()[6:])
    [root] = slack.roots()
    assert "opened (support-assistant / language-gap)" in root.text
    assert "<https://orch.example/v1/incidents/" in root.text
    replies = [m for m in slack.messages if m.thread_ts == root.ts]
    assert [m.text.split(":")[0] for m in replies[:2]] == ["severity", "done"]
    assert len(replies) == 5 and replies[-1].reply_broadcast  # signal and step start: not posted
    assert [a.status for a in pd.incidents] == ["resolved"]
    assert [e["event_action"] for e in pd.incidents[0].events] == [
        "trigger",
        "acknowledge",
        "resolve",
    ]
    posted = len(slack.messages)
    await ActivityEnvironment().run(audit.record_audit_events, events())  # a retried batch
    assert len(slack.messages) == posted and len(pd.requests) == 3


async def test_a_webhook_gets_the_opening_and_the_ending_only(
    http: httpx.AsyncClient, slack: FakeSlack, pd: FakePagerDuty, store: AuditStore, tmp_path: Path
) -> None:
    updates, _ = wiring(http, slack, pd, tmp_path, webhook=True)
    await ActivityEnvironment().run(
        AuditActivities(store, updates=updates).record_audit_events, events()
    )
    assert [m.text.split(" ")[0] for m in slack.messages] == [
        ":rotating_light:",
        ":white_check_mark:",
    ]


async def test_a_failing_or_hanging_chat_never_fails_the_audit_write(
    http: httpx.AsyncClient, slack: FakeSlack, pd: FakePagerDuty, store: AuditStore, tmp_path: Path
) -> None:
    updates, pager = wiring(http, slack, pd, tmp_path)
    await page(pager, "failed")
    slack.fail_next(Reply(503, f"down; token={BOT_TOKEN}"), times=100)
    pd.fail_next(Reply(500, {"status": "error", "message": ROUTING_KEY}), times=100)
    audit = AuditActivities(store, updates=updates)
    with structlog.testing.capture_logs() as logs:
        seqs = await ActivityEnvironment().run(audit.record_audit_events, events()[:3])
        slack.hang_next(5.0)
        started = datetime.now(UTC)
        more = await ActivityEnvironment().run(audit.record_audit_events, events()[3:])
    assert len(seqs) == 3 and len(more) == len(STORY) - 3
    assert datetime.now(UTC) - started < timedelta(seconds=4.5)  # cut at the 2 s budget
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert any(w["event"] == "chat post not sent" for w in warnings)
    assert any(w["event"] == "incident updates cut short" for w in warnings)
    assert BOT_TOKEN not in str(logs) and ROUTING_KEY not in str(logs)
    assert [e.kind for e in await store.timeline(INCIDENT)] == [k for k, _ in STORY]

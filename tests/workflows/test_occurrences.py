"""Occurrences and the closed-alert memory, on the time-skipping server with the local providers.

Each test is one defect of issue 9: Alertmanager redelivering a resolved alert after the incident
closed, every occurrence sharing one id, a resolution arriving before its delayed firing, and a
generic re-fire after a resolve taken for a duplicate.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from orchestrator.audit.model import AuditKind
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus
from orchestrator.ingest.delivery import ParseContext
from orchestrator.ingest.generic import parse as parse_generic
from orchestrator.workflows.types import SIGNAL_BREACH, IncidentPhase
from tests.workflows.harness import Harness
from tests.workflows.helpers import FLAG
from tests.workflows.signals import SPANISH, breach

SLO = "language-gap"
STARTED = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def alert(status: str, started: datetime = STARTED, fp: str = "3f2a9c41d07e55b1") -> BreachSignal:
    """A fairness alert as the Alertmanager ingest makes it (fingerprint, startsAt, dedupe key)."""
    return breach(
        SLO,
        segment=SPANISH,
        observed=7.4,
        burn=9.2,
        resolved=status == "resolved",
        source="alertmanager",
        fingerprint=fp,
        started_at=started,
        dedupe_key=f"alertmanager:{fp}:{status}:{started.isoformat()}",
        labels={"alertname": "LanguageGapBreach", "language": "es"},
    )


async def _resolve_and_close(h: Harness, inc: str, started: datetime = STARTED) -> None:
    await h.submit(alert("resolved", started))
    final = await h.result(inc)
    assert final.phase is IncidentPhase.RESOLVED, final


async def test_redelivery_of_a_resolved_alert_after_close_runs_nothing_again(
    harness: Harness,
) -> None:
    h = harness
    inc = await h.submit(alert("firing"))
    await h.until(inc, IncidentPhase.MONITORING)
    await _resolve_and_close(h, inc)
    reviews, pages = len(await h.reviews()), len(await h.pages())
    freezes = len(await h.local.freezes.all())
    history = (await h.local.deploy.state("support-assistant", "prompt")).history
    assert await h.served_eventually(FLAG, "language", "es", "assistant") == "assistant"

    again = await h.submit(alert("firing"))  # Alertmanager's repeat_interval, or its restart

    key = await h.key(inc)
    assert again == key.key, "the redelivery opened no occurrence"
    assert key.open is None and [o.id for o in key.occurrences] == [inc]
    assert key.ignored == 1
    assert await h.served(FLAG, "language", "es") == "assistant"
    assert (await h.local.deploy.state("support-assistant", "prompt")).history == history
    assert len(await h.local.freezes.all()) == freezes, "no second freeze"
    assert (len(await h.reviews()), len(await h.pages())) == (reviews, pages), "no second RCA"
    notes = await h.runtime.audit.timeline(key.key)
    assert any("redelivery" in e.summary for e in notes if e.kind is AuditKind.NOTE)


async def test_each_occurrence_has_its_own_id_and_audit_timeline(harness: Harness) -> None:
    h = harness
    first = await h.submit(alert("firing"))
    await h.until(first, IncidentPhase.MONITORING)
    await _resolve_and_close(h, first)

    later = STARTED + timedelta(hours=1)
    second = await h.submit(alert("firing", later))
    await h.until(second, IncidentPhase.MONITORING)

    assert second != first
    key = await h.key(second)
    assert [o.id for o in key.occurrences] == [first, second]
    assert key.open == second
    assert (await h.state(second)).key == (await h.result(first)).key == key.key
    first_events = await h.runtime.audit.timeline(first)
    second_events = await h.runtime.audit.timeline(second)
    assert {e.incident_id for e in first_events} == {first}
    assert {e.incident_id for e in second_events} == {second}
    assert [e.kind for e in first_events].count(AuditKind.INCIDENT_OPENED) == 1
    assert [e.kind for e in second_events].count(AuditKind.INCIDENT_OPENED) == 1
    await _resolve_and_close(h, second, later)


async def test_resolution_before_its_delayed_firing_opens_nothing(harness: Harness) -> None:
    h = harness
    early = await h.submit(alert("resolved"))  # out of order: the resolution arrives first
    late = await h.submit(alert("firing"))

    key = await h.key(early)
    assert early == late == key.key
    assert key.open is None and key.occurrences == []
    assert key.ignored == 2
    assert await h.served(FLAG, "language", "es") == "assistant"
    assert await h.version("prompt") == "answer-prompt-v42"
    assert not await h.frozen("prompt")

    # A firing that starts after the remembered resolution is a new breach.
    new = await h.submit(alert("firing", STARTED + timedelta(minutes=30)))
    assert new != key.key
    await h.until(new, IncidentPhase.MONITORING)
    await _resolve_and_close(h, new, STARTED + timedelta(minutes=30))


def _generic(status: str, received: datetime) -> BreachSignal:
    body = {
        "service": "support-assistant",
        "slo": SLO,
        "dimension": "fairness",
        "status": status,
        "segment": SPANISH,
        "observed": 7.4,
        "burn_rate": 9.2,
    }
    ctx = ParseContext(mapping=None, max_alerts=10, received_at=received)  # type: ignore[arg-type]
    [signal] = parse_generic(body, ctx).signals
    return signal


async def test_generic_re_fire_after_a_resolve_keeps_the_incident_open(harness: Harness) -> None:
    h = harness
    """No dedupe_key: the same content sent again later is a new signal, not a duplicate."""
    t0 = datetime.now(UTC)
    inc = await h.submit(_generic("firing", t0))
    await h.until(inc, IncidentPhase.MONITORING)
    await h.submit(_generic("resolved", t0 + timedelta(minutes=1)))
    await h.until(inc, IncidentPhase.HOLDING_DOWN)

    refire = _generic("firing", t0 + timedelta(minutes=10))
    assert await h.submit(refire) == inc

    state = await h.until(inc, IncidentPhase.MONITORING)
    assert state.firing, "the re-fire keeps the incident open"
    assert (state.signals_received, state.duplicates_ignored) == (3, 0)
    await h.skip(60)  # past the hold-down: still open, the breach fires again
    assert not (await h.state(inc)).phase.finished
    assert await h.served(FLAG, "language", "es") == "human-queue"


def _per_segment(h: Harness) -> PlaybookLibrary:
    """The shipped library with the fairness playbook keeping one incident per segment."""
    books = tuple(
        p.model_copy(update={"per_segment": True}) if p.name == "fairness-language-gap" else p
        for p in h.runtime.library.playbooks
    )
    return PlaybookLibrary(playbooks=books)


async def test_a_per_segment_playbook_opens_one_incident_per_segment(harness: Harness) -> None:
    h = harness
    library = _per_segment(h)
    fires = {lang: alert("firing", fp=f"fp-{lang}") for lang in ("es", "fr")}
    fires["fr"] = fires["fr"].model_copy(update={"segment": Segment(key="language", value="fr")})
    es = await h.submit(fires["es"], library)
    await h.until(es, IncidentPhase.MONITORING)
    fr = await h.submit(fires["fr"], library)
    await h.until(fr, IncidentPhase.MONITORING)

    es_key, fr_key = await h.key(es), await h.key(fr)
    prefix = f"{h.runtime.settings.workflow_id_prefix}-support-assistant--language-gap"
    assert (es_key.key, fr_key.key) == (f"{prefix}@language=es", f"{prefix}@language=fr")
    assert (es_key.open, fr_key.open) == (es, fr), "fr opened its own occurrence beside es"
    assert await h.served(FLAG, "language", "es") == "human-queue"
    assert await h.served_eventually(FLAG, "language", "fr", "human-queue") == "human-queue"
    pins = (await h.local.deploy.state("support-assistant", "prompt")).history

    resolution = fires["es"].model_copy(
        update={"status": SignalStatus.RESOLVED, "dedupe_key": "es-resolved"}
    )
    await h.submit(resolution, library)
    assert (await h.result(es)).phase is IncidentPhase.RESOLVED
    assert await h.served_eventually(FLAG, "language", "es", "assistant") == "assistant"
    assert await h.served(FLAG, "language", "fr") == "human-queue", "fr's incident is still open"
    assert await h.served(FLAG, "language", "en") == "assistant"
    assert (await h.state(fr)).phase is IncidentPhase.MONITORING
    assert (await h.local.deploy.state("support-assistant", "prompt")).history == pins


async def test_a_resolution_overtaken_by_the_next_firing_keeps_the_incident_open(
    harness: Harness,
) -> None:
    """Temporal may deliver signals sent together in any order: a flap's resolution can reach
    the occurrence after the next instance's firing. Before, it closed the breach (the incident
    held down and resolved while the alert fired); now it is stale and recorded only."""
    h = harness
    inc = await h.submit(alert("firing"))
    await h.until(inc, IncidentPhase.MONITORING)
    later = STARTED + timedelta(minutes=5)
    occurrence = h.client.get_workflow_handle(inc)
    await occurrence.signal(SIGNAL_BREACH, alert("firing", later).with_dedupe_key())
    await occurrence.signal(SIGNAL_BREACH, alert("resolved").with_dedupe_key())
    state = await h.until(inc, IncidentPhase.MONITORING)
    notes: list[str] = []
    for _ in range(200):  # the audit is written by activities: poll for it, a bounded while
        state = await h.state(inc)
        notes = [e.summary for e in await h.runtime.audit.timeline(inc)]
        if state.signals_received == 3 and any("came after a later one" in n for n in notes):
            break
        await asyncio.sleep(0.05)
    assert state.signals_received == 3 and state.firing, state.phase
    assert any("came after a later one" in n for n in notes), notes
    await h.submit(alert("resolved", later))
    assert (await h.result(inc)).phase is IncidentPhase.RESOLVED

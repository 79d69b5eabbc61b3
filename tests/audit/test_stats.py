"""``incident_stats``: figures over a generated history that can be checked by hand, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.audit import stats
from orchestrator.audit.model import AuditEvent, AuditKind, IncidentState
from orchestrator.audit.query import EventFilter
from orchestrator.audit.stats import Durations, KeyRow, PlaybookRow, StepRow, durations, key_of
from orchestrator.audit.store import AuditStore
from tests.audit.conftest import Backend
from tests.audit.factories import T0, incident_history

KEY = "incident-support-assistant--fairness-gap@language=es"
OTHER = "incident-billing-bot--latency"
MITIGATED = (10, 20, 30, 40, 100)
RECOVERED = (100, 200, 300, 400, 1000)


def history() -> list[AuditEvent]:
    """Five occurrences of one key, an hour apart (the second approved by a person), and one
    SEV1 of another service that failed a step and never recovered."""
    out: list[AuditEvent] = []
    for i, (mitigate, recover) in enumerate(zip(MITIGATED, RECOVERED, strict=True)):
        out += incident_history(
            f"{KEY}--20261127-{10 + i:02d}0000",
            T0 + timedelta(hours=i),
            mitigate_after=mitigate,
            recover_after=recover,
            approver="alice@example.com" if i == 1 else None,
        )
    out += incident_history(
        f"{OTHER}--20261127-200000",
        T0 + timedelta(hours=10),
        service="billing-bot",
        slo="latency",
        dimension="latency",
        segment=None,
        severity="SEV1",
        playbook="latency-scale",
        mitigate_after=None,
        recover_after=None,
        failed_step="pin",
    )
    return sorted(out, key=lambda e: e.at)


async def fill(store: AuditStore) -> int:
    events = history()
    for event in events:
        await store.append(event)
    return len(events)


async def test_figures_of_a_generated_history(backend: Backend) -> None:
    count = await fill(backend.store)
    got = await stats.incident_stats(backend.store, EventFilter())
    assert got.events == count
    assert got.incidents == 6
    assert got.by_service == {"support-assistant": 5, "billing-bot": 1}
    assert got.by_slo == {"fairness-gap": 5, "latency": 1}
    assert got.by_segment == {"language=es": 5, "(none)": 1}
    assert got.by_severity == {"SEV1": 1, "SEV2": 5}
    # median of 10, 20, 30, 40, 100 is 30; p90 is the ceil(0.9 * 5) = 5th smallest
    assert got.time_to_mitigate == Durations(n=5, median_seconds=30.0, p90_seconds=100.0)
    assert got.time_to_recover == Durations(n=5, median_seconds=300.0, p90_seconds=1000.0)
    assert got.playbooks == (
        PlaybookRow(
            playbook="fairness-fallback", incidents=5, recovered=5, recovered_without_human=4
        ),
        PlaybookRow(playbook="latency-scale", incidents=1, recovered=0, recovered_without_human=0),
    )
    assert got.steps == (
        StepRow(playbook="fairness-fallback", step="route", incidents=5, failed=0, waited=1),
        StepRow(playbook="fairness-fallback", step="verify", incidents=5, failed=0, waited=0),
        StepRow(playbook="latency-scale", step="pin", incidents=1, failed=1, waited=0),
    )
    assert got.recurring_keys == (KeyRow(key=KEY, occurrences=5),)


async def test_the_filter_narrows_the_figures(backend: Backend) -> None:
    await fill(backend.store)
    sev1 = await stats.incident_stats(backend.store, EventFilter(severity="SEV1"))
    assert sev1.incidents == 1 and sev1.by_service == {"billing-bot": 1}
    assert sev1.time_to_recover.n == 0 and sev1.time_to_recover.median_seconds is None
    window = EventFilter(since=T0 + timedelta(hours=3), until=T0 + timedelta(hours=5))
    late = await stats.incident_stats(backend.store, window)
    assert late.incidents == 2
    assert late.time_to_mitigate == Durations(n=2, median_seconds=70.0, p90_seconds=100.0)
    assert late.recurring_keys == (KeyRow(key=KEY, occurrences=2),)


async def test_small_pages_give_the_same_figures(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(backend.store)
    whole = await stats.incident_stats(backend.store, EventFilter())
    monkeypatch.setattr(stats, "PAGE", 7)
    assert await stats.incident_stats(backend.store, EventFilter()) == whole


def test_durations_median_and_p90() -> None:
    assert durations([]) == Durations(n=0, median_seconds=None, p90_seconds=None)
    assert durations([5.0]) == Durations(n=1, median_seconds=5.0, p90_seconds=5.0)
    ten = durations(float(n) for n in range(10, 0, -1))
    assert ten == Durations(n=10, median_seconds=5.5, p90_seconds=9.0)


def test_key_of_an_occurrence() -> None:
    assert key_of(f"{KEY}--20261127-100000") == KEY
    assert key_of(f"{KEY}--20261127-100000-2") == KEY
    assert key_of(OTHER) == OTHER


async def test_incidents_filtered_by_service_slo_severity_state_and_window(
    backend: Backend,
) -> None:
    await fill(backend.store)
    store = backend.store
    first = f"{KEY}--20261127-100000"
    every = await store.incidents()
    assert [i.incident_id for i in every] == [
        f"{OTHER}--20261127-200000",
        *(f"{KEY}--20261127-{10 + i:02d}0000" for i in range(4, -1, -1)),
    ]
    assert [i.incident_id for i in await store.incidents(service="billing-bot")] == [
        every[0].incident_id
    ]
    assert len(await store.incidents(flt=EventFilter(slo="fairness-gap"))) == 5
    assert [i.state.value for i in await store.incidents(state=IncidentState.OPEN)] == ["open"]
    assert len(await store.incidents(state=IncidentState.RESOLVED)) == 5
    assert await store.incidents(state=IncidentState.ABORTED) == []
    window = await store.incidents(flt=EventFilter(since=T0 + timedelta(hours=3, minutes=5)))
    assert [i.incident_id[-6:] for i in window] == ["200000", "140000", "130000"]
    whole = {i.incident_id: i for i in every}
    assert all(i == whole[i.incident_id] for i in window), "span and count stay the incident's"
    assert len(await store.incidents(limit=2)) == 2

    # Re-classified SEV1: the incident list goes by the latest severity, events by any.
    await store.append(
        AuditEvent(
            event_key=f"{first}/run-1/again",
            incident_id=first,
            kind=AuditKind.SEVERITY_CLASSIFIED,
            at=T0 + timedelta(hours=11),
            actor="orchestrator",
            data={"severity": "SEV1"},
        )
    )
    sev2 = await store.incidents(flt=EventFilter(severity="SEV2"))
    assert first not in {i.incident_id for i in sev2} and len(sev2) == 4
    sev1 = await store.incidents(flt=EventFilter(severity="SEV1"))
    assert {i.incident_id for i in sev1} == {first, every[0].incident_id}
    assert all(i.severity == "SEV1" for i in sev1)
    events = await store.query(EventFilter(severity="SEV2", occurrence=first))
    assert events and all(e.incident_id == first for e in events)

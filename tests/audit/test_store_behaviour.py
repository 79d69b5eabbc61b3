"""The behaviour every audit store must have, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta, timezone

import pytest

from orchestrator.activities.audit import AuditActivities
from orchestrator.audit.chain import GENESIS_HASH
from orchestrator.audit.model import AuditKind, IncidentState
from orchestrator.errors import AuditError, NotFoundError
from tests.audit.conftest import Backend
from tests.audit.factories import T0, event


async def test_append_and_timeline_in_seq_order(backend: Backend) -> None:
    store = backend.store
    appended = []
    for n in range(6):
        incident = "inc-a" if n % 2 == 0 else "inc-b"
        appended.append(await store.append(event(n, incident=incident)))

    assert [e.seq for e in appended] == [1, 2, 3, 4, 5, 6]
    assert appended[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(appended))
    timeline = await store.timeline("inc-a")
    assert [e.seq for e in timeline] == [1, 3, 5]
    assert timeline == [appended[0], appended[2], appended[4]]
    assert timeline[0].as_event() == event(0, incident="inc-a")
    assert (await store.events()) == appended


async def test_a_key_timeline_holds_its_occurrences_and_nothing_else(backend: Backend) -> None:
    store = backend.store
    key = "p-svc_a--gap"
    ids = [key, f"{key}--20261203-101500", "p-svc_a--gap-b", "p-svcXa--gap--20261203-1", key]
    ids += [f"{key}--20261203-101500", f"{key}--20261203-111500-2"]
    stored = [await store.append(event(n, incident=i)) for n, i in enumerate(ids)]

    assert [e.seq for e in await store.timeline(key)] == [1, 2, 5, 6, 7]
    occurrence = await store.timeline(f"{key}--20261203-101500")
    assert occurrence == [stored[1], stored[5]]
    assert [e.seq for e in await store.timeline("p-svc_a--gap-b")] == [3]


async def test_timeline_of_unknown_incident_is_not_found(backend: Backend) -> None:
    await backend.store.append(event(1))
    with pytest.raises(NotFoundError, match="nope"):
        await backend.store.timeline("nope")


async def test_same_event_key_is_stored_once_whatever_the_payload(backend: Backend) -> None:
    store = backend.store
    first = await store.append(event(1, key="inc-1/run-1/step-1/effect_applied"))
    retry = event(
        2, key="inc-1/run-1/step-1/effect_applied", summary="different", data={"other": True}
    )
    again = await store.append(retry)

    assert again == first
    assert again.summary == "event 1 of inc-1"
    assert len(await store.events()) == 1
    assert (await store.verify()).ok


async def test_fifty_concurrent_appends_keep_one_valid_chain(backend: Backend) -> None:
    store = backend.store
    batch = [event(n, incident=f"inc-{n % 5}") for n in range(50)]
    retries = batch[:10]  # the same keys again, racing the originals
    results = await asyncio.gather(*(store.append(e) for e in batch + retries))

    stored = await store.events()
    assert [e.seq for e in stored] == list(range(1, 51))
    assert {e.event_key for e in stored} == {e.event_key for e in batch}
    assert results[50:] == results[:10]
    report = await store.verify()
    assert report.ok, report
    assert report.checked == 50
    assert report.head_hash == stored[-1].hash


async def test_two_store_instances_appending_at_once_keep_one_chain(backend: Backend) -> None:
    other = backend.open_another()
    try:
        stores = [backend.store, other]
        await asyncio.gather(
            *(stores[n % 2].append(event(n, incident=f"inc-{n % 3}")) for n in range(40)),
            *(stores[n % 2].append(event(n, incident="inc-0")) for n in range(0, 40, 3)),
        )
        report = await other.verify()
        assert report.ok, report
        assert report.checked == len(await backend.store.events())
    finally:
        await other.close()


async def test_history_survives_reopening_and_the_chain_continues(backend: Backend) -> None:
    for n in range(3):
        await backend.store.append(event(n))
    await backend.store.close()
    reopened = backend.open_another()
    try:
        assert [e.seq for e in await reopened.timeline("inc-1")] == [1, 2, 3]
        fourth = await reopened.append(event(3))
        assert fourth.seq == 4
        assert (await reopened.verify()).checked == 4
    finally:
        await reopened.close()


async def test_secrets_are_redacted_before_they_are_stored(backend: Backend) -> None:
    stored = await backend.store.append(
        event(
            1,
            summary="called the API with Bearer xyz",
            data={"token": "tok-SECRET", "note": "Bearer xyz", "nested": [{"api_key": "k-123"}]},
        )
    )

    assert stored.data == {
        "token": "[redacted]",
        "note": "Bearer [redacted]",
        "nested": [{"api_key": "[redacted]"}],
    }
    assert stored.summary == "called the API with Bearer [redacted]"
    raw = await backend.raw("SELECT summary, data, hash FROM {table}")
    text = repr(raw)
    # values no hex digest can contain (a hash once held "abc" by chance)
    assert "tok-SECRET" not in text
    assert "xyz" not in text
    assert "k-123" not in text
    assert (await backend.store.verify()).ok


async def test_times_are_kept_as_utc_instants(backend: Backend) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = T0.astimezone(plus_two)
    stored = await backend.store.append(event(1, at=local))
    (read,) = await backend.store.timeline("inc-1")
    assert read.at == local
    assert read.at.utcoffset() == timedelta(0)
    assert read.recorded_at.utcoffset() == timedelta(0)
    assert read == stored


async def test_incidents_summarise_state_severity_and_span(backend: Backend) -> None:
    store = backend.store
    k = AuditKind
    plan = [
        ("inc-a", k.SIGNAL_RECEIVED, None),
        ("inc-a", k.INCIDENT_OPENED, None),
        ("inc-a", k.SEVERITY_CLASSIFIED, {"severity": "sev2"}),
        ("inc-b", k.INCIDENT_OPENED, None),
        ("inc-a", k.SEVERITY_CLASSIFIED, {"severity": "sev1"}),
        ("inc-a", k.EFFECT_APPLIED, {"flag": "f"}),
        ("inc-a", k.INCIDENT_RESOLVED, None),
        ("inc-c", k.INCIDENT_OPENED, None),
        ("inc-c", k.INCIDENT_ABORTED, None),
        ("inc-b", k.NOTE, None),
    ]
    for n, (incident, kind, data) in enumerate(plan):
        service = "recommender" if incident == "inc-b" else "support-assistant"
        await store.append(event(n, incident=incident, kind=kind, data=data, service=service))

    summaries = await store.incidents()
    assert [s.incident_id for s in summaries] == ["inc-b", "inc-c", "inc-a"]
    b, c, a = summaries
    assert (a.state, a.severity, a.events, a.last_kind) == (
        IncidentState.RESOLVED,
        "sev1",
        6,
        k.INCIDENT_RESOLVED,
    )
    assert (a.service, a.slo) == ("support-assistant", "fairness-gap")
    assert a.first_at == T0
    assert a.last_at == T0 + timedelta(seconds=6)
    assert (b.state, b.severity, b.events, b.last_kind) == (IncidentState.OPEN, None, 2, k.NOTE)
    assert b.service == "recommender"
    assert (c.state, c.events) == (IncidentState.ABORTED, 2)
    assert [s.incident_id for s in await store.incidents(service="recommender")] == ["inc-b"]
    assert [s.incident_id for s in await store.incidents(limit=2)] == ["inc-b", "inc-c"]
    assert await store.incidents(service="nobody") == []


async def test_events_are_paged_by_seq(backend: Backend) -> None:
    for n in range(7):
        await backend.store.append(event(n))
    page = await backend.store.events(since_seq=2, limit=3)
    assert [e.seq for e in page] == [3, 4, 5]
    assert [e.seq for e in await backend.store.events(since_seq=5)] == [6, 7]
    assert await backend.store.events(since_seq=7) == []
    with pytest.raises(ValueError, match="limit"):
        await backend.store.events(limit=0)
    with pytest.raises(ValueError, match="since_seq"):
        await backend.store.events(since_seq=-1)


async def test_empty_store_verifies(backend: Backend) -> None:
    report = await backend.store.verify()
    assert (report.ok, report.checked, report.first_bad_seq, report.head_hash) == (
        True,
        0,
        None,
        None,
    )
    assert await backend.store.incidents() == []


async def test_a_closed_store_refuses_work(backend: Backend) -> None:
    await backend.store.append(event(1))
    await backend.store.close()
    with pytest.raises(AuditError, match="closed"):
        await backend.store.append(event(2))


async def test_a_batch_is_stored_in_order_and_once_whatever_the_retries(backend: Backend) -> None:
    """The audit activity's batch (one transaction where the store takes a batch at once): in
    order, chained, and a retried batch stores nothing twice."""
    activities = AuditActivities(backend.store)
    batch = [event(n, incident="inc-a" if n % 2 else "inc-b") for n in range(5)]
    assert await activities.record_audit_events(batch) == [1, 2, 3, 4, 5]
    assert await activities.record_audit_events([*batch, event(5)]) == [1, 2, 3, 4, 5, 6]
    stored = await backend.store.events()
    assert [e.as_event() for e in stored] == [*batch, event(5)]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(stored))
    assert (await backend.store.verify()).ok

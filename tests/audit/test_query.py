"""``store.query(EventFilter)``: every filter, alone and together, on SQLite and PostgreSQL, with
keyset paging; and the one parser of the filters' text form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from orchestrator.audit.model import AuditEvent, AuditKind, StoredEvent
from orchestrator.audit.query import (
    EventFilter,
    FilterError,
    Severity,
    parse_filter,
    parse_time,
)
from orchestrator.audit.store import AuditStore
from orchestrator.domain.severity import Severity as DomainSeverity
from tests.audit.conftest import Backend
from tests.audit.factories import T0, event, incident_history

KEY = "incident-support-assistant--fairness-gap"
OCC_A = f"{KEY}--20261127-093000"
OCC_B = f"{KEY}--20261127-103000"
OCC_C = "incident-billing-bot--latency--20261127-113000"


def history() -> list[AuditEvent]:
    """Three occurrences an hour apart (two of one key), and a note of the key itself."""
    a = incident_history(OCC_A, T0, approver="alice@example.com")
    b = incident_history(
        OCC_B,
        T0 + timedelta(hours=1),
        severity="SEV1",
        segment=("language", "fr"),
        failed_step="pin",
        flag="other-flag",
    )
    c = incident_history(
        OCC_C,
        T0 + timedelta(hours=2),
        service="billing-bot",
        slo="latency",
        dimension="latency",
        segment=None,
        severity="SEV3",
        playbook="latency-scale",
        mitigate_after=None,
        recover_after=None,
    )
    note = AuditEvent(
        event_key=f"{KEY}/run-k/opened",
        incident_id=KEY,
        kind=AuditKind.NOTE,
        at=T0 + timedelta(seconds=0.05),
        actor="orchestrator",
        service="support-assistant",
        slo="fairness-gap",
        data={"occurrence": OCC_A},
    )
    return sorted([*a, *b, *c, note], key=lambda e: e.at)


async def stored_history(store: AuditStore) -> list[StoredEvent]:
    return [await store.append(e) for e in history()]


Case = tuple[dict[str, str], Callable[[StoredEvent], bool]]
CASES: dict[str, Case] = {
    "occurrence": ({"occurrence": OCC_B}, lambda e: e.incident_id == OCC_B),
    "key": ({"key": KEY}, lambda e: e.incident_id.startswith(KEY)),
    "service": ({"service": "billing-bot"}, lambda e: e.service == "billing-bot"),
    "slo": ({"slo": "fairness-gap"}, lambda e: e.slo == "fairness-gap"),
    "dimension": ({"dimension": "latency"}, lambda e: e.incident_id == OCC_C),
    "segment": ({"segment": "language=fr"}, lambda e: e.incident_id == OCC_B),
    "severity": ({"severity": "sev1"}, lambda e: e.incident_id == OCC_B),
    "actor": ({"actor": "alice@example.com"}, lambda e: e.kind is AuditKind.APPROVAL_GRANTED),
    "kind": ({"kind": "step_failed"}, lambda e: e.kind is AuditKind.STEP_FAILED),
    "action": (
        {"action": "flag.route_segment"},
        lambda e: e.kind is AuditKind.EFFECT_APPLIED,
    ),
    "target": ({"target": "other-flag"}, lambda e: e.data.get("flag") == "other-flag"),
    "outcome": ({"outcome": "passed"}, lambda e: e.kind is AuditKind.VERIFICATION_PASSED),
    "since": (
        {"since": (T0 + timedelta(hours=1)).isoformat()},
        lambda e: e.at >= T0 + timedelta(hours=1),
    ),
    "until": (
        {"until": (T0 + timedelta(hours=1)).isoformat()},
        lambda e: e.at < T0 + timedelta(hours=1),
    ),
    "segment and kind": (
        {"segment": "language=es", "kind": "signal_received"},
        lambda e: e.incident_id == OCC_A and e.kind is AuditKind.SIGNAL_RECEIVED,
    ),
    "severity, outcome and window": (
        {
            "severity": "SEV2",
            "outcome": "applied",
            "since": T0.isoformat(),
            "until": (T0 + timedelta(minutes=30)).isoformat(),
        },
        lambda e: e.incident_id == OCC_A and e.kind is AuditKind.EFFECT_APPLIED,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_each_filter_returns_exactly_the_events_it_names(backend: Backend, name: str) -> None:
    events = await stored_history(backend.store)
    words, expected = CASES[name]
    flt = parse_filter(words, now=T0)
    got = await backend.store.query(flt, limit=1000)
    want = [e.seq for e in events if expected(e)]
    assert want and len(want) < len(events), "the case must narrow the history"
    assert [e.seq for e in got] == want
    assert got == [e for e in events if expected(e)]


async def test_an_empty_filter_pages_through_everything_by_seq(backend: Backend) -> None:
    events = await stored_history(backend.store)
    pages: list[list[int]] = []
    cursor = 0
    while True:
        page = await backend.store.query(EventFilter(), limit=4, after_seq=cursor)
        if not page:
            break
        pages.append([e.seq for e in page])
        cursor = page[-1].seq
    assert [seq for page in pages for seq in page] == [e.seq for e in events]
    assert all(len(page) == 4 for page in pages[:-1])


async def test_pages_of_a_filter_skip_what_it_excludes(backend: Backend) -> None:
    events = await stored_history(backend.store)
    flt = EventFilter(key=KEY)
    first = await backend.store.query(flt, limit=3)
    rest = await backend.store.query(flt, limit=1000, after_seq=first[-1].seq)
    assert [e.seq for e in [*first, *rest]] == [e.seq for e in events if e.incident_id != OCC_C]


async def test_kind_and_outcome_that_exclude_each_other_match_nothing(backend: Backend) -> None:
    await stored_history(backend.store)
    flt = EventFilter(kind=AuditKind.EFFECT_APPLIED, outcome="failed")
    assert await backend.store.query(flt) == []


async def test_a_store_made_before_the_query_indexes_gets_them_and_keeps_its_chain(
    backend: Backend,
) -> None:
    await stored_history(backend.store)
    await backend.store.close()
    names = ("at", "kind", "severity", "dimension", "segment")
    for name in names:
        await backend.raw(
            f"DROP INDEX audit_events_{name}"
            if backend.schema is None
            else f'DROP INDEX "{backend.schema}".audit_events_{name}'
        )
    reopened = backend.open_another()
    try:
        found = await reopened.query(EventFilter(severity="SEV1"))
        assert {e.incident_id for e in found} == {OCC_B}
        assert (await reopened.verify()).ok
    finally:
        await reopened.close()
    if backend.schema is None:
        rows = await backend.raw("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        rows = await backend.raw(
            f"SELECT indexname FROM pg_indexes WHERE schemaname = '{backend.schema}'"
        )
    assert {f"audit_events_{n}" for n in names} <= {str(r[0]) for r in rows}


def test_unknown_kind_lists_the_valid_ones() -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter({"kind": "flag_changed"}, now=T0)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("unknown kind 'flag_changed'; valid: signal_received,")
    assert "safety_changed" in message


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ({"severity": "SEV9"}, "unknown severity 'SEV9'; valid: SEV1, SEV2, SEV3, SEV4"),
        ({"outcome": "won"}, "unknown outcome 'won'; valid: applied, unchanged, passed,"),
        ({"since": "last week"}, "since must be like 7d, 12h, 30m or an ISO time"),
        ({"until": "3w"}, "until must be like 7d, 12h, 30m or an ISO time"),
        ({"segment": "language"}, "segment must look like key=value, got 'language'"),
        ({"since": "1d", "until": "2d"}, "until must be later than since"),
        ({"colour": "red"}, "unknown filter 'colour'; valid: occurrence, key,"),
    ],
)
def test_bad_filters_are_one_line_errors(words: dict[str, str], message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(words, now=T0)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_times_are_ago_or_iso_in_utc() -> None:
    assert parse_time("7d", now=T0) == T0 - timedelta(days=7)
    assert parse_time("12h", now=T0) == T0 - timedelta(hours=12)
    assert parse_time("30m", now=T0) == T0 - timedelta(minutes=30)
    assert parse_time("2026-11-27T10:00:00", now=T0) == T0.replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    assert parse_time("2026-11-27T12:00:00+02:00", now=T0).hour == 10
    assert parse_time("2026-11-27T10:00:00Z", now=T0).hour == 10


def test_blank_words_are_left_out() -> None:
    assert parse_filter({"service": "", "slo": None, "kind": " note "}, now=T0) == EventFilter(
        kind=AuditKind.NOTE
    )


def test_the_filter_knows_the_severities_the_domain_classifies_with() -> None:
    assert [s.value for s in Severity] == [s.value for s in DomainSeverity]


async def test_since_holds_when_events_are_written_out_of_time_order(backend: Backend) -> None:
    """``at`` is workflow time: a late write (a drained spool, a queued event) has a higher seq
    than events that happened after it; the window must still find it, on every page."""
    minutes = [50, 10, 40, 5, 30, 60, 1, 45]
    for n, minute in enumerate(minutes):
        await backend.store.append(event(n, at=T0 + timedelta(minutes=minute)))
    flt = EventFilter(since=T0 + timedelta(minutes=30))
    want = [n + 1 for n, minute in enumerate(minutes) if minute >= 30]
    assert [e.seq for e in await backend.store.query(flt)] == want
    first = await backend.store.query(flt, limit=2)
    rest = await backend.store.query(flt, after_seq=first[-1].seq)
    assert [e.seq for e in [*first, *rest]] == want
    assert await backend.store.query(EventFilter(since=T0 + timedelta(days=1))) == []

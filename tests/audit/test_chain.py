"""The hash chain on its own: canonical form, sealing, and what verify() reports."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.audit.chain import (
    GENESIS_HASH,
    canonical_json,
    event_hash,
    hash_fields,
    seal,
    verify,
)
from orchestrator.audit.model import AuditKind, StoredEvent
from tests.audit.factories import T0, event

RECORDED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def chain(n: int) -> list[StoredEvent]:
    out: list[StoredEvent] = []
    prev = GENESIS_HASH
    for i in range(n):
        stored = seal(event(i), seq=i + 1, prev_hash=prev, recorded_at=RECORDED)
        out.append(stored)
        prev = stored.hash
    return out


def test_canonical_json_is_sorted_compact_and_utc() -> None:
    plus_one = timezone(timedelta(hours=1))
    value = {"b": 1, "a": [True, None], "at": datetime(2026, 1, 1, 13, 0, tzinfo=plus_one)}
    assert (
        canonical_json(value) == '{"a":[true,null],"at":"2026-01-01T12:00:00.000000+00:00","b":1}'
    )
    assert canonical_json({"é": "ü"}) == '{"é":"ü"}'


def test_the_hash_is_sha256_of_prev_hash_and_canonical_fields() -> None:
    first = seal(event(1), seq=1, prev_hash=GENESIS_HASH, recorded_at=RECORDED)
    fields = {
        "actor": "orchestrator",
        "at": "2026-11-27T09:30:01.250000+00:00",
        "data": {"n": 1},
        "event_key": "inc-1/run-1/0001/note",
        "incident_id": "inc-1",
        "kind": "note",
        "recorded_at": "2026-11-27T10:00:00.000000+00:00",
        "run_id": "run-1",
        "seq": 1,
        "service": "support-assistant",
        "slo": "fairness-gap",
        "summary": "event 1 of inc-1",
    }
    assert hash_fields(first, 1, RECORDED) == fields
    text = GENESIS_HASH + canonical_json(fields)
    assert first.hash == hashlib.sha256(text.encode()).hexdigest()
    assert first.prev_hash == GENESIS_HASH == "0" * 64


def test_a_sound_chain_verifies() -> None:
    events = chain(5)
    report = verify(events)
    assert (report.ok, report.checked, report.first_bad_seq, report.problem) == (
        True,
        5,
        None,
        None,
    )
    assert report.head_hash == events[-1].hash
    assert verify([]).ok


def test_an_altered_event_is_the_first_bad_seq() -> None:
    events = chain(5)
    events[2] = events[2].model_copy(update={"summary": "rewritten"})
    report = verify(events)
    assert (report.ok, report.first_bad_seq, report.checked) == (False, 3, 2)
    assert report.head_hash == events[1].hash


def test_missing_and_reordered_events_are_found() -> None:
    events = chain(5)
    assert verify(events[:1] + events[2:]).first_bad_seq == 3
    assert verify([events[0], events[2], events[1]]).first_bad_seq == 3
    assert verify(events[1:]).first_bad_seq == 2


def test_a_forged_link_is_found_at_the_next_event() -> None:
    events = chain(4)
    forged = events[1].model_copy(update={"kind": AuditKind.APPROVAL_GRANTED})
    digest = event_hash(forged.prev_hash, hash_fields(forged, forged.seq, forged.recorded_at))
    events[1] = forged.model_copy(update={"hash": digest})
    report = verify(events)
    assert (report.first_bad_seq, report.checked) == (3, 2)
    assert "prev_hash" in (report.problem or "")


_json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(
    data=st.dictionaries(st.text(max_size=8), _json, max_size=4),
    summary=st.text(max_size=40),
    at_offset=st.integers(min_value=0, max_value=10**9),
)
def test_any_change_to_any_hashed_field_is_detected(
    data: dict[str, object], summary: str, at_offset: int
) -> None:
    original = seal(event(1), seq=1, prev_hash=GENESIS_HASH, recorded_at=RECORDED)
    changed = original.model_copy(
        update={"data": data, "summary": summary, "at": T0 + timedelta(microseconds=at_offset)}
    )
    same = (changed.data, changed.summary, changed.at) == (
        original.data,
        original.summary,
        original.at,
    )
    assert verify([changed]).ok is same

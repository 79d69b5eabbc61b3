"""Hashing and exporting straight from stored rows gives exactly what the models give."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.audit import raw
from orchestrator.audit.chain import GENESIS_HASH, canonical_json, hash_fields, seal
from orchestrator.audit.export import event_line
from orchestrator.audit.model import AuditKind, StoredEvent
from orchestrator.audit.rows import event_from_row, validated_event
from orchestrator.audit.sqlite_store import row_values as _row
from tests.audit.conftest import Backend
from tests.audit.factories import T0, event

RECORDED = datetime(2026, 11, 27, 10, 0, 0, 1, tzinfo=UTC)
_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_float = st.floats(allow_nan=False, allow_infinity=False)
_leaf = st.none() | st.booleans() | st.integers() | _float | _text
_json = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


def _stored(**kw: Any) -> StoredEvent:
    return seal(event(7, **kw), seq=7, prev_hash="a" * 64, recorded_at=RECORDED)


def _model_texts(row: tuple[Any, ...]) -> tuple[str, str]:
    stored = event_from_row(row)
    fields = hash_fields(stored, stored.seq, stored.recorded_at)
    return canonical_json(fields), event_line(stored)


def _as_postgres(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row as psycopg hands it over: times as datetimes (in the session's zone)."""
    there = timezone(timedelta(hours=-5))
    out = list(row)
    out[5] = datetime.fromisoformat(row[5]).astimezone(there)
    out[11] = datetime.fromisoformat(row[11]).astimezone(there)
    return tuple(out)


@settings(max_examples=150, deadline=None)
@given(
    data=st.dictionaries(_text, _json, max_size=4),
    summary=_text,
    service=_text,
    incident=_text.filter(bool),
    kind=st.sampled_from(list(AuditKind)),
)
def test_a_row_gives_the_models_bytes(
    data: dict[str, Any], summary: str, service: str, incident: str, kind: AuditKind
) -> None:
    stored = _stored(
        data=data, summary=summary, service=service, incident=incident, kind=kind, key='k"\\\n'
    )
    for row in (tuple(_row(stored)), _as_postgres(tuple(_row(stored)))):
        assert (raw.hash_text(row), raw.event_line(row)) == _model_texts(row)
        _assert_same_model(raw.stored_event(row), validated_event(row))


def _assert_same_model(fast: StoredEvent | None, validated: StoredEvent) -> None:
    """Equal, and indistinguishable: the same dump in the same key order, the same types."""
    assert fast is not None
    assert fast == validated
    assert json.dumps(fast.model_dump(mode="json")) == json.dumps(validated.model_dump(mode="json"))
    assert fast.model_fields_set == validated.model_fields_set
    assert [type(v) for v in fast.__dict__.values()] == [
        type(v) for v in validated.__dict__.values()
    ]
    assert fast.at.tzinfo is validated.at.tzinfo and fast.kind is validated.kind


def test_rows_in_a_non_canonical_form_are_normalised_as_the_models_do() -> None:
    row = list(_row(_stored(data={"b": [1, 2.5], "a": "é"})))
    row[10] = '{ "b": [1, 2.50],\n "a": "\\u00e9" }'
    row[5] = "2026-11-27T10:30:07.250000+01:00"
    row[11] = "2026-11-27 10:00:00.000001+00:00"
    assert raw.hash_text(tuple(row)) == _model_texts(tuple(row))[0]
    assert raw.event_line(tuple(row)) == _model_texts(tuple(row))[1]
    assert raw.stored_event(tuple(row)) is None  # data in another spelling: the models decide
    row[10] = canonical_json({"b": [1, 2.5], "a": "é"})
    _assert_same_model(raw.stored_event(tuple(row)), validated_event(tuple(row)))


def test_rows_the_models_refuse_are_left_to_them() -> None:
    good = list(_row(_stored()))
    assert raw.hash_text(tuple(good)) is not None
    for index, value in [
        (0, 0),  # seq must be >= 1
        (0, "7"),
        (1, ""),  # an empty event key
        (2, "x" * 257),
        (4, "nothing_to_see"),
        (5, "2026-11-27T10:30:07"),  # a naive time
        (5, "yesterday"),
        (9, "s" * 4001),
        (10, "[1, 2]"),  # data must be an object
        (10, '{"n": NaN}'),
        (10, "{"),
        (10, b'{"n": 1}'),
        (12, None),
    ]:
        row = list(good)
        row[index] = value
        assert raw.hash_text(tuple(row)) is None, (index, value)
        assert raw.event_line(tuple(row)) is None
        assert raw.stored_event(tuple(row)) is None
    big = list(good)
    big[10] = canonical_json({"blob": "€" * 22_000})  # 66 kB as UTF-8, fewer characters
    assert raw.hash_text(tuple(big)) is None


async def test_a_store_whose_data_was_rewritten_in_another_json_form_still_verifies(
    backend: Backend,
) -> None:
    """The chain covers the data, not its spelling: the fast path must not change that."""
    for n in range(1, 4):
        await backend.store.append(event(n, data={"n": n, "tags": ["a", "b"]}))
    await backend.disable_guards()
    respelled = """{ "tags": ["a", "b"], "n": 2 }"""
    await backend.raw(f"UPDATE {{table}} SET data = '{respelled}' WHERE seq = 2")
    report = await backend.store.verify()
    assert (report.ok, report.checked) == (True, 3)
    await backend.raw("""UPDATE {table} SET data = '{"tags": ["a"], "n": 2}' WHERE seq = 2""")
    report = await backend.store.verify()
    assert (report.ok, report.first_bad_seq, report.checked) == (False, 2, 1)
    assert report.problem == "hash does not match the event's content: it was altered"


def test_the_fast_path_starts_from_genesis() -> None:
    stored = seal(event(1), seq=1, prev_hash=GENESIS_HASH, recorded_at=T0)
    assert raw.hash_text(tuple(_row(stored))) == _model_texts(tuple(_row(stored)))[0]

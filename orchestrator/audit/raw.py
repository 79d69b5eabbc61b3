"""Canonical text straight from a stored row, without building models: the fast path of
verification and export.

A row (``rows.EVENT_COLUMNS`` order) gives byte for byte the text the model path gives
(``canonical_json(hash_fields(event_from_row(row), ...))``, ``export.event_line(...)``): the same
normalisation (times to ISO-8601 UTC with microseconds, ``data`` parsed and re-serialised
canonically), the same checks the models make (types, lengths, kind, data size). A row the
models would refuse, or that this code is not sure about, gives None: the caller then takes the
model path, which reports exactly what it always did. Only the cost differs (no pydantic).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from orchestrator.audit.model import (
    MAX_DATA_BYTES,
    MAX_SUMMARY_CHARS,
    AuditKind,
    StoredEvent,
    as_utc,
    canonical_json,
    iso_utc,
)

COLUMNS = (
    "seq",
    "event_key",
    "incident_id",
    "run_id",
    "kind",
    "at",
    "actor",
    "service",
    "slo",
    "summary",
    "data",
    "recorded_at",
    "prev_hash",
    "hash",
)
"""The columns of an event row, in the order every read returns them (``rows.EVENT_COLUMNS``)."""
_str = json.encoder.encode_basestring
"""What ``canonical_json`` (``ensure_ascii=False``) writes for a string."""
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_encode_data: Any = (
    _make_encoder(None, None, _str, None, ":", ",", True, False, False) if _make_encoder else None
)
"""``canonical_json`` for parsed JSON, built once: json's own C encoder with the same options
(no circular-reference markers: parsed JSON has no cycles); None without the C accelerator."""
_KINDS = frozenset(kind.value for kind in AuditKind)
_ISO_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00")
"""``iso_utc``'s output: a time in this form (and valid) is its own normalised text."""


def _time(value: Any) -> str:
    if type(value) is str:
        if _ISO_UTC.fullmatch(value):
            datetime.fromisoformat(value)  # a real date and time (no 2026-13-45)
            return value
        return iso_utc(as_utc(datetime.fromisoformat(value)))
    if type(value) is datetime:
        return iso_utc(value)
    raise TypeError("not a time")


_scan: Any = getattr(json.decoder.JSONDecoder(), "scan_once")  # noqa: B009 - untyped
"""``json.loads`` without its wrapper; a text it does not take whole goes to the models."""


def _parse_data(text: Any) -> tuple[dict[str, Any], str]:
    """(data, its canonical text) as the models make them."""
    if type(text) is not str:
        raise TypeError("data is not text")
    parsed, end = _scan(text, 0)
    if type(parsed) is not dict or end != len(text):
        raise TypeError("data is not one object")
    canonical = "".join(_encode_data(parsed, 0)) if _encode_data else canonical_json(parsed)
    if len(canonical) * 4 > MAX_DATA_BYTES and len(canonical.encode()) > MAX_DATA_BYTES:
        raise ValueError("data too large")
    return parsed, canonical


def _data(text: Any) -> str:
    return _parse_data(text)[1]


def _fits(row: Sequence[Any]) -> bool:
    """Every column has the type and length the models take (times and data checked apart)."""
    seq, key, incident, run, kind, _at, actor, service, slo, summary, _data, _rec, prev, digest = (
        row
    )
    return (
        type(seq) is int
        and seq >= 1
        and kind in _KINDS
        and type(key) is str
        and 1 <= len(key) <= 512
        and type(incident) is str
        and 1 <= len(incident) <= 256
        and type(run) is str
        and len(run) <= 256
        and type(actor) is str
        and 1 <= len(actor) <= 256
        and type(service) is str
        and len(service) <= 128
        and type(slo) is str
        and len(slo) <= 128
        and type(summary) is str
        and len(summary) <= MAX_SUMMARY_CHARS
        and type(prev) is str
        and type(digest) is str
    )


class Texts(NamedTuple):
    """The JSON text of each field of a row (times without their quotes)."""

    actor: str
    at: str
    data: str
    key: str
    incident: str
    kind: str
    rec: str
    run: str
    seq: int
    service: str
    slo: str
    summary: str
    prev: str
    hash: str


def row_texts(row: Sequence[Any]) -> Texts | None:
    """The row's texts, or None when the model path must decide (a value the models would
    refuse or that this code is not sure about)."""
    try:
        if not _fits(row):
            return None
        seq, key, incident, run, kind, at, actor, service, slo, summary, data, rec, prev, digest = (
            row
        )
        return Texts(
            _str(actor),
            _time(at),
            _data(data),
            _str(key),
            _str(incident),
            kind,
            _time(rec),
            _str(run),
            seq,
            _str(service),
            _str(slo),
            _str(summary),
            _str(prev),
            _str(digest),
        )
    except (ValueError, TypeError, OverflowError, RecursionError, StopIteration):
        return None


def hash_text(row: Sequence[Any]) -> str | None:
    """``canonical_json(hash_fields(...))`` of the event in ``row``; None: use the models."""
    t = row_texts(row)
    if t is None:
        return None
    return (
        f'{{"actor":{t.actor},"at":"{t.at}","data":{t.data},"event_key":{t.key},'
        f'"incident_id":{t.incident},"kind":"{t.kind}","recorded_at":"{t.rec}",'
        f'"run_id":{t.run},"seq":{t.seq},"service":{t.service},"slo":{t.slo},'
        f'"summary":{t.summary}}}'
    )


def line_of(t: Texts) -> str:
    """The export's ``record: event`` line (``export.event_line``) from a row's texts."""
    return (
        f'{{"actor":{t.actor},"at":"{t.at}","data":{t.data},"event_key":{t.key},'
        f'"hash":{t.hash},"incident_id":{t.incident},"kind":"{t.kind}","prev_hash":{t.prev},'
        f'"record":"event","recorded_at":"{t.rec}","run_id":{t.run},"seq":{t.seq},'
        f'"service":{t.service},"slo":{t.slo},"summary":{t.summary}}}'
    )


def event_line(row: Sequence[Any]) -> str | None:
    """The export's ``record: event`` line of ``row``; None: use the models."""
    t = row_texts(row)
    return None if t is None else line_of(t)


def _when(value: Any) -> datetime:
    if type(value) is str and _ISO_UTC.fullmatch(value):
        return datetime.fromisoformat(value)  # already UTC
    if type(value) is str:
        return as_utc(datetime.fromisoformat(value))
    if type(value) is datetime:
        return as_utc(value)
    raise TypeError("not a time")


def stored_event(row: Sequence[Any]) -> StoredEvent | None:
    """The row's event without running the models' validation, for a row that passes every
    check they make and whose ``data`` is stored canonically (then the parsed data is the
    validated data, key order included); None otherwise: use the models."""
    try:
        if not _fits(row):
            return None
        fields = dict(zip(COLUMNS, row, strict=True))
        parsed, canonical = _parse_data(fields["data"])
        if canonical != fields["data"]:
            return None
        fields.update(
            kind=AuditKind(fields["kind"]),
            at=_when(fields["at"]),
            recorded_at=_when(fields["recorded_at"]),
            data=parsed,
        )
        return StoredEvent.model_construct(**fields)
    except (ValueError, TypeError, OverflowError, RecursionError, StopIteration):
        return None

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
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from orchestrator.audit.model import (
    MAX_DATA_BYTES,
    MAX_SUMMARY_CHARS,
    AuditKind,
    as_utc,
    canonical_json,
    iso_utc,
)

_str = json.encoder.encode_basestring
"""What ``canonical_json`` (``ensure_ascii=False``) writes for a string."""
_KINDS = frozenset(kind.value for kind in AuditKind)
HASH_TEXT = (
    '{{"actor":{actor},"at":"{at}","data":{data},"event_key":{key},"incident_id":{incident},'
    '"kind":"{kind}","recorded_at":"{rec}","run_id":{run},"seq":{seq},"service":{service},'
    '"slo":{slo},"summary":{summary}}}'
)
"""``canonical_json(hash_fields(...))``: the same keys, already in sorted order."""
EVENT_LINE = (
    '{{"actor":{actor},"at":"{at}","data":{data},"event_key":{key},"hash":{hash},'
    '"incident_id":{incident},"kind":"{kind}","prev_hash":{prev},"record":"event",'
    '"recorded_at":"{rec}","run_id":{run},"seq":{seq},"service":{service},"slo":{slo},'
    '"summary":{summary}}}'
)
"""``export.event_line(...)``: the hash fields plus ``prev_hash``, ``hash`` and ``record``."""
_LIMITS = (  # (column index, min length, max length) of the text fields the models bound
    (1, 1, 512),
    (2, 1, 256),
    (3, 0, 256),
    (6, 1, 256),
    (7, 0, 128),
    (8, 0, 128),
    (9, 0, MAX_SUMMARY_CHARS),
)


def _time(value: Any) -> str:
    if type(value) is datetime:
        return iso_utc(value)
    if type(value) is not str:
        raise TypeError("not a time")
    return iso_utc(as_utc(datetime.fromisoformat(value)))


def _data(text: Any) -> str:
    if type(text) is not str:
        raise TypeError("data is not text")
    parsed = json.loads(text)
    if type(parsed) is not dict:
        raise TypeError("data is not an object")
    canonical = canonical_json(parsed)
    if len(canonical) * 4 > MAX_DATA_BYTES and len(canonical.encode()) > MAX_DATA_BYTES:
        raise ValueError("data too large")
    return canonical


def row_parts(row: Sequence[Any]) -> dict[str, str] | None:
    """The JSON text of each field of ``row`` (times without their quotes), for
    :data:`HASH_TEXT` and :data:`EVENT_LINE`; None when the model path must decide."""
    try:
        seq, key, incident, run, kind, at, actor, service, slo, summary, data, rec, prev, digest = (
            row
        )
        if type(seq) is not int or seq < 1 or kind not in _KINDS:
            return None
        if type(prev) is not str or type(digest) is not str:
            return None
        for index, low, high in _LIMITS:
            text = row[index]
            if type(text) is not str or not low <= len(text) <= high:
                return None
        return {
            "actor": _str(actor),
            "at": _time(at),
            "data": _data(data),
            "key": _str(key),
            "incident": _str(incident),
            "kind": kind,
            "rec": _time(rec),
            "run": _str(run),
            "seq": str(seq),
            "service": _str(service),
            "slo": _str(slo),
            "summary": _str(summary),
            "prev": _str(prev),
            "hash": _str(digest),
        }
    except (ValueError, TypeError, OverflowError):
        return None


def hash_text(row: Sequence[Any]) -> str | None:
    """``canonical_json(hash_fields(...))`` of the event in ``row``; None: use the models."""
    parts = row_parts(row)
    return None if parts is None else HASH_TEXT.format_map(parts)


def event_line(row: Sequence[Any]) -> str | None:
    """The export's ``record: event`` line of ``row``; None: use the models."""
    parts = row_parts(row)
    return None if parts is None else EVENT_LINE.format_map(parts)

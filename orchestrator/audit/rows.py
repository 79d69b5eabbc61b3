"""What both audit backends share: redaction before storing, rows to events, paging, checks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from orchestrator.audit.chain import ChainVerifier
from orchestrator.audit.model import (
    LIFECYCLE_KINDS,
    MAX_SUMMARY_CHARS,
    AuditEvent,
    AuditKind,
    ChainReport,
    IncidentState,
    IncidentSummary,
    StoredEvent,
    as_utc,
)
from orchestrator.audit.query import MAX_PAGE, EventFilter
from orchestrator.audit.raw import COLUMNS, hash_text, stored_event
from orchestrator.errors import AuditError
from orchestrator.secrets import redact, redact_text

VERIFY_PAGE = 1000
EVENT_COLUMNS = ", ".join(COLUMNS)
"""Column order of every event row the backends read (``data`` as JSON text)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


Clock = Callable[[], datetime]


def prepare_event(event: AuditEvent) -> AuditEvent:
    """The event as it may be stored: secrets in summary, actor and data redacted."""
    fields = event.model_dump(include=set(AuditEvent.model_fields))
    fields["summary"] = redact_text(event.summary)[:MAX_SUMMARY_CHARS]
    fields["actor"] = redact_text(event.actor)
    fields["data"] = redact(event.data)
    try:
        return AuditEvent.model_validate(fields)
    except ValueError as exc:
        raise AuditError(
            f"event {event.event_key!r} cannot be stored once redacted: {exc}"
        ) from exc


def _dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value)))


def event_from_row(row: Sequence[Any]) -> StoredEvent:
    """A StoredEvent from a row in EVENT_COLUMNS order; ValueError if the row is malformed."""
    fast = stored_event(row)  # the same event, built without validating what was checked
    return fast if fast is not None else validated_event(row)


def validated_event(row: Sequence[Any]) -> StoredEvent:
    """:func:`event_from_row` through the models' validation, whatever the row."""
    fields = dict(zip(COLUMNS, row, strict=True))
    fields.update(
        at=_dt(fields["at"]),
        recorded_at=_dt(fields["recorded_at"]),
        data=json.loads(fields["data"]),
    )
    return StoredEvent(**fields)


def events_from_rows(rows: Sequence[Sequence[Any]]) -> list[StoredEvent]:
    out: list[StoredEvent] = []
    for row in rows:
        try:
            out.append(event_from_row(row))
        except (ValueError, TypeError) as exc:
            raise AuditError(f"audit row seq {row[0]} is malformed; run verify(): {exc}") from exc
    return out


def summaries_from_rows(rows: Sequence[Sequence[Any]]) -> list[IncidentSummary]:
    try:
        return [summary_from_row(row) for row in rows]
    except (ValueError, TypeError) as exc:
        raise AuditError(f"an audit row is malformed; run verify(): {exc}") from exc


def summary_from_row(row: Sequence[Any]) -> IncidentSummary:
    """Row: incident_id, service, slo, first_at, last_at, count, last_kind, severity, lifecycle
    kind (see :func:`orchestrator.audit.query_sql.incidents`)."""
    incident, service, slo, first_at, last_at, count, last_kind, sev, lifecycle = row
    severity = None if sev is None else str(sev)
    state = LIFECYCLE_KINDS[AuditKind(lifecycle)] if lifecycle else IncidentState.OPEN
    return IncidentSummary(
        incident_id=incident,
        service=service,
        slo=slo,
        first_at=_dt(first_at),
        last_at=_dt(last_at),
        events=int(count),
        last_kind=AuditKind(last_kind),
        severity=severity,
        state=state,
    )


def occurrences_of(incident_id: str) -> tuple[int, str]:
    """``(length, prefix)`` that every occurrence id of the key ``incident_id`` starts with, for
    ``substr(incident_id, 1, length) = prefix`` (no LIKE, so ``_`` and ``%`` in names are plain)."""
    prefix = f"{incident_id}--"
    return len(prefix), prefix


def timeline_range(incident_id: str) -> tuple[str, str]:
    """``(low, high)``: in byte order, ``low <= id < high`` holds for ``incident_id`` itself and
    every occurrence id ``<incident_id>--...`` (after ``--`` comes ``-.``), so the timeline reads
    one range of the incident index; the exact test (:func:`occurrences_of`) then drops the few
    other ids in that range."""
    return incident_id, f"{incident_id}-."


def incident_filter(service: str | None, flt: EventFilter | None) -> EventFilter:
    """The filter of ``incidents()``: ``flt`` (any when None), narrowed to ``service``."""
    flt = flt or EventFilter()
    return flt if service is None else flt.model_copy(update={"service": service})


def check_page(since_seq: int, limit: int) -> None:
    if since_seq < 0:
        raise ValueError("since_seq must be >= 0")
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")


async def verify_rows(
    fetch: Callable[[int, int], Awaitable[Sequence[Sequence[Any]]]],
) -> ChainReport:
    """Verify the chain page by page; ``fetch(since_seq, limit)`` returns raw rows in seq order.

    Rows are hashed straight from their columns (:mod:`~orchestrator.audit.raw`); a row that
    does not verify that way is parsed into its model and checked again, so that the report
    names why, and a tampered row that no longer parses is reported as the first bad seq rather
    than crashing the check.
    """
    verifier = ChainVerifier()
    since = 0
    while True:
        rows = await fetch(since, VERIFY_PAGE)
        for row in rows:
            text = hash_text(row)  # the fast path; a row it is unsure of takes the models
            if text is not None and verifier.feed_hashed(row[0], row[12], row[13], text):
                continue
            try:
                event = event_from_row(row)
            except (ValueError, TypeError) as exc:
                return verifier.fail(int(row[0]), f"row does not parse: {exc}")
            if not verifier.feed(event):
                return verifier.report()
        if len(rows) < VERIFY_PAGE:
            return verifier.report()
        since = int(rows[-1][0])

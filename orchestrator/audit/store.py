"""The audit store contract, its URL-based factory, and what both backends share.

Backends: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's
convention: the path is what follows ``sqlite:///``), and ``postgresql://`` / ``postgres://``
URLs (libpq syntax; an extra ``schema=`` query parameter picks the schema, default
``orchestrator``). Stores connect lazily: connection errors surface on the first call.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
from orchestrator.errors import AuditError, ConfigError
from orchestrator.secrets import REDACTED, redact, redact_text

VERIFY_PAGE = 1000
MAX_PAGE = 10_000
EVENT_COLUMNS = (
    "seq, event_key, incident_id, run_id, kind, at, actor, service, slo, summary, data,"
    " recorded_at, prev_hash, hash"
)
"""Column order of every event row the backends read (``data`` as JSON text)."""


class AuditStore(Protocol):
    """Durable, append-only, hash-chained audit history."""

    async def append(self, event: AuditEvent) -> StoredEvent:
        """Store ``event`` (redacted) at the end of the chain. Idempotent by ``event_key``: a key
        already stored returns the stored event unchanged, whatever the new payload."""
        ...

    async def timeline(self, incident_id: str) -> list[StoredEvent]:
        """Every event of one incident in seq order; NotFoundError if there is none."""
        ...

    async def events(self, *, since_seq: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events with ``seq > since_seq`` in seq order, at most ``limit`` (a page)."""
        ...

    async def incidents(
        self, *, service: str | None = None, limit: int = 100
    ) -> list[IncidentSummary]:
        """Incidents, most recently active first, optionally of one service."""
        ...

    async def verify(self) -> ChainReport:
        """Recompute the whole hash chain."""
        ...

    async def close(self) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


Clock = Callable[[], datetime]


def open_audit_store(url: str) -> AuditStore:
    """The store a URL names; ConfigError (password never shown) for anything unsupported."""
    scheme = url.partition(":")[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        from orchestrator.audit.sqlite_store import SqliteAuditStore

        return SqliteAuditStore(sqlite_path(url))
    if scheme in ("postgresql", "postgres"):
        try:
            from orchestrator.audit.postgres_store import PostgresAuditStore
        except ImportError as exc:
            raise ConfigError(
                "the PostgreSQL audit store needs psycopg:"
                " pip install 'ai-cx-orchestrator[postgres]'"
            ) from exc
        dsn, schema = split_schema(url)
        return PostgresAuditStore(dsn, schema=schema)
    raise ConfigError(
        f"unsupported audit store URL {describe_url(url)!r}: use sqlite:///path/to/audit.db"
        " or postgresql://user@host:5432/dbname"
    )


def sqlite_path(url: str) -> Path | str:
    prefix = "sqlite:///"
    if not url.lower().startswith(prefix):
        raise ConfigError(
            f"SQLite audit URL {describe_url(url)!r} must look like sqlite:///relative/audit.db"
            " or sqlite:////absolute/audit.db"
        )
    path = url[len(prefix) :].split("?", 1)[0]
    if not path or path.endswith("/"):
        raise ConfigError(f"SQLite audit URL {describe_url(url)!r} names no file")
    return ":memory:" if path == ":memory:" else Path(path)


def split_schema(url: str) -> tuple[str, str]:
    """Take our ``schema=`` parameter out of a PostgreSQL URL (libpq would refuse it)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # validates the port now rather than at connect time
    except ValueError as exc:
        raise ConfigError(f"invalid PostgreSQL audit URL {describe_url(url)!r}: {exc}") from None
    if not parts.hostname and not parts.path.strip("/") and not parts.query:
        raise ConfigError(f"PostgreSQL audit URL {describe_url(url)!r} names no host or database")
    params = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in params if key == "schema"]
    rest = [(key, value) for key, value in params if key != "schema"]
    schema = schemas[-1] if schemas else "orchestrator"
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


def describe_url(url: str) -> str:
    """``url`` safe to show: any password (and secret-looking query values) masked."""
    try:
        parts = urlsplit(url)
        shown = url
        if parts.password is not None:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            shown = shown.replace(parts.netloc, f"{user}:{REDACTED}@{hostport}", 1)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if redact(params) != params:
            shown = shown.replace(parts.query, urlencode(redact(params)), 1)
        return redact_text(shown)
    except ValueError:
        return f"{url.partition(':')[0][:20]}://{REDACTED}"


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
    (seq, key, incident, run, kind, at, actor, service, slo, summary, data, rec, prev, digest) = row
    return StoredEvent(
        seq=seq,
        event_key=key,
        incident_id=incident,
        run_id=run,
        kind=kind,
        at=_dt(at),
        actor=actor,
        service=service,
        slo=slo,
        summary=summary,
        data=json.loads(data),
        recorded_at=_dt(rec),
        prev_hash=prev,
        hash=digest,
    )


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
    """Row: incident_id, service, slo, first_at, last_at, count, last_kind, severity data, lifecycle
    kind (see the backends' incidents queries)."""
    incident, service, slo, first_at, last_at, count, last_kind, sev_data, lifecycle = row
    severity: str | None = None
    if sev_data is not None:
        value = json.loads(sev_data).get("severity")
        severity = None if value is None else str(value)
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


def check_page(since_seq: int, limit: int) -> None:
    if since_seq < 0:
        raise ValueError("since_seq must be >= 0")
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")


async def verify_rows(
    fetch: Callable[[int, int], Awaitable[Sequence[Sequence[Any]]]],
) -> ChainReport:
    """Verify the chain page by page; ``fetch(since_seq, limit)`` returns raw rows in seq order.

    Rows are parsed one by one so that a tampered row that no longer parses is reported as the
    first bad seq rather than crashing the check.
    """
    verifier = ChainVerifier()
    since = 0
    while True:
        rows = await fetch(since, VERIFY_PAGE)
        for row in rows:
            try:
                event = event_from_row(row)
            except (ValueError, TypeError) as exc:
                return verifier.fail(int(row[0]), f"row does not parse: {exc}")
            if not verifier.feed(event):
                return verifier.report()
        if len(rows) < VERIFY_PAGE:
            return verifier.report()
        since = int(rows[-1][0])

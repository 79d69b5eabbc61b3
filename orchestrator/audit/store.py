"""The audit store contract. The backends are :mod:`~orchestrator.audit.sqlite_store` and
:mod:`~orchestrator.audit.postgres_store`; :mod:`~orchestrator.audit.factory` picks one from a URL,
and :mod:`~orchestrator.audit.rows` holds what both share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from orchestrator.audit.model import (
    AuditEvent,
    ChainReport,
    IncidentState,
    IncidentSummary,
    StoredEvent,
)
from orchestrator.audit.query import EventFilter


class AuditStore(Protocol):
    """Durable, append-only, hash-chained audit history."""

    async def append(self, event: AuditEvent) -> StoredEvent:
        """Store ``event`` (redacted) at the end of the chain. Idempotent by ``event_key``: a key
        already stored returns the stored event unchanged, whatever the new payload."""
        ...

    async def timeline(self, incident_id: str) -> list[StoredEvent]:
        """Every event of one incident in seq order; NotFoundError if there is none. An incident
        key (``<prefix>-<service>--<slo>``) gives its own notes and every event of its
        occurrences (``<key>--<stamp>``), interleaved in seq order."""
        ...

    async def events(self, *, since_seq: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events with ``seq > since_seq`` in seq order, at most ``limit`` (a page)."""
        ...

    async def event_rows(self, *, since_seq: int = 0, limit: int = 1000) -> list[Sequence[Any]]:
        """The rows of :meth:`events`, unparsed, in ``rows.EVENT_COLUMNS`` order (``data`` as
        JSON text; times as text or datetimes): what verification and export stream through."""
        ...

    async def query(
        self, flt: EventFilter, *, limit: int = 100, after_seq: int = 0
    ) -> list[StoredEvent]:
        """The events ``flt`` matches with ``seq > after_seq``, in seq order, at most ``limit``
        (1 to 10 000): a page. The next page's ``after_seq`` is the last event's seq; a page
        shorter than ``limit`` is the last. Filtered in SQL, with indexes (query_sql.py)."""
        ...

    async def incidents(
        self,
        *,
        service: str | None = None,
        limit: int = 100,
        flt: EventFilter | None = None,
        state: IncidentState | None = None,
    ) -> list[IncidentSummary]:
        """Incidents, most recently active first, at most ``limit``: those with an event of
        ``service`` and an event ``flt`` matches (a time window: active in it), whose latest
        severity is ``flt.severity`` and whose state is ``state`` when those are set."""
        ...

    async def verify(self) -> ChainReport:
        """Recompute the whole hash chain."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class BatchAppend(Protocol):
    """A store that also appends a batch in one write (SQLite: one transaction, one sync)."""

    async def append_many(self, events: Sequence[AuditEvent]) -> list[StoredEvent]:
        """:meth:`AuditStore.append` for each event in order, all or nothing."""
        ...

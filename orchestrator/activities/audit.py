"""The audit activities: append one event, or a batch in order; an event key is written once,
whatever the retries.

Bounded: when the store still fails on attempt :data:`SPOOL_AFTER_ATTEMPTS` (or at all, while an
append failed within the last :data:`RECHECK_SECONDS`: the store is known to be down), the event
goes to the worker's dead-letter spool (:mod:`orchestrator.audit.spool`) and the activity answers
:data:`SPOOLED`, so the incident goes on. A successful write drains what the spool holds, and
tells the incident's chat thread and pages (:mod:`orchestrator.activities.updates`: best effort,
bounded, never failing the write).
"""

from __future__ import annotations

import time

import structlog
from temporalio import activity

from orchestrator.activities.types import RECORD_AUDIT_EVENT, RECORD_AUDIT_EVENTS, SPOOLED
from orchestrator.activities.updates import IncidentUpdates
from orchestrator.audit.model import AuditEvent, StoredEvent
from orchestrator.audit.spool import AuditSpool
from orchestrator.audit.store import AuditStore, BatchAppend

SPOOL_AFTER_ATTEMPTS = 3
"""Attempts (1 s and 2 s apart under the workflow's retry policy) before an event is spooled."""
RECHECK_SECONDS = 60.0
"""How often a worker looks for events another process on its host spooled; also how long after a
failed append later events are spooled at their first failure (the store is known to be down)."""

_log = structlog.get_logger("orchestrator.activities.audit")


class AuditActivities:
    def __init__(
        self,
        store: AuditStore,
        spool: AuditSpool | None = None,
        updates: IncidentUpdates | None = None,
    ) -> None:
        self._store = store
        self._spool = spool
        self._updates = updates
        """Told every batch once it is stored: the chat thread, the pages' follow-ups."""
        self._checked_at: float | None = None  # None: look at the next successful write
        self._failed_at: float | None = None

    @activity.defn(name=RECORD_AUDIT_EVENT)
    async def record_audit_event(self, event: AuditEvent) -> int:
        [seq] = await self._record([event])
        return seq

    @activity.defn(name=RECORD_AUDIT_EVENTS)
    async def record_audit_events(self, events: list[AuditEvent]) -> list[int]:
        """Append a batch in order (each idempotent by its key: a retry after a partial write
        stores nothing twice); the seq of each, or :data:`SPOOLED`."""
        return await self._record(events)

    def _chunks(self, events: list[AuditEvent]) -> list[tuple[int, list[AuditEvent]]]:
        """The batch in one write when the store takes a batch at once (``append_many``, one
        transaction), else event by event; each with the index of its first event."""
        if len(events) > 1 and isinstance(self._store, BatchAppend):
            return [(0, events)]
        return [(at, [event]) for at, event in enumerate(events)]

    async def _append(self, chunk: list[AuditEvent]) -> list[StoredEvent]:
        if len(chunk) > 1 and isinstance(self._store, BatchAppend):
            return await self._store.append_many(chunk)
        return [await self._store.append(event) for event in chunk]

    async def _record(self, events: list[AuditEvent]) -> list[int]:
        seqs: list[int] = []
        for at, chunk in self._chunks(events):
            event = chunk[0]
            try:
                stored = await self._append(chunk)
            except Exception as exc:  # the store is down or refusing: retry, then spool
                if not self._spool_now():
                    raise
                assert self._spool is not None
                for rest in events[at:]:
                    await self._spool.put(rest)
                self._checked_at = None
                _log.warning(
                    "audit events spooled",
                    events=len(events) - at,
                    first=event.event_key,
                    error=type(exc).__name__,
                    spool=str(self._spool.directory),
                )
                return [*seqs, *[SPOOLED] * (len(events) - at)]
            seqs.extend(one.seq for one in stored)
        self._failed_at = None
        if self._updates is not None:
            await self._updates.after(events)
        await self.drain()
        return seqs

    def _spool_now(self) -> bool:
        """After a failed append: spool rather than fail the attempt? (on the last attempts, or
        at once while the store is known to be down)."""
        down = self._failed_at is not None and time.monotonic() - self._failed_at < RECHECK_SECONDS
        self._failed_at = time.monotonic()
        return self._spool is not None and (activity.info().attempt >= SPOOL_AFTER_ATTEMPTS or down)

    async def drain(self) -> int:
        """Write what the spool holds (when it may hold something); failures wait for later."""
        now = time.monotonic()
        if self._spool is None or (
            self._checked_at is not None and now - self._checked_at < RECHECK_SECONDS
        ):
            return 0
        try:
            written = await self._spool.drain(self._store)
        except Exception as exc:
            _log.warning("audit spool not drained yet", error=type(exc).__name__)
            return 0
        self._checked_at = now
        if written:
            _log.info("audit spool drained", events=written)
        return written

"""The audit activity: append one event; an event key is written once, whatever the retries."""

from __future__ import annotations

from temporalio import activity

from orchestrator.activities.types import RECORD_AUDIT_EVENT
from orchestrator.audit.model import AuditEvent
from orchestrator.audit.store import AuditStore


class AuditActivities:
    def __init__(self, store: AuditStore) -> None:
        self._store = store

    @activity.defn(name=RECORD_AUDIT_EVENT)
    async def record_audit_event(self, event: AuditEvent) -> int:
        stored = await self._store.append(event)
        return stored.seq

"""Incident and action metrics for ``/metrics``, followed from the audit store.

The worker records every decision and effect in the audit store; the API process (which may run
elsewhere) tails it and counts incidents by severity and playbook actions by kind and outcome.
Counters cover the store's whole history, so they never go down across restarts.
"""

from __future__ import annotations

import asyncio

import structlog

from orchestrator.audit.model import AuditKind
from orchestrator.audit.store import AuditStore
from orchestrator.errors import OrchestratorError
from orchestrator.ingest.metrics import Registry

_OUTCOMES = {
    AuditKind.EFFECT_APPLIED: "applied",
    AuditKind.EFFECT_SKIPPED: "unchanged",
    AuditKind.STEP_SKIPPED: "skipped",
    AuditKind.STEP_FAILED: "failed",
    AuditKind.VERIFICATION_PASSED: "verified",
    AuditKind.VERIFICATION_FAILED: "failed",
}
_log = structlog.get_logger("orchestrator.ingest.audit_metrics")


class AuditMetrics:
    def __init__(self, store: AuditStore, registry: Registry) -> None:
        self._store = store
        self._seq = 0
        self.incidents = registry.counter(
            "orchestrator_incidents_total",
            "Incidents classified, by severity (from the audit history).",
            ("severity",),
        )
        self.actions = registry.counter(
            "orchestrator_actions_total",
            "Playbook steps by action and outcome (applied, unchanged, skipped, verified, failed,"
            " undone).",
            ("action", "outcome"),
        )
        self.closed = registry.counter(
            "orchestrator_incidents_closed_total",
            "Incidents ended, by how (incident_resolved, incident_closed, escalated, aborted).",
            ("kind",),
        )

    async def poll_once(self) -> int:
        """Count the events recorded since the last poll; return how many were read."""
        read = 0
        while True:
            events = await self._store.events(since_seq=self._seq, limit=1000)
            for event in events:
                self._seq = event.seq
                self._count(event.kind, event.data)
            read += len(events)
            if len(events) < 1000:
                return read

    def _count(self, kind: AuditKind, data: dict[str, object]) -> None:
        if kind is AuditKind.SEVERITY_CLASSIFIED:
            self.incidents.inc(severity=str(data.get("severity", "unknown")))
        elif kind in _OUTCOMES and "action" in data:
            undo = kind is AuditKind.EFFECT_APPLIED and data.get("undo") is True
            outcome = "undone" if undo else _OUTCOMES[kind]
            self.actions.inc(action=str(data["action"]), outcome=outcome)
        elif kind in (
            AuditKind.INCIDENT_RESOLVED,
            AuditKind.INCIDENT_CLOSED,
            AuditKind.ESCALATED,
            AuditKind.INCIDENT_ABORTED,
        ) and data.get("phase"):
            self.closed.inc(kind=kind.value)

    async def follow(self, interval: float = 2.0) -> None:
        """Poll until cancelled; a failing store is logged and retried, never fatal."""
        while True:
            try:
                await self.poll_once()
            except (OrchestratorError, OSError) as exc:
                _log.warning("audit metrics poll failed", error=str(exc))
            await asyncio.sleep(interval)

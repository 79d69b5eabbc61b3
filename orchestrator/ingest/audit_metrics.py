"""The engine's metrics for ``/metrics``, followed from the audit store.

Every worker records each decision and effect in the audit store; the API process (which may run
elsewhere) tails it, so the figures cover every worker's incidents exactly once: incidents by
severity, open incidents by severity, playbook steps by action and outcome, incidents ended, and
the time from an incident's opening to its first mitigating change. The store's whole history is
read at start, so counters never go down across restarts and the open gauge starts right.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from orchestrator.audit.model import LIFECYCLE_KINDS, AuditKind, IncidentState, StoredEvent
from orchestrator.audit.store import AuditStore
from orchestrator.errors import OrchestratorError

_OUTCOMES = {
    AuditKind.EFFECT_APPLIED: "applied",
    AuditKind.EFFECT_SKIPPED: "unchanged",
    AuditKind.STEP_SKIPPED: "skipped",
    AuditKind.STEP_FAILED: "failed",
    AuditKind.VERIFICATION_PASSED: "verified",
    AuditKind.VERIFICATION_FAILED: "failed",
}
_log = structlog.get_logger("orchestrator.ingest.audit_metrics")
MITIGATION_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
"""Seconds from an incident's opening to its first change (automation: sub-second to a minute;
an approval: minutes)."""


class AuditMetrics:
    def __init__(self, store: AuditStore, registry: CollectorRegistry) -> None:
        self._store = store
        self._seq = 0
        self._open: dict[str, str] = {}
        """Open incidents and their severity ("unclassified" until classified)."""
        self._severity: dict[str, str] = {}
        """Latest severity of incidents not ended (classified before the opening is recorded)."""
        self._unmitigated: dict[str, datetime] = {}
        """Open incidents with no change yet, and when they opened."""
        self.incidents = Counter(
            "orchestrator_incidents_total",
            "Incidents classified, by severity (from the audit history).",
            ("severity",),
            registry=registry,
        )
        self.open = Gauge(
            "orchestrator_open_incidents",
            "Incidents open now, by severity (from the audit history).",
            ("severity",),
            registry=registry,
        )
        self.actions = Counter(
            "orchestrator_actions_total",
            "Playbook steps by action and outcome (applied, unchanged, skipped, verified, failed,"
            " undone).",
            ("action", "outcome"),
            registry=registry,
        )
        self.closed = Counter(
            "orchestrator_incidents_closed_total",
            "Incidents ended, by how (incident_resolved, incident_closed, escalated, aborted).",
            ("kind",),
            registry=registry,
        )
        self.time_to_mitigation = Histogram(
            "orchestrator_time_to_mitigation_seconds",
            "From an incident's opening to its first mitigating change, by severity.",
            ("severity",),
            registry=registry,
            buckets=MITIGATION_BUCKETS,
        )

    async def poll_once(self) -> int:
        """Count the events recorded since the last poll; return how many were read."""
        read = 0
        while True:
            events = await self._store.events(since_seq=self._seq, limit=1000)
            for event in events:
                self._seq = event.seq
                self._count(event.kind, event.data)
                self._track(event)
            read += len(events)
            if len(events) < 1000:
                return read

    def _count(self, kind: AuditKind, data: dict[str, object]) -> None:
        if kind is AuditKind.SEVERITY_CLASSIFIED:
            self.incidents.labels(severity=str(data.get("severity", "unknown"))).inc()
        elif kind in _OUTCOMES and "action" in data:
            undo = kind is AuditKind.EFFECT_APPLIED and data.get("undo") is True
            outcome = "undone" if undo else _OUTCOMES[kind]
            self.actions.labels(action=str(data["action"]), outcome=outcome).inc()
        elif kind in (
            AuditKind.INCIDENT_RESOLVED,
            AuditKind.INCIDENT_CLOSED,
            AuditKind.ESCALATED,
            AuditKind.INCIDENT_ABORTED,
        ) and data.get("phase"):
            self.closed.labels(kind=kind.value).inc()

    def _track(self, event: StoredEvent) -> None:
        """Open incidents by severity, and each one's time to its first change."""
        incident = event.incident_id
        state = LIFECYCLE_KINDS.get(event.kind)
        if event.kind is AuditKind.SEVERITY_CLASSIFIED:
            severity = str(event.data.get("severity", "unknown"))
            self._severity[incident] = severity
            if incident in self._open:
                self.open.labels(severity=self._open[incident]).dec()
                self.open.labels(severity=severity).inc()
                self._open[incident] = severity
        elif state is IncidentState.OPEN and incident not in self._open:
            severity = self._severity.get(incident, "unclassified")
            self._open[incident] = severity
            self._unmitigated[incident] = event.at
            self.open.labels(severity=severity).inc()
        elif state is not None and state is not IncidentState.OPEN and incident in self._open:
            self.open.labels(severity=self._open.pop(incident)).dec()
            self._unmitigated.pop(incident, None)
            self._severity.pop(incident, None)
        elif (
            event.kind is AuditKind.EFFECT_APPLIED
            and incident in self._unmitigated
            and event.data.get("undo") is not True
        ):
            seconds = (event.at - self._unmitigated.pop(incident)).total_seconds()
            self.time_to_mitigation.labels(severity=self._open[incident]).observe(max(seconds, 0.0))

    async def follow(self, interval: float = 2.0) -> None:
        """Poll until cancelled; a failing store is logged and retried, never fatal."""
        while True:
            try:
                await self.poll_once()
            except (OrchestratorError, OSError) as exc:
                _log.warning("audit metrics poll failed", error=str(exc))
            await asyncio.sleep(interval)

"""Event builders shared by the audit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.audit.model import AuditEvent, AuditKind

T0 = datetime(2026, 11, 27, 9, 30, 0, 250_000, tzinfo=UTC)


def event(
    n: int,
    *,
    incident: str = "inc-1",
    kind: AuditKind = AuditKind.NOTE,
    key: str | None = None,
    service: str = "support-assistant",
    slo: str = "fairness-gap",
    summary: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """The n-th event of an incident; the event key is unique per (incident, n, kind)."""
    return AuditEvent(
        event_key=key or f"{incident}/run-1/{n:04d}/{kind.value}",
        incident_id=incident,
        run_id="run-1",
        kind=kind,
        at=at or T0 + timedelta(seconds=n),
        actor="orchestrator",
        service=service,
        slo=slo,
        summary=summary if summary is not None else f"event {n} of {incident}",
        data=data if data is not None else {"n": n},
    )

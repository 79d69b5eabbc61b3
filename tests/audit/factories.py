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


def incident_history(
    incident: str,
    start: datetime,
    *,
    service: str = "support-assistant",
    slo: str = "fairness-gap",
    dimension: str = "fairness",
    segment: tuple[str, str] | None = ("language", "es"),
    severity: str = "SEV2",
    playbook: str = "fairness-fallback",
    mitigate_after: float | None = 60.0,
    recover_after: float | None = 300.0,
    approver: str | None = None,
    failed_step: str | None = None,
    flag: str = "support-assistant-answer-mode",
) -> list[AuditEvent]:
    """One occurrence's events as the workflow records them (a firing signal at ``start``,
    opened, classified, playbook, an optional approval, the flag change ``mitigate_after``
    seconds in, its verification, an optional failed step, the resolved signal
    ``recover_after`` seconds in, resolved)."""
    n = 0
    out: list[AuditEvent] = []

    def add(
        kind: AuditKind, seconds: float, data: dict[str, Any], actor: str = "orchestrator"
    ) -> None:
        nonlocal n
        n += 1
        out.append(
            AuditEvent(
                event_key=f"{incident}/run-1/{n:04d}-{kind.value}",
                incident_id=incident,
                run_id="run-1",
                kind=kind,
                at=start + timedelta(seconds=seconds),
                actor=actor,
                service=service,
                slo=slo,
                summary=f"{kind.value} of {incident}",
                data=data,
            )
        )

    signal: dict[str, Any] = {"service": service, "slo": slo, "dimension": dimension}
    if segment is not None:
        signal["segment"] = {"key": segment[0], "value": segment[1]}
    add(AuditKind.SIGNAL_RECEIVED, 0, {**signal, "status": "firing"}, "alertmanager")
    add(AuditKind.INCIDENT_OPENED, 0.1, {})
    add(AuditKind.SEVERITY_CLASSIFIED, 0.2, {"severity": severity, "score": 5})
    add(AuditKind.PLAYBOOK_SELECTED, 0.3, {"playbook": playbook, "severity": severity})
    if approver is not None:
        add(AuditKind.APPROVAL_REQUESTED, 1, {"step_id": "route", "needed": 1})
        add(AuditKind.APPROVAL_GRANTED, 2, {"step": "route", "approvals": [approver]}, approver)
    if failed_step is not None:
        add(AuditKind.STEP_FAILED, 3, {"step": failed_step, "action": "deploy.pin_version"})
    if mitigate_after is not None:
        change = {"step": "route", "action": "flag.route_segment", "flag": flag}
        add(AuditKind.EFFECT_APPLIED, mitigate_after, change)
        add(AuditKind.VERIFICATION_PASSED, mitigate_after + 1, {"step": "verify", "flag": flag})
    if recover_after is not None:
        add(
            AuditKind.SIGNAL_RECEIVED,
            recover_after,
            {**signal, "status": "resolved"},
            "alertmanager",
        )
        add(AuditKind.INCIDENT_RESOLVED, recover_after + 1, {"phase": "resolved"})
    return out

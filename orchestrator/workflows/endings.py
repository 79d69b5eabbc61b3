"""How an incident ends: resolved (temporary mitigations undone), failed (compensated, paged),
aborted by a person (effects left in place, listed), or closed still firing (handed to humans)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.playbook import Playbook
    from orchestrator.domain.policy_effects import compensation_plan, resolution_undo_plan
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.resolution import let_go, undo_effects
    from orchestrator.workflows.types import IncidentPhase

Ending = tuple[IncidentPhase, str]


def aborted(live: Live) -> Ending:
    request = live.abort
    assert request is not None
    left = [e.summary for e in live.state.effects if e.undo is not None and not e.undone]
    kept = f"; left in place: {'; '.join(left)}" if left else ""
    return IncidentPhase.ABORTED, f"aborted by {request.by}: {request.reason}{kept}"


async def failed(live: Live, playbook: Playbook, reason: str) -> Ending:
    undone = ""
    if playbook.on_failure.compensate:
        plan = compensation_plan(live.state.effects)
        problems = await undo_effects(live, plan, f"compensating for: {reason}")
        undone = f"; undid {len(plan) - len(problems)} of {len(plan)} earlier effects"
    await let_go(live, "the incident failed")
    if playbook.on_failure.page:
        await live.page("failed", f"playbook {playbook.name} stopped: {reason}{undone}")
    return IncidentPhase.FAILED, f"{reason}{undone}"


async def resolved(live: Live) -> Ending:
    plan = resolution_undo_plan(live.state.effects)
    problems = await undo_effects(live, plan, "the SLO recovered (temporary mitigation)")
    await let_go(live, "the SLO recovered")
    if problems:
        await live.page("undo-failed", f"could not undo: {'; '.join(problems)}")
    undone = f"; undid {len(plan) - len(problems)} temporary mitigations" if plan else ""
    return IncidentPhase.RESOLVED, f"SLO recovered; incident resolved{undone}"


async def expired(live: Live, playbook: Playbook) -> Ending:
    hours = playbook.resolution.max_open_seconds / 3600
    summary = f"still firing {hours:g}h after the playbook; handed to humans"
    await live.page("still-firing", summary)
    return IncidentPhase.CLOSED, summary


def finish(live: Live, phase: IncidentPhase, summary: str) -> None:
    live.set_phase(phase)
    live.state.closed_at = workflow.now()
    if phase in (IncidentPhase.FAILED, IncidentPhase.ABORTED):
        live.state.error = summary
    kind = {
        IncidentPhase.RESOLVED: AuditKind.INCIDENT_RESOLVED,
        IncidentPhase.FAILED: AuditKind.ESCALATED,
        IncidentPhase.ABORTED: AuditKind.INCIDENT_ABORTED,
    }.get(phase, AuditKind.INCIDENT_CLOSED)
    actor = live.state.aborted_by if phase is IncidentPhase.ABORTED else None
    live.auditor.record(
        kind, summary, {"phase": phase.value}, key="closed", actor=actor or "orchestrator"
    )
    live.auditor.close()

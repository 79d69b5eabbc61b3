"""Choosing the playbook for a breach, and the dry run (``orchestrator playbooks plan``). Pure.

The workflow and the dry run share :func:`assess`, :func:`choose_playbook` and
:func:`incident_context`, so the plan printed before production is the one the workflow runs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from orchestrator.domain.actions import ACTIONS
from orchestrator.domain.catalog import Catalog, Service, Slo
from orchestrator.domain.gate import ApprovalAnswer, GateFacts, Verdict, gate, prepare
from orchestrator.domain.keys import incident_key
from orchestrator.domain.ops_models import Authorization, KillSwitch
from orchestrator.domain.playbook import Playbook, PlaybookLibrary, Step
from orchestrator.domain.policy import FailurePolicy, ResolutionPolicy
from orchestrator.domain.severity import Severity, SeverityAssessment, classify
from orchestrator.domain.signals import BreachSignal, SignalStatus
from orchestrator.domain.templating import template_context

FAST_TRACK_LABEL = "orchestrator.fast-track"
"""Signal label (value ``"true"``) by which on-call launches a playbook fast-tracked."""


def assess(service: Service, slo: Slo, signal: BreachSignal) -> SeverityAssessment:
    return classify(
        slo=slo,
        risk_tier=service.journey(slo.journey).risk_tier,
        observed=signal.observed,
        burn_rate=signal.burn_rate,
        segmented=signal.segment is not None,
    )


def choose_playbook(
    library: PlaybookLibrary,
    service: Service,
    slo: Slo,
    signal: BreachSignal,
    severity: Severity,
) -> Playbook | None:
    """The playbook named by a manual launch, else the most specific one policy selects."""
    if signal.playbook:
        named = [p for p in library.playbooks if p.name == signal.playbook]
        return named[0] if named else None
    return library.select(service.name, slo.dimension, severity, slo.name)


def is_fast_track(signal: BreachSignal) -> bool:
    return bool(signal.actor) and signal.labels.get(FAST_TRACK_LABEL, "").lower() == "true"


def incident_context(
    *,
    incident_id: str,
    signal: BreachSignal,
    severity: str,
    service: Service,
    slo: Slo,
    steps: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context of a step (see :func:`template_context`)."""
    return template_context(
        signal=signal.model_dump(mode="json"),
        severity=severity,
        incident={
            "id": incident_id,
            "key": signal.incident_key,
            "scope": str(signal.segment) if signal.segment else "everyone",
        },
        slo=slo.model_dump(mode="json"),
        catalog_service=service.model_dump(mode="json"),
        steps=steps,
    )


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlannedStep(_Model):
    id: str
    action: str
    description: str
    runs: bool
    decision: str
    """The step gate's verdict: ``run``, ``skip``, ``refuse`` (a safety switch) or ``fail``."""
    skip_reason: str | None = None
    args: dict[str, Any] | None = None
    error: str | None = None
    destructive: bool
    approval: dict[str, Any] | None = None
    """The approval the step would wait for: timeout, outcome on timeout, two-person rule."""
    temporary: bool
    compensate: bool


class IncidentPlan(_Model):
    incident_id: str
    service: str
    slo: str
    status: str
    severity: SeverityAssessment | None
    playbook: str | None
    manual: bool
    fast_track: bool
    kill_switch: bool
    note: str
    steps: tuple[PlannedStep, ...] = ()
    resolution: ResolutionPolicy | None = None
    on_failure: FailurePolicy | None = None


PLAN_APPROVER = "(the approver)"
"""Who the dry run assumes approves a step that waits for approval (a person, not automation)."""


def _plan_ledger(verdict: Verdict, breaker_open: bool, kill_switch: bool) -> Authorization:
    """The safety ledger's answer the dry run assumes: the kill switch refuses every action when
    ``kill_switch`` (the ledger's switch, or the worker's ORCHESTRATOR_KILL_SWITCH floor); the
    circuit breaker refuses automated actions when ``breaker_open``; a person's decision is never
    refused by the breaker."""
    if kill_switch:
        detail = "kill switch on (plan input): notify-only"
        return Authorization(
            allowed=False, reason="kill-switch", detail=detail, kill_switch=KillSwitch(on=True)
        )
    if breaker_open and verdict.automated:
        detail = "circuit breaker open (plan input): an automated action is refused"
        return Authorization(
            allowed=False, reason="circuit-breaker", detail=detail, kill_switch=KillSwitch()
        )
    return Authorization(allowed=True, reason="allowed", detail="", kill_switch=KillSwitch())


def _plan_step(
    playbook: Playbook,
    step: Step,
    context: dict[str, Any],
    facts: GateFacts,
    ledger: tuple[bool, bool],
) -> PlannedStep:
    """``ledger``: (breaker open, kill switch on), what the safety ledger is assumed to say."""
    spec = ACTIONS[step.action]
    base = {
        "id": step.id,
        "action": step.action,
        "description": step.description,
        "destructive": spec.destructive,
        "temporary": step.temporary,
        "compensate": step.compensate,
    }
    prepared = prepare(step, context)
    approval = None
    verdict = gate(playbook, prepared, facts)
    while not verdict.final:
        if verdict.kind == "approval" and verdict.approval is not None:
            approval = verdict.approval.model_dump(exclude={"when"}, exclude_defaults=False)
            facts = facts.answered(approval=ApprovalAnswer("granted", by=PLAN_APPROVER))
        elif verdict.kind == "authorize":
            facts = facts.answered(authorization=_plan_ledger(verdict, *ledger))
        else:  # hold_down: the dry run plans for a firing breach
            facts = facts.answered(held_down=False)
        verdict = gate(playbook, prepared, facts)
    args = verdict.args.model_dump(mode="json") if verdict.args is not None else None
    if verdict.kind == "fail":
        return PlannedStep(
            **base, runs=False, decision="fail", error=verdict.reason, skip_reason="would fail"
        )
    if verdict.kind == "refuse":  # a safety switch said no, after any approval it waited for
        return PlannedStep(
            **base,
            runs=False,
            decision="refuse",
            args=args,
            skip_reason=verdict.reason,
            approval=approval,
        )
    if verdict.kind != "run":
        return PlannedStep(
            **base, runs=False, decision=verdict.kind, args=args, skip_reason=verdict.reason
        )
    return PlannedStep(**base, runs=True, decision="run", args=args, approval=approval)


def plan_incident(
    signal: BreachSignal,
    catalog: Catalog,
    library: PlaybookLibrary,
    *,
    workflow_id_prefix: str = "incident",
    kill_switch: bool = False,
    breaker_open: bool = False,
) -> IncidentPlan:
    """What the orchestrator would do for ``signal``, touching nothing. Steps are assumed to
    succeed, so a step whose ``when`` asks whether an earlier one ran sees it as run."""
    service, slo = catalog.resolve(signal)
    base: dict[str, Any] = {
        "incident_id": incident_key(signal, catalog, library, workflow_id_prefix),
        "service": service.name,
        "slo": slo.name,
        "status": signal.status.value,
        "manual": bool(signal.playbook),
        "fast_track": is_fast_track(signal),
        "kill_switch": kill_switch,
    }
    if signal.status is SignalStatus.RESOLVED:
        note = "a resolved signal starts nothing (it only resolves an incident already open)"
        return IncidentPlan(**base, severity=None, playbook=None, note=note)
    assessment = assess(service, slo, signal)
    playbook = choose_playbook(library, service, slo, signal, assessment.severity)
    if playbook is None:
        note = "no playbook matches: the incident would page a human and fail"
        return IncidentPlan(**base, severity=assessment, playbook=None, note=note)
    results: dict[str, Any] = {}
    steps = []
    facts = GateFacts(
        launcher=signal.actor if signal.playbook else None,
        fast_track_by=signal.actor if is_fast_track(signal) else None,
    )
    for step in playbook.steps:
        context = incident_context(
            incident_id=base["incident_id"],
            signal=signal,
            severity=assessment.severity.value,
            service=service,
            slo=slo,
            steps=results,
        )
        planned = _plan_step(playbook, step, context, facts, (breaker_open, kill_switch))
        if planned.runs:
            results[step.id] = {}
        steps.append(planned)
    return IncidentPlan(
        **base,
        severity=assessment,
        playbook=playbook.name,
        note="dry run: nothing was changed",
        steps=tuple(steps),
        resolution=playbook.resolution,
        on_failure=playbook.on_failure,
    )

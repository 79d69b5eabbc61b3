"""IncidentWorkflow: one durable incident per service and SLO, driving its playbook.

Workflow code stays deterministic: decisions come from pure domain functions, every side effect is
an activity with an explicit timeout and retry policy, and time comes from ``workflow.now()``.
Mitigation first: the first activity after a breach is the first playbook step; the audit events
for the decisions are recorded alongside it, never in front of it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orchestrator.activities.types import RECORD_AUDIT_EVENT
    from orchestrator.audit.model import AuditEvent, AuditKind
    from orchestrator.domain.actions import ACTIONS
    from orchestrator.domain.playbook import Playbook, PlaybookLibrary
    from orchestrator.domain.severity import SeverityAssessment, classify
    from orchestrator.domain.signals import BreachSignal, SignalStatus
    from orchestrator.domain.templating import (
        evaluate_condition,
        render_step_args,
        template_context,
    )
    from orchestrator.errors import PlaybookError
    from orchestrator.workflows.steps import StepFailed, StepOutcome, StepRunner
    from orchestrator.workflows.types import (
        QUERY_STATE,
        SA_PLAYBOOK,
        SA_SERVICE,
        SA_SEVERITY,
        SA_SLO,
        SA_STATE,
        SIGNAL_BREACH,
        IncidentInput,
        IncidentPhase,
        IncidentState,
        StepRecord,
    )

AUDIT_TIMEOUT = timedelta(seconds=30)
AUDIT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
)
"""Audit writes retry until they land: the history holds the event durably meanwhile."""


@workflow.defn
class IncidentWorkflow:
    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        self._inp = inp
        self._state = IncidentState(
            incident_id=inp.incident_id, service=inp.service.name, slo=inp.slo.name
        )
        self._signals: list[BreachSignal] = []
        self._seen: set[str] = set()
        self._audit_queue: list[AuditEvent] = []
        self._audit_count = 0
        self._audit_open = False
        """Audit writes wait until the first mitigating effect is scheduled (mitigation first)."""
        self._closing = False

    # -- signals and queries -------------------------------------------------------------------

    @workflow.signal(name=SIGNAL_BREACH)
    def breach(self, signal: BreachSignal) -> None:
        if signal.dedupe_key in self._seen:
            self._state.duplicates_ignored += 1
            return
        self._seen.add(signal.dedupe_key)
        self._signals.append(signal)
        self._state.signals_received += 1
        self._state.firing = signal.status is SignalStatus.FIRING
        segment = f" segment {signal.segment}" if signal.segment else ""
        observed = f" observed {signal.observed:g}" if signal.observed is not None else ""
        self._audit(
            AuditKind.SIGNAL_RECEIVED,
            f"{signal.status.value} signal from {signal.source}{segment}{observed}",
            signal.model_dump(mode="json"),
            key=f"signal/{signal.dedupe_key}",
            actor=signal.actor or signal.source,
        )

    @workflow.query(name=QUERY_STATE)
    def state(self) -> IncidentState:
        return self._state

    # -- the run ---------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: IncidentInput) -> IncidentState:
        auditor = asyncio.create_task(self._audit_loop())
        self._state.opened_at = workflow.now()
        await workflow.wait_condition(lambda: bool(self._signals))
        trigger = self._signals[0]
        if trigger.status is SignalStatus.RESOLVED:
            await self._finish(IncidentPhase.CLOSED, "resolved before any action; nothing to do")
            await auditor
            return self._state
        assessment = classify(
            slo=inp.slo,
            risk_tier=inp.service.journey(inp.slo.journey).risk_tier,
            observed=trigger.observed,
            burn_rate=trigger.burn_rate,
            segmented=trigger.segment is not None,
        )
        playbook = self._choose_playbook(trigger, assessment)
        self._state.severity = assessment.severity.value
        self._state.severity_explanation = assessment.explanation
        self._state.launched_by = trigger.actor
        self._audit_decisions(trigger, assessment, playbook)
        if playbook is None:
            await self._finish(IncidentPhase.FAILED, "no playbook matches; a human must act")
        else:
            self._state.playbook = playbook.name
            self._set_phase(IncidentPhase.MITIGATING)
            failed = await self._run_playbook(playbook, trigger, assessment)
            if failed:
                await self._finish(IncidentPhase.FAILED, failed)
            elif not self._state.firing:
                await self._finish(IncidentPhase.RESOLVED, "SLO recovered; incident resolved")
            else:
                await self._finish(IncidentPhase.CLOSED, "playbook complete; SLO still firing")
        await auditor
        return self._state

    def _choose_playbook(
        self, trigger: BreachSignal, assessment: SeverityAssessment
    ) -> Playbook | None:
        library = PlaybookLibrary(playbooks=self._inp.candidates)
        if trigger.playbook:
            named = [p for p in library.playbooks if p.name == trigger.playbook]
            return named[0] if named else None
        return library.select(self._inp.service.name, self._inp.slo.dimension, assessment.severity)

    def _audit_decisions(
        self, trigger: BreachSignal, assessment: SeverityAssessment, playbook: Playbook | None
    ) -> None:
        if trigger.actor and trigger.playbook:
            self._audit(
                AuditKind.MANUAL_LAUNCH,
                f"{trigger.actor} launched {trigger.playbook}:"
                f" {trigger.reason or 'no reason given'}",
                {"playbook": trigger.playbook, "reason": trigger.reason},
                actor=trigger.actor,
            )
        self._audit(AuditKind.INCIDENT_OPENED, f"incident opened for {trigger.incident_key}", {})
        self._audit(
            AuditKind.SEVERITY_CLASSIFIED,
            assessment.explanation,
            assessment.model_dump(mode="json"),
        )
        self._audit(
            AuditKind.PLAYBOOK_SELECTED,
            f"playbook {playbook.name}" if playbook else "no playbook matches",
            {"playbook": playbook.name if playbook else None, "severity": assessment.severity},
        )

    async def _run_playbook(
        self, playbook: Playbook, trigger: BreachSignal, assessment: SeverityAssessment
    ) -> str | None:
        """Run the steps in order; return why the playbook failed, or None."""
        runner = StepRunner(self._inp.incident_id, self._inp.service, lambda: self._state.firing)
        results: dict[str, Any] = {}
        for step in playbook.steps:
            context = template_context(
                signal=trigger.model_dump(mode="json"),
                severity=assessment.severity.value,
                incident={"id": self._inp.incident_id, "key": trigger.incident_key},
                slo=self._inp.slo.model_dump(mode="json"),
                catalog_service=self._inp.service.model_dump(mode="json"),
                steps=results,
            )
            record = StepRecord(id=step.id, action=step.action, status="running")
            self._state.steps.append(record)
            skip = self._skip_reason(step.action, step.when, context)
            if skip:
                self._audit_open = True
                self._end_step(record, StepOutcome("skipped", AuditKind.STEP_SKIPPED, skip))
                continue
            try:
                args = render_step_args(step, context)
                # The step's activity is scheduled before this coroutine first yields, so the
                # audit loop (which can only run once it yields) never writes ahead of it.
                self._audit_open = True
                outcome = await runner.run(step, args)
            except (PlaybookError, StepFailed) as exc:
                detail = exc.detail if isinstance(exc, StepFailed) else str(exc)
                self._end_step(record, StepOutcome("failed", AuditKind.STEP_FAILED, detail))
                return f"step {step.id} failed: {detail}"
            except ActivityError as exc:
                detail = str(exc.cause or exc)
                self._end_step(record, StepOutcome("failed", AuditKind.STEP_FAILED, detail))
                return f"step {step.id} failed: {detail}"
            results[step.id] = outcome.result
            self._end_step(record, outcome)
            if step.action == "incident.wait_for_recovery" and self._state.firing:
                self._set_phase(IncidentPhase.MITIGATING)
        return None

    def _skip_reason(self, action: str, when: str | None, context: dict[str, Any]) -> str | None:
        if when:
            try:
                if not evaluate_condition(when, context):
                    return f"condition not met: {when}"
            except PlaybookError as exc:
                return f"condition could not be evaluated ({exc}); step not run"
        destructive = ACTIONS[action].destructive
        if destructive and not self._state.firing:
            return "the breach is resolved: a destructive step is never started after resolution"
        if destructive and self._inp.kill_switch:
            return "kill switch on: notify-only, no external effect"
        if action == "incident.wait_for_recovery":
            self._set_phase(IncidentPhase.MONITORING)
        return None

    def _end_step(self, record: StepRecord, outcome: StepOutcome) -> None:
        record.status = outcome.status
        record.detail = outcome.summary
        record.result = outcome.result
        self._audit(
            outcome.kind,
            f"{record.id}: {outcome.summary}",
            {"step": record.id, "action": record.action, **outcome.result},
        )

    # -- bookkeeping -----------------------------------------------------------------------------

    def _set_phase(self, phase: IncidentPhase) -> None:
        self._state.phase = phase
        attrs = [
            SA_SERVICE.value_set(self._inp.service.name),
            SA_SLO.value_set(self._inp.slo.name),
            SA_STATE.value_set(phase.value),
        ]
        if self._state.severity:
            attrs.append(SA_SEVERITY.value_set(self._state.severity))
        if self._state.playbook:
            attrs.append(SA_PLAYBOOK.value_set(self._state.playbook))
        workflow.upsert_search_attributes(attrs)

    async def _finish(self, phase: IncidentPhase, summary: str) -> None:
        self._set_phase(phase)
        self._state.closed_at = workflow.now()
        if phase is IncidentPhase.FAILED:
            self._state.error = summary
        kind = {
            IncidentPhase.RESOLVED: AuditKind.INCIDENT_RESOLVED,
            IncidentPhase.FAILED: AuditKind.ESCALATED,
        }.get(phase, AuditKind.INCIDENT_CLOSED)
        self._audit(kind, summary, {"phase": phase.value}, key="closed")
        self._audit_open = True
        self._closing = True

    def _audit(
        self,
        kind: AuditKind,
        summary: str,
        data: dict[str, Any],
        *,
        key: str | None = None,
        actor: str = "orchestrator",
    ) -> None:
        self._audit_count += 1
        info = workflow.info()
        self._audit_queue.append(
            AuditEvent(
                event_key=f"{self._inp.incident_id}/{info.run_id}/"
                + (key or f"{self._audit_count:04d}-{kind.value}"),
                incident_id=self._inp.incident_id,
                run_id=info.run_id,
                kind=kind,
                at=workflow.now(),
                actor=actor,
                service=self._inp.service.name,
                slo=self._inp.slo.name,
                summary=summary,
                data=data,
            )
        )

    async def _audit_loop(self) -> None:
        """Record audit events in order, one at a time, until the incident closes."""
        while True:
            await workflow.wait_condition(
                lambda: (bool(self._audit_queue) and self._audit_open) or self._closing
            )
            if not self._audit_queue and self._closing:
                return
            event = self._audit_queue.pop(0)
            await workflow.execute_activity(
                RECORD_AUDIT_EVENT,
                event,
                start_to_close_timeout=AUDIT_TIMEOUT,
                retry_policy=AUDIT_RETRY,
                result_type=int,
            )

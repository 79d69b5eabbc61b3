"""IncidentWorkflow: one occurrence of an incident (its key: service and SLO), driving playbooks.

Started by the key's workflow (:mod:`orchestrator.workflows.incident_key`), which sends it every
signal for the key while it is open; its id is the occurrence's, so every idempotency key built
from it is that occurrence's alone.

Workflow code stays deterministic: decisions come from pure domain functions, every side effect is
an activity with an explicit timeout and retry policy, and time comes from ``workflow.now()``.
Mitigation first: the first activity after a breach is the first playbook step (after the safety
gate, a local activity); the audit events for the decisions are recorded alongside it, never in
front of it.

The incident lives until the SLO recovers (a resolved signal that holds through the hold-down,
after which temporary mitigations are undone), a person aborts it, a step fails for good
(compensation, a page), or it stays unrecovered past the playbook's ``max_open_seconds`` (a page).
A later signal that raises the severity, or a person's launch, re-plans it: the stronger playbook
runs from its start and every step whose effect is already in place is skipped.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.playbook import Playbook, PlaybookLibrary
    from orchestrator.domain.policy_approval import ApprovalDecision
    from orchestrator.domain.policy_effects import (
        is_escalation,
    )
    from orchestrator.domain.policy_plan import assess, choose_playbook, is_fast_track
    from orchestrator.domain.severity import SeverityAssessment
    from orchestrator.domain.signals import BreachSignal, SignalStatus
    from orchestrator.errors import INCIDENT_FINISHED_ERROR_TYPE
    from orchestrator.workflows import continuing
    from orchestrator.workflows import first as first_change
    from orchestrator.workflows.approvals import ApprovalDesk
    from orchestrator.workflows.auditing import Auditor, record_decisions
    from orchestrator.workflows.endings import Ending, aborted, expired, failed, finish, resolved
    from orchestrator.workflows.firing import FiringAlerts
    from orchestrator.workflows.inbound import PATCH_BAD_SIGNALS, decode_breach, record_bad_signal
    from orchestrator.workflows.live import Live, Replan
    from orchestrator.workflows.patches import patched
    from orchestrator.workflows.playbook_run import PlaybookRun, RunOutcome
    from orchestrator.workflows.resolution import await_recovery
    from orchestrator.workflows.types import (
        INCIDENT_WORKFLOW,
        QUERY_STATE,
        SIGNAL_BREACH,
        UPDATE_ABORT,
        UPDATE_DECIDE,
        UPDATE_LAUNCH,
        AbortRequest,
        ControlAck,
        FirstEffect,
        IncidentInput,
        IncidentPhase,
        IncidentState,
        LaunchRequest,
    )


PATCH_ORDERED_ALERTS = "ordered-alerts"


@workflow.defn(name=INCIDENT_WORKFLOW)
class IncidentWorkflow:
    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        self._inp = inp
        carried = inp.carried
        self._state = (
            carried.state
            if carried
            else IncidentState(
                incident_id=inp.incident_id,
                service=inp.service.name,
                slo=inp.slo.name,
                key=inp.key,
            )
        )
        self._seen: dict[str, None] = dict.fromkeys(carried.seen if carried else ())
        """Dedupe keys of the signals taken, oldest first."""
        self._auditor = Auditor(self._state, carried.unwritten if carried else ())
        self._live = Live(inp, self._state, self._auditor)
        self._desk = ApprovalDesk(self._live)
        self._record_bad = patched(PATCH_BAD_SIGNALS)
        self._alerts = FiringAlerts(
            patched(PATCH_ORDERED_ALERTS),
            carried.active if carried else (),
            carried.order if carried else None,
        )
        """The alerts firing now: one resolving does not clear the others."""
        if carried:
            continuing.restore(self._live, carried)
        self._decided_at = inp.first.decided_at if inp.first else None
        """When the key's workflow took the initial signals and decided (it made the first
        change): what is recorded of that is dated then."""
        with self._auditor.dated(self._decided_at):
            for signal in inp.initial:
                self._take(signal)

    # -- signals, updates and queries ------------------------------------------------------------

    @workflow.signal(name=SIGNAL_BREACH)
    def breach(self, raw: RawValue) -> None:
        decoded = decode_breach(raw)
        if isinstance(decoded, BreachSignal):
            self._take(decoded)
        elif self._record_bad:
            self._state.bad_signals += 1
            record_bad_signal(self._auditor, decoded)

    def _take(self, signal: BreachSignal) -> None:
        if (self._state.phase.finished or self._live.ending) and self._live.late_signals:
            # Ending or finished: not acted on here; the key's workflow takes it up once this
            # occurrence has ended (a firing opens the next occurrence).
            if signal.dedupe_key not in self._seen:
                self._state.late_signals.append(signal)
            return
        if signal.dedupe_key in self._seen:
            self._state.duplicates_ignored += 1
            return
        self._seen[signal.dedupe_key] = None
        live = self._live
        live.signals.append(signal)
        self._state.signals_received += 1
        firing = signal.status is SignalStatus.FIRING
        stale = not self._alerts.take(signal)
        if not stale:
            self._state.firing = self._alerts.firing
            live.quiet_since = None if firing else workflow.now()
        segment = f" segment {signal.segment}" if signal.segment else ""
        observed = f" observed {signal.observed:g}" if signal.observed is not None else ""
        self._auditor.record(
            AuditKind.SIGNAL_RECEIVED,
            f"{signal.status.value} signal from {signal.source}{segment}{observed}",
            signal.model_dump(mode="json"),
            key=f"signal/{signal.dedupe_key}",
            actor=signal.actor or signal.source,
        )
        if stale:
            self._auditor.record(
                AuditKind.NOTE,
                f"{signal.status.value} signal of an alert instance started"
                f" {signal.started_at} came after a later one: recorded, not acted on",
                {"dedupe_key": signal.dedupe_key},
            )
            return
        if firing and self._state.phase is IncidentPhase.HOLDING_DOWN:
            self._auditor.record(
                AuditKind.NOTE, "fired again during the hold-down: the incident stays open", {}
            )
        if firing and live.severity is not None and not self._state.phase.finished:
            self._consider_escalation(signal)

    def _consider_escalation(self, signal: BreachSignal) -> None:
        live = self._live
        assessment = assess(self._inp.service, self._inp.slo, signal)
        if not is_escalation(live.severity, assessment.severity):
            return
        before = live.severity.value if live.severity else "-"
        self._set_severity(assessment)
        live.trigger = signal
        live.replan = Replan(reason=f"severity {before} -> {assessment.severity.value}")
        live.set_phase(self._state.phase)

    @workflow.update(name=UPDATE_DECIDE)
    def decide(self, decision: ApprovalDecision) -> ControlAck:
        return self._desk.decide(decision)

    @decide.validator
    def _check_decision(self, decision: ApprovalDecision) -> None:
        self._refuse_if_finished()
        refusal = self._desk.refusal(decision)
        if refusal:
            raise ValueError(refusal)

    @workflow.update(name=UPDATE_ABORT)
    def abort(self, request: AbortRequest) -> ControlAck:
        self._live.abort = request
        self._state.aborted_by = request.by.strip()
        return ControlAck(
            incident_id=self._inp.incident_id,
            outcome="aborting",
            detail="the playbook stops after the step in flight (if any); nothing more starts",
        )

    @abort.validator
    def _check_abort(self, request: AbortRequest) -> None:
        self._refuse_if_finished()
        if not request.by.strip() or not request.reason.strip():
            raise ValueError("say who aborts (--by) and why (--reason): both are recorded")
        if self._live.abort is not None:
            raise ValueError(f"already aborting (by {self._live.abort.by})")

    @workflow.update(name=UPDATE_LAUNCH)
    def launch(self, request: LaunchRequest) -> ControlAck:
        by = request.by.strip()
        live = self._live
        live.launcher = by
        if request.fast_track:
            self._state.fast_track_by = by
        live.replan = Replan(
            reason=f"{by} launched {request.playbook.name}: {request.reason}",
            playbook=request.playbook,
            by=by,
            fast_track=request.fast_track,
        )
        self._auditor.record(
            AuditKind.MANUAL_LAUNCH,
            f"{by} launched {request.playbook.name}"
            + (" (fast-track: waits skipped)" if request.fast_track else "")
            + f": {request.reason}",
            {
                "playbook": request.playbook.name,
                "reason": request.reason,
                "fast_track": request.fast_track,
            },
            actor=by,
        )
        return ControlAck(
            incident_id=self._inp.incident_id,
            outcome="launching",
            detail=f"{request.playbook.name} runs next; steps already done are not repeated",
        )

    @launch.validator
    def _check_launch(self, request: LaunchRequest) -> None:
        self._refuse_if_finished()
        if not request.by.strip() or not request.reason.strip():
            raise ValueError("say who launches (--by) and why (--reason): both are recorded")
        services = request.playbook.match.services
        if services and self._inp.service.name not in services:
            raise ValueError(
                f"playbook {request.playbook.name} is not for {self._inp.service.name}"
            )

    def _refuse_if_finished(self) -> None:
        if self._state.phase.finished:
            raise ApplicationError(
                f"the incident is {self._state.phase.value}; nothing to change",
                type=INCIDENT_FINISHED_ERROR_TYPE,
                non_retryable=True,
            )

    @workflow.query(name=QUERY_STATE)
    def state(self) -> IncidentState:
        return self._state

    # -- the run ---------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: IncidentInput) -> IncidentState:
        auditor = asyncio.create_task(self._auditor.run())
        live = self._live
        if inp.carried is not None:  # a continued run: back to monitoring
            finish(live, *await self._drive(inp.carried.playbook, auditor, resume=True))
            await auditor
            return await self._ended()
        self._state.opened_at = self._decided_at or workflow.now()
        await workflow.wait_condition(lambda: bool(live.signals))
        trigger = live.signals[0]
        if trigger.status is SignalStatus.RESOLVED:
            finish(live, IncidentPhase.CLOSED, "resolved before any action; nothing to do")
            await auditor
            return self._state
        with self._auditor.dated(self._decided_at):
            playbook = self._decide(trigger)
        if inp.first is not None:
            await self._take_first(inp.first, playbook)
        if playbook is None:  # (what the key's workflow changed first stays, and is named)
            kept = first_change.in_place(self._state)
            await live.page(
                "no-playbook", f"no playbook matches this breach; a human must act{kept}"
            )
            ending: Ending = (IncidentPhase.FAILED, f"no playbook matches; a human must act{kept}")
        else:
            ending = await self._drive(playbook, auditor)
        finish(live, *ending)
        await auditor
        return await self._ended()

    def _decide(self, trigger: BreachSignal) -> Playbook | None:
        """Severity, launcher and playbook from the signals taken so far (recorded)."""
        inp, live = self._inp, self._live
        trigger, assessment = self._worst_so_far(trigger)
        live.trigger = trigger
        self._set_severity(assessment)
        if trigger.actor and trigger.playbook:
            live.launcher = trigger.actor
            self._state.launched_by = trigger.actor
        if is_fast_track(trigger):
            self._state.fast_track_by = trigger.actor
        library = PlaybookLibrary(playbooks=inp.candidates)
        playbook = choose_playbook(library, inp.service, inp.slo, trigger, assessment.severity)
        record_decisions(self._auditor, trigger, assessment, playbook)
        return playbook

    async def first_change(self, *, gated: bool = False) -> FirstEffect | None:
        """Run by the key's workflow on the occurrence it is about to start (never started
        itself): decide as its run will, and make the first mitigating change (:mod:`.first`).
        What this object records is dropped; the occurrence records it all again."""
        live = self._live
        if not live.signals or live.signals[0].status is not SignalStatus.FIRING:
            return None
        playbook = self._decide(live.signals[0])
        if playbook is None:
            return None
        live.effect_retry = first_change.FIRST_TRY
        return await PlaybookRun(live, playbook, self._desk).first_effect(gated=gated)

    async def _take_first(self, first: FirstEffect, playbook: Playbook | None) -> None:
        """The key's workflow made the first change: noted, and this run's step makes it again
        (finding it in place); when this run decided otherwise, adopted as an effect in place."""
        chosen = playbook.name if playbook else ""
        if first_change.unused(first, self._state.severity, len(self._live.signals), chosen):
            await first_change.take_over(self._live, first)
            return
        with self._auditor.dated(first.made_at):
            first_change.note(first, self._auditor.record)
        self._live.first = first

    def _worst_so_far(self, first: BreachSignal) -> tuple[BreachSignal, SeverityAssessment]:
        """The signals that arrived before the incident started: the worst one sets the severity
        (and, unless a person launched a playbook by name, is the trigger templates see)."""
        trigger, worst = first, assess(self._inp.service, self._inp.slo, first)
        for signal in self._live.signals[1:]:
            if signal.status is not SignalStatus.FIRING:
                continue
            assessment = assess(self._inp.service, self._inp.slo, signal)
            if is_escalation(worst.severity, assessment.severity):
                worst = assessment
                trigger = first if first.playbook else signal
        return trigger, worst

    async def _drive(
        self, playbook: Playbook, auditing: asyncio.Task[None], *, resume: bool = False
    ) -> Ending:
        live = self._live
        while True:
            if resume:  # a continued run picks up monitoring where the last one stopped
                resume, outcome = False, RunOutcome("completed")
            else:
                self._start(playbook)
                outcome = await PlaybookRun(live, playbook, self._desk).execute()
                first, live.first = live.first, None
                if first is not None and not first_change.handled_here(self._state, first):
                    await first_change.take_over(live, first)  # it stopped before that step
            if live.abort is not None:
                live.begin_ending()
                return aborted(live)
            if outcome.kind == "failed":
                live.begin_ending()
                return await failed(live, playbook, outcome.reason)
            if live.replan is None:
                recovery = await await_recovery(live, playbook.resolution)
                if recovery == "continue":
                    await self._continue_as_new(playbook, auditing)
                if recovery != "replan":
                    live.begin_ending()
                if recovery == "abort":
                    return aborted(live)
                if recovery == "resolved":
                    return await resolved(live)
                if recovery == "expired":
                    return await expired(live, playbook)
            playbook = self._take_replan(playbook)

    async def _ended(self) -> IncidentState:
        await continuing.report_end(self._inp, self._state)
        return self._state

    async def _continue_as_new(self, playbook: Playbook, auditing: asyncio.Task[None]) -> None:
        await continuing.continue_as_new(
            self._live, self._auditor, auditing, playbook, self._seen, self._alerts
        )

    def _start(self, playbook: Playbook) -> None:
        self._live.playbook = playbook
        self._state.playbook = playbook.name
        self._state.playbooks_run.append(playbook.name)
        self._live.set_phase(IncidentPhase.MITIGATING)

    def _take_replan(self, current: Playbook) -> Playbook:
        live = self._live
        replan, live.replan = live.replan, None
        assert replan is not None
        assert live.severity is not None
        chosen = replan.playbook
        if chosen is None and not live.manual:
            library = PlaybookLibrary(playbooks=self._inp.candidates)
            service, slo = self._inp.service, self._inp.slo
            chosen = library.select(service.name, slo.dimension, live.severity, slo.name)
        chosen = chosen or current
        self._auditor.record(
            AuditKind.ESCALATED,
            f"{replan.reason}: playbook {current.name} -> {chosen.name}"
            " (steps whose effect is in place are not repeated)",
            {"from": current.name, "to": chosen.name, "severity": live.severity.value},
            actor=replan.by or "orchestrator",
        )
        return chosen

    def _set_severity(self, assessment: SeverityAssessment) -> None:
        self._live.severity = assessment.severity
        self._state.severity = assessment.severity.value
        self._state.severity_explanation = assessment.explanation
        self._state.severities.append(assessment.severity.value)
        self._auditor.record(
            AuditKind.SEVERITY_CLASSIFIED,
            assessment.explanation,
            assessment.model_dump(mode="json"),
        )

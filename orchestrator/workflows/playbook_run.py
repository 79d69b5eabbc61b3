"""One pass of a playbook through its steps, with every policy check in front of each step.

In order, for each step: its ``when``; rendering its arguments; whether its effect is already in
place (an escalation never repeats a step); for destructive steps, whether the breach resolved
(hold-down, then never start it) and the kill switch; the approval the step asks for; the safety
ledger (kill switch set at run time, circuit breaker). Then the step's one activity, and its
effect recorded with how to undo it. A pass ends completed, failed (a step failed for good) or
interrupted (abort, escalation, a person's launch), and never repeats what it did on the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.actions import ACTIONS, ActionSpec
    from orchestrator.domain.playbook import Playbook, Step
    from orchestrator.domain.policy_approval import approval_applies
    from orchestrator.domain.policy_effects import EffectRecord, already_done, effect_key
    from orchestrator.domain.templating import evaluate_condition, render_step_args
    from orchestrator.errors import PlaybookError
    from orchestrator.workflows.approvals import ApprovalDesk
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.resolution import hold_down
    from orchestrator.workflows.step_types import StepFailed, StepOutcome, describe
    from orchestrator.workflows.steps import StepRunner
    from orchestrator.workflows.types import IncidentPhase, StepRecord

WAIT = "incident.wait_for_recovery"


@dataclass
class RunOutcome:
    kind: Literal["completed", "failed", "interrupted"]
    reason: str = ""


@dataclass
class Cleared:
    """The step may run; ``decided_by`` names the person who decided it (None: automation)."""

    decided_by: str | None


def skipped(summary: str, kind: AuditKind = AuditKind.STEP_SKIPPED) -> StepOutcome:
    return StepOutcome("skipped", kind, summary)


class PlaybookRun:
    def __init__(self, live: Live, playbook: Playbook, desk: ApprovalDesk) -> None:
        self._live = live
        self._playbook = playbook
        self._desk = desk
        self._runner = StepRunner(live)

    async def execute(self) -> RunOutcome:
        results: dict[str, Any] = {}
        for index, step in enumerate(self._playbook.steps):
            if self._live.interrupted():
                return RunOutcome("interrupted")
            record = StepRecord(id=step.id, action=step.action, status="running")
            self._live.state.steps.append(record)
            outcome = await self._step(index, step, record, results)
            if outcome is not None:
                return outcome
        return RunOutcome("completed")

    async def _step(
        self, index: int, step: Step, record: StepRecord, results: dict[str, Any]
    ) -> RunOutcome | None:
        live = self._live
        context = live.context(results)
        if step.when:
            try:
                if not evaluate_condition(step.when, context):
                    return self._end(record, skipped(f"condition not met: {step.when}"))
            except PlaybookError as exc:
                return self._end(record, skipped(f"condition could not be evaluated ({exc})"))
        try:
            args = render_step_args(step, context)
        except PlaybookError as exc:
            return self._fail(record, str(exc))
        spec = ACTIONS[step.action]
        key = effect_key(spec, args)
        done = already_done(live.state.effects, key)
        if done is not None:
            results[step.id] = done.result
            done.temporary = step.temporary  # the newer (stronger) playbook's word counts
            return self._end(
                record, skipped(f"already done by {done.playbook}/{done.step_id}: not repeated")
            )
        if step.action == WAIT and live.state.fast_track_by and self._effects_after(index):
            by = live.state.fast_track_by
            return self._end(record, skipped(f"fast-track by {by}: wait skipped"))
        cleared = await self._clear(step, spec, args, context)
        if isinstance(cleared, RunOutcome):
            return cleared
        if isinstance(cleared, StepOutcome):
            return self._end(record, cleared)
        return await self._run(step, spec, args, key, record, results)

    async def _run(
        self,
        step: Step,
        spec: ActionSpec,
        args: BaseModel,
        key: str | None,
        record: StepRecord,
        results: dict[str, Any],
    ) -> RunOutcome | None:
        live = self._live
        live.set_phase(IncidentPhase.MITIGATING)
        # The step's activity is scheduled before this coroutine first yields, so the audit loop
        # (which can only run once it yields) never writes ahead of the mitigation.
        live.auditor.open()
        try:
            outcome = await self._runner.run(step, args, self._playbook.name)
        except StepFailed as exc:
            return self._fail(record, exc.detail)
        except ActivityError as exc:
            return self._fail(record, describe(exc))
        results[step.id] = outcome.result
        self._end(record, outcome)
        if outcome.verified:
            live.auditor.record(
                AuditKind.VERIFICATION_PASSED,
                f"{step.id}: {outcome.verified}",
                {"step": step.id, "action": step.action},
            )
        if key is not None:
            live.state.effects.append(
                EffectRecord(
                    key=key,
                    playbook=self._playbook.name,
                    step_id=step.id,
                    action=step.action,
                    summary=outcome.summary,
                    temporary=step.temporary,
                    compensate=step.compensate,
                    undo=outcome.undo,
                    result=outcome.result,
                )
            )
        return None

    def _effects_after(self, index: int) -> bool:
        return any(ACTIONS[s.action].destructive for s in self._playbook.steps[index + 1 :])

    async def _clear(
        self, step: Step, spec: ActionSpec, args: BaseModel, context: dict[str, Any]
    ) -> Cleared | StepOutcome | RunOutcome:
        """Every check between a rendered step and its effect, in order."""
        live = self._live
        hold = self._playbook.resolution.hold_down_seconds
        if spec.destructive and not live.firing:
            if await hold_down(live, hold):
                return skipped("the breach is resolved: a destructive step never starts after it")
            if live.interrupted():
                return RunOutcome("interrupted")
        if spec.destructive and live.inp.kill_switch:
            await self._kill_switch_notice(step, args)
            return skipped("kill switch on (settings): notify-only, no external effect")
        decided_by = live.launcher or live.state.fast_track_by
        where = f"step {step.id}: approval.when"
        if step.approval is not None and approval_applies(step.approval, context, where):
            approval = await self._desk.obtain(
                step,
                step.approval,
                args.model_dump(mode="json"),
                playbook=self._playbook.name,
                destructive=spec.destructive,
                hold_down_seconds=hold,
            )
            if approval.outcome == "interrupted":
                return RunOutcome("interrupted")
            if approval.outcome == "resolved":
                return skipped("resolved while waiting for approval: not started")
            if approval.outcome == "denied":
                return skipped(f"denied by {approval.by}: not run")
            if approval.outcome == "skipped":
                return skipped(approval.detail)
            decided_by = approval.by or decided_by
        if not spec.destructive:
            return Cleared(decided_by)
        auth = await live.authorize(
            step.action, live.key(self._playbook.name, step.id), automated=decided_by is None
        )
        if auth.allowed:
            return Cleared(decided_by)
        if auth.reason == "kill-switch":
            await self._kill_switch_notice(step, args)
        else:
            await live.page(
                f"refused/{self._playbook.name}/{step.id}", f"{step.id} not run: {auth.detail}"
            )
        return skipped(f"{auth.detail}: not run")

    async def _kill_switch_notice(self, step: Step, args: BaseModel) -> None:
        """Notify-only: tell the on-call what would have run (one page per incident run)."""
        await self._live.page(
            "kill-switch",
            f"kill switch on: notify-only. Playbook {self._playbook.name} would run {step.id}"
            f" ({step.action}); a human must act",
            details={"step": step.id, "args": args.model_dump(mode="json")},
        )

    def _end(self, record: StepRecord, outcome: StepOutcome) -> RunOutcome | None:
        """Record how the step ended; the run goes on (None)."""
        record.status = outcome.status
        record.detail = outcome.summary
        record.result = outcome.result
        self._live.auditor.record(
            outcome.kind,
            f"{record.id}: {outcome.summary}",
            {"step": record.id, "action": record.action, **outcome.result},
        )
        return None

    def _fail(self, record: StepRecord, detail: str) -> RunOutcome:
        self._live.auditor.open()
        self._end(record, StepOutcome("failed", AuditKind.STEP_FAILED, detail))
        return RunOutcome("failed", f"step {record.id} failed: {detail}")

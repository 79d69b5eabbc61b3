"""One pass of a playbook through its steps, with every policy check in front of each step.

The checks are the step gate (:mod:`orchestrator.domain.gate`, the same pure function the dry run
asks): this module only answers what the gate asks for (a hold-down, an approval, the safety
ledger) and carries out its verdict. Then the step's one activity, and its effect recorded with
how to undo it. A pass ends completed, failed (a step failed for good) or
interrupted (abort, escalation, a person's launch), and never repeats what it did on the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.actions import ACTIONS
    from orchestrator.domain.gate import ApprovalAnswer, GateFacts, Verdict, gate, prepare
    from orchestrator.domain.playbook import Playbook, Step
    from orchestrator.domain.policy import ApprovalRule
    from orchestrator.domain.policy_effects import EffectRecord
    from orchestrator.workflows import first as first_change
    from orchestrator.workflows import first_gated
    from orchestrator.workflows.approvals import ApprovalDesk
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.resolution import hold_down
    from orchestrator.workflows.step_types import StepFailed, StepOutcome, describe, needs_person
    from orchestrator.workflows.steps import EXECUTORS, StepRunner
    from orchestrator.workflows.types import FirstEffect, IncidentPhase, StepRecord


PERSON_WAIT_SECONDS = 15 * 60
"""How long a step a provider sent to a person waits before the on-call is paged again (it goes
on waiting: nobody but a person can answer the provider)."""


@dataclass
class RunOutcome:
    kind: Literal["completed", "failed", "interrupted"]
    reason: str = ""


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
        for step in self._playbook.steps:
            if self._live.interrupted():
                return RunOutcome("interrupted")
            record = StepRecord(id=step.id, action=step.action, status="running")
            self._live.state.steps.append(record)
            outcome = await self._step(step, record, results)
            if outcome is not None:
                return outcome
        return RunOutcome("completed")

    async def first_effect(self, *, gated: bool = False) -> FirstEffect | None:
        """For the key's workflow, before it starts the occurrence (:mod:`.first`): the first
        step that would run, if it is a mitigating change the gate lets run at once (after the
        safety ledger, if it asks), carried out with one attempt, and how that went. None when
        that step waits for something or is refused, or there is no such step. ``gated``: a
        flag change asks the ledger in its own activity (``first-change-gated``)."""
        live = self._live
        decided_at = workflow.now()
        results: dict[str, Any] = {}
        for step in self._playbook.steps:
            prepared = prepare(step, live.context(results))
            facts = self._facts()
            verdict = gate(self._playbook, prepared, facts)
            if verdict.kind == "skip" and verdict.done is None:
                continue
            if EXECUTORS[step.action].undo_activity is None or verdict.kind not in {
                "run",
                "authorize",
            }:
                return None
            auth = None
            if verdict.kind == "authorize":
                key = live.key(self._playbook.name, step.id)
                if gated and step.action in first_gated.GATED:
                    request = live.action_request(step.action, key, automated=verdict.automated)
                    asked = facts.answered(authorization=first_gated.ASKED_IN_THE_ACTIVITY)
                    verdict = gate(self._playbook, prepared, asked)
                    return await first_change.attempt(
                        live, self._playbook, step, verdict, decided_at, request=request
                    )
                auth = await live.authorize(step.action, key, automated=verdict.automated)
                verdict = gate(self._playbook, prepared, facts.answered(authorization=auth))
            return await first_change.attempt(
                live, self._playbook, step, verdict, decided_at, auth=auth
            )
        return None

    def _failed_by_key(self, step: Step) -> tuple[str, str | None] | None:
        """How the key's workflow's one attempt at this step failed, when it failed the way
        this run's attempts would too (a refusal, a provider asking for a person): this run
        takes that failure as its first attempt's, and does not ask the provider again."""
        first = self._live.first
        if first is None or first.status != "failed":
            return None
        if (first.playbook, first.step_id) != (self._playbook.name, step.id):
            return None
        return first.summary, first.asked

    def _made_by_key(self, step: Step, found: StepOutcome) -> tuple[StepOutcome, datetime | None]:
        """The step's outcome and when it was made: when the key's workflow made this step's
        change (this run's attempt found it in place), the change as the key made it (what was
        there before, what it wrote), made then (:mod:`.first`); else this run's, now."""
        first = self._live.first
        if first is None or first.status != "done" or found.status != "done":
            return found, None
        if (first.playbook, first.step_id) != (self._playbook.name, step.id):
            return found, None
        return first_change.outcome(first, found), first.made_at

    async def _step(
        self, step: Step, record: StepRecord, results: dict[str, Any]
    ) -> RunOutcome | None:
        live = self._live
        prepared = prepare(step, live.context(results))
        facts = self._facts()
        while True:
            verdict = gate(self._playbook, prepared, facts)
            if verdict.final:
                break
            answer = await self._answer(step, verdict, facts)
            if answer is None:
                return RunOutcome("interrupted")
            facts = answer
        record.gate = verdict.kind
        if verdict.kind == "fail":
            return self._fail(record, verdict.reason)
        if verdict.done is not None:
            results[step.id] = verdict.done.result
            verdict.done.temporary = step.temporary  # the newer (stronger) playbook's word counts
        if verdict.kind == "refuse":
            await self._refusal_notice(step, verdict)
        if verdict.kind != "run":
            return self._end(record, skipped(verdict.reason))
        return await self._run(step, verdict, record, results)

    def _facts(self) -> GateFacts:
        live = self._live
        return GateFacts(
            firing=live.firing,
            kill_switch=live.inp.kill_switch,
            launcher=live.launcher,
            fast_track_by=live.state.fast_track_by,
            effects=live.state.effects,
        )

    async def _answer(self, step: Step, verdict: Verdict, facts: GateFacts) -> GateFacts | None:
        """What the gate asked for: a hold-down, an approval, the ledger. None: interrupted."""
        live = self._live
        if verdict.kind == "hold_down":
            held = await hold_down(live, self._playbook.resolution.hold_down_seconds)
            if not held and live.interrupted():
                return None
            return facts.answered(held_down=held, firing=live.firing)
        if verdict.kind == "approval":
            assert verdict.approval is not None
            assert verdict.args is not None
            approval = await self._desk.obtain(
                step,
                verdict.approval,
                verdict.args.model_dump(mode="json"),
                playbook=self._playbook.name,
                destructive=ACTIONS[step.action].destructive,
                hold_down_seconds=self._playbook.resolution.hold_down_seconds,
            )
            if approval.outcome == "interrupted":
                return None
            answer = ApprovalAnswer(approval.outcome, by=approval.by, detail=approval.detail)
            return facts.answered(approval=answer)
        auth = await live.authorize(
            step.action, live.key(self._playbook.name, step.id), automated=verdict.automated
        )
        return facts.answered(authorization=auth)

    async def _run(
        self, step: Step, verdict: Verdict, record: StepRecord, results: dict[str, Any]
    ) -> RunOutcome | None:
        live = self._live
        assert verdict.args is not None
        key = verdict.effect_key
        live.set_phase(IncidentPhase.MITIGATING)
        # The step's activity is scheduled before this coroutine first yields, so the audit loop
        # (which can only run once it yields) never writes ahead of the mitigation; since
        # ``audit-after-first-effect`` it waits until the activity has finished, so it does not
        # write beside it either (every exit below opens it: nothing recorded is left unwritten).
        if not live.audit_after_effect:
            live.auditor.open()
        failed_by_key = self._failed_by_key(step)
        while True:
            try:
                if failed_by_key is None:
                    outcome = await self._runner.run(step, verdict.args, self._playbook.name)
                    break
                (detail, asked), failed_by_key = failed_by_key, None
            except StepFailed as exc:
                return self._fail(record, exc.detail)
            except ActivityError as exc:
                detail = describe(exc)
                asked = needs_person(exc) if live.provider_waits else None
            if asked is None:
                return self._fail(record, detail)
            answer = await self._ask_person(step, verdict, record, asked)
            if answer != "retry":
                return answer  # failed, interrupted, or skipped (None: the run goes on)
            live.set_phase(IncidentPhase.MITIGATING)
        live.auditor.open()
        outcome, made_at = self._made_by_key(step, outcome)
        results[step.id] = outcome.result
        with live.auditor.dated(made_at):
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

    async def _ask_person(
        self, step: Step, verdict: Verdict, record: StepRecord, asked: str
    ) -> RunOutcome | Literal["retry"] | None:
        """The provider needs a person (approval required, a long rate limit): wait for one.
        ``retry`` when approved; None when the breach resolved meanwhile (the step is skipped and
        the run goes on); a failed or interrupted run otherwise."""
        assert verdict.args is not None
        rule = ApprovalRule(
            timeout_seconds=PERSON_WAIT_SECONDS,
            on_timeout="escalate",
            reason=f"the provider needs a person: {asked}"[:500],
        )
        approval = await self._desk.obtain(
            step,
            rule,
            verdict.args.model_dump(mode="json"),
            playbook=self._playbook.name,
            destructive=ACTIONS[step.action].destructive,
            hold_down_seconds=self._playbook.resolution.hold_down_seconds,
        )
        if approval.outcome == "interrupted":
            return RunOutcome("interrupted")
        if approval.outcome == "resolved":
            return self._end(record, skipped(f"not tried again, the breach resolved: {asked}"))
        if approval.outcome == "denied":
            return self._fail(record, f"{asked}; {approval.by} denied trying again")
        self._live.auditor.record(
            AuditKind.NOTE,
            f"{step.id}: {approval.by or 'a person'} answered the provider; trying again",
            {"step": step.id, "provider": asked},
        )
        return "retry"

    async def _refusal_notice(self, step: Step, verdict: Verdict) -> None:
        """A safety switch said no: the kill switch notifies, the circuit breaker pages."""
        if verdict.refused_by == "circuit-breaker":
            await self._live.page(
                f"refused/{self._playbook.name}/{step.id}", f"{step.id} not run: {verdict.detail}"
            )
            return
        assert verdict.args is not None
        await self._kill_switch_notice(step, verdict.args)

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

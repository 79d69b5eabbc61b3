"""Approvals in the running incident: ask, wait, and take a person's decision.

The rules (who may approve, when it counts as granted) are pure functions in
``orchestrator.domain.policy_approval``; this is the workflow side: the pending approval in the
queryable state, the wait with the playbook's timeout and its stated outcome, the page asking for a
decision, and the audit of who decided and when. Decisions arrive as the ``decide`` update (the
CLI's ``orchestrator approve|deny``, the HTTP API), validated before they reach the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.playbook import Step
    from orchestrator.domain.policy import ApprovalRule
    from orchestrator.domain.policy_approval import (
        ApprovalDecision,
        PendingApproval,
        Verdict,
        fast_track_verdict,
        judge,
        verdict,
    )
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.resolution import hold_down
    from orchestrator.workflows.types import ControlAck, IncidentPhase

Outcome = Literal["granted", "proceed", "denied", "skipped", "resolved", "interrupted"]


@dataclass
class Approval:
    outcome: Outcome
    by: str | None = None
    """Who granted or denied it (comma-separated for two people); None when nobody did."""
    detail: str = ""


class ApprovalDesk:
    def __init__(self, live: Live) -> None:
        self._live = live
        self._decided: Verdict | None = None
        self._deciders: list[str] = []

    @property
    def pending(self) -> PendingApproval | None:
        return self._live.state.pending_approval

    def refusal(self, decision: ApprovalDecision) -> str | None:
        """Why the update is refused (the validator's answer), or None."""
        return judge(self.pending, decision)

    def decide(self, decision: ApprovalDecision) -> ControlAck:
        """Take a validated decision (the update handler)."""
        pending = self.pending
        assert pending is not None
        by = decision.by.strip()
        outcome = verdict(pending, decision)
        data = {"step": pending.step_id, "by": by, "reason": decision.reason}
        if outcome == "denied":
            self._live.auditor.record(
                AuditKind.APPROVAL_DENIED,
                f"{by} denied {pending.step_id}: {decision.reason or 'no reason given'}",
                data,
                actor=by,
            )
            self._deciders = [by]
        else:
            pending.approvals.append(by)
            self._live.auditor.record(
                AuditKind.APPROVAL_GRANTED,
                f"{by} approved {pending.step_id} ({len(pending.approvals)} of {pending.needed})",
                {**data, "approvals": list(pending.approvals), "needed": pending.needed},
                actor=by,
            )
            self._deciders = list(pending.approvals)
        if outcome != "waiting":
            self._decided = outcome
        detail = {
            "granted": f"{pending.step_id} approved",
            "denied": f"{pending.step_id} denied: it will not run",
            "waiting": f"{pending.step_id} needs a second person to approve",
        }[outcome]
        return ControlAck(
            incident_id=self._live.inp.incident_id,
            outcome=outcome,
            step_id=pending.step_id,
            detail=detail,
        )

    async def obtain(
        self,
        step: Step,
        rule: ApprovalRule,
        args: dict[str, Any],
        *,
        playbook: str,
        destructive: bool,
        hold_down_seconds: float,
    ) -> Approval:
        """Ask for approval of ``step`` and wait for the decision (or the rule's timeout)."""
        live = self._live
        pending = PendingApproval(
            step_id=step.id,
            playbook=playbook,
            action=step.action,
            args=args,
            requested_at=workflow.now(),
            timeout_seconds=rule.timeout_seconds,
            on_timeout=rule.on_timeout,
            two_person=rule.two_person,
            launcher=live.launcher,
            reason=rule.reason,
        )
        live.state.pending_approval = pending
        self._decided, self._deciders = None, []
        live.set_phase(IncidentPhase.AWAITING_APPROVAL)
        live.auditor.open()
        live.auditor.record(
            AuditKind.APPROVAL_REQUESTED,
            f"{step.id} ({step.action}) needs approval"
            + (" by two people" if pending.needed == 2 else "")
            + (" (two-person rule: not by the launcher)" if rule.two_person else "")
            + f"; {rule.on_timeout} after {rule.timeout_seconds:g}s",
            pending.model_dump(mode="json"),
        )
        closed = False
        try:
            return await self._wait(pending, rule, step, playbook, destructive, hold_down_seconds)
        except GeneratorExit:
            closed = True  # see the module doc of .live: a closed coroutine issues nothing
            raise
        finally:
            if not closed:
                live.state.pending_approval = None
                live.set_phase(IncidentPhase.MITIGATING)

    def _fast_track(self, pending: PendingApproval) -> Approval | None:
        by = self._live.state.fast_track_by
        if by is None:
            return None
        if fast_track_verdict(pending, by) == "granted":
            self._live.auditor.record(
                AuditKind.APPROVAL_GRANTED,
                f"{pending.step_id} approved by fast-track: {by} (on-call) skipped the wait",
                {"step": pending.step_id, "by": by, "fast_track": True},
                actor=by,
            )
            return Approval("granted", by=by, detail="fast-track")
        self._live.auditor.record(
            AuditKind.NOTE,
            f"fast-track by {by} does not bypass the two-person rule on {pending.step_id}:"
            " waiting for a second person",
            {"step": pending.step_id, "fast_track": True},
        )
        return None

    async def _wait(
        self,
        pending: PendingApproval,
        rule: ApprovalRule,
        step: Step,
        playbook: str,
        destructive: bool,
        hold_down_seconds: float,
    ) -> Approval:
        live = self._live
        fast = self._fast_track(pending)
        if fast is not None:
            return fast
        decide = f"orchestrator approve {live.inp.incident_id} --by NAME (or deny)"
        await live.page(
            f"approval/{playbook}/{step.id}",
            f"step {step.id} ({step.action}) waits for approval: {decide}",
            details={"step": step.id, "args": pending.args},
        )
        deadline = workflow.now() + timedelta(seconds=rule.timeout_seconds)
        while True:
            left = None if pending.escalated else max(deadline - workflow.now(), timedelta(0))
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._decided is not None
                        or live.interrupted()
                        or (destructive and not live.firing)
                    ),
                    timeout=left,
                )
            except TimeoutError:
                timed_out = await self._timed_out(pending, rule, step, playbook)
                if timed_out is not None:
                    return timed_out
                continue
            if self._decided is not None:
                outcome: Outcome = "granted" if self._decided == "granted" else "denied"
                return Approval(outcome, by=", ".join(self._deciders))
            if live.interrupted():
                return Approval("interrupted")
            if await hold_down(live, hold_down_seconds):
                return Approval("resolved")
            if live.interrupted():
                return Approval("interrupted")
            live.set_phase(IncidentPhase.AWAITING_APPROVAL)

    async def _timed_out(
        self, pending: PendingApproval, rule: ApprovalRule, step: Step, playbook: str
    ) -> Approval | None:
        live = self._live
        waited = f"no decision on {step.id} within {rule.timeout_seconds:g}s"
        data = {"step": step.id, "approval": "timed-out", "outcome": rule.on_timeout}
        if rule.on_timeout == "proceed":
            live.auditor.record(AuditKind.NOTE, f"{waited}: the playbook says proceed", data)
            return Approval("proceed", detail=waited)
        if rule.on_timeout == "skip":
            live.auditor.record(AuditKind.NOTE, f"{waited}: the playbook says skip it", data)
            return Approval("skipped", detail=f"{waited}; skipped as the playbook says")
        pending.escalated = True
        paged = await live.page(
            f"approval-timeout/{playbook}/{step.id}",
            f"{waited}; a person must decide: orchestrator approve|deny {live.inp.incident_id}",
            details={"step": step.id},
        )
        who = paged.page.target if paged else "nobody (the page failed)"
        live.auditor.record(
            AuditKind.ESCALATED, f"{waited}: escalated, paged {who}; still waiting", data
        )
        return None

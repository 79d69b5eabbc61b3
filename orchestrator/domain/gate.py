"""The step gate: for one step and what the incident knows now, run it, skip it, wait, or refuse.

Pure. The workflow (:mod:`orchestrator.workflows.playbook_run`) and the dry run
(``orchestrator playbooks plan``, :mod:`orchestrator.domain.policy_plan`) both ask :func:`gate`, so
the plan printed before production cannot disagree with what runs. A verdict that asks for
something (a hold-down, an approval, the safety ledger's answer) is answered by the caller, which
asks the gate again with the answer in :class:`GateFacts`:

1. ``when`` false -> skip; a ``when`` that cannot be evaluated -> skip (said so)
2. arguments that do not render -> fail (the playbook stops)
3. the same effect already in place (an escalation) -> skip, not repeated
4. a recovery wait on a fast-track with mitigations after it -> skip
5. destructive while the breach is resolved -> hold down; if the resolution holds -> skip
6. destructive with the kill switch in the input (histories of earlier releases) -> refuse
7. the step's approval rule applies -> wait for approval; denied / timed out to skip -> skip
8. destructive -> ask the shared safety ledger (kill switch, circuit breaker); no -> refuse
9. run
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel

from orchestrator.domain.actions import ACTIONS
from orchestrator.domain.ops_models import Authorization
from orchestrator.domain.playbook import Playbook, Step
from orchestrator.domain.policy import ApprovalRule
from orchestrator.domain.policy_approval import approval_applies
from orchestrator.domain.policy_effects import EffectRecord, already_done, effect_key
from orchestrator.domain.step_args import render_step_args
from orchestrator.domain.templating import evaluate_condition
from orchestrator.errors import PlaybookError

WAIT_FOR_RECOVERY = "incident.wait_for_recovery"

VerdictKind = Literal["run", "skip", "fail", "hold_down", "approval", "authorize", "refuse"]
FINAL_KINDS = frozenset({"run", "skip", "fail", "refuse"})
"""Verdicts that end the gate for a step; the others ask the caller for something first."""
ApprovalOutcome = Literal["granted", "proceed", "denied", "skipped", "resolved"]
RefusedBy = Literal["kill-switch-settings", "kill-switch", "circuit-breaker"]


@dataclass(frozen=True)
class Prepared:
    """A step with its ``when`` evaluated and its arguments rendered, once, in one context."""

    step: Step
    args: BaseModel | None = None
    skip: str | None = None
    """Why the step does not run (its ``when``), if it does not."""
    error: str | None = None
    """Why its arguments do not render, if they do not."""
    approval: ApprovalRule | None = None
    """The approval rule that applies in this incident (its own ``when`` holds), if any."""


@dataclass(frozen=True)
class ApprovalAnswer:
    outcome: ApprovalOutcome
    by: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class GateFacts:
    """What the incident knows when it asks about a step."""

    firing: bool = True
    kill_switch: bool = False
    """The start-up kill switch earlier releases copied into the incident's input (their
    histories replay with it); new incidents meet the kill switch at the ledger (``_ledger``)."""
    launcher: str | None = None
    fast_track_by: str | None = None
    effects: Sequence[EffectRecord] = ()
    held_down: bool | None = None
    """None: not asked yet; True: the resolution held through the hold-down; False: it fired."""
    approval: ApprovalAnswer | None = None
    authorization: Authorization | None = None

    def answered(self, **answers: Any) -> GateFacts:
        return replace(self, **answers)


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    reason: str = ""
    args: BaseModel | None = None
    effect_key: str | None = None
    done: EffectRecord | None = None
    """The earlier record of the same effect (skip: already done)."""
    approval: ApprovalRule | None = None
    """The rule to wait on (``approval``)."""
    decided_by: str | None = None
    """The person whose decision lets it run (None: automation)."""
    refused_by: RefusedBy | None = None
    detail: str = ""
    """The safety ledger's own words, when it refused."""

    @property
    def final(self) -> bool:
        return self.kind in FINAL_KINDS

    @property
    def automated(self) -> bool:
        return self.decided_by is None


def prepare(step: Step, context: Mapping[str, Any]) -> Prepared:
    """Evaluate ``when``, render the arguments and the approval rule's ``when`` in ``context``."""
    if step.when:
        try:
            if not evaluate_condition(step.when, context):
                return Prepared(step, skip=f"condition not met: {step.when}")
        except PlaybookError as exc:
            return Prepared(step, skip=f"condition could not be evaluated ({exc})")
    try:
        args = render_step_args(step, context)
    except PlaybookError as exc:
        return Prepared(step, error=str(exc))
    rule = step.approval
    applies = approval_applies(rule, context, f"step {step.id}: approval.when")
    return Prepared(step, args=args, approval=rule if applies else None)


def _effects_after(playbook: Playbook, step: Step) -> bool:
    later = playbook.steps[playbook.steps.index(step) + 1 :]
    return any(ACTIONS[s.action].destructive for s in later)


def gate(playbook: Playbook, prepared: Prepared, facts: GateFacts) -> Verdict:
    """The verdict on ``prepared`` (a step of ``playbook``) given ``facts``; see the module doc."""
    if prepared.skip is not None:
        return Verdict("skip", prepared.skip)
    if prepared.args is None:
        return Verdict("fail", prepared.error or "arguments did not render")
    spec = ACTIONS[prepared.step.action]
    base = Verdict("run", args=prepared.args, effect_key=effect_key(spec, prepared.args))
    for stage in (_repetition, _resolution, _start_up_switch, _approval, _ledger):
        verdict = stage(playbook, prepared, facts, base)
        if verdict.kind != "run":
            return verdict
        base = verdict
    return base


def _repetition(playbook: Playbook, prepared: Prepared, facts: GateFacts, base: Verdict) -> Verdict:
    """Not twice the same effect (escalation), no recovery wait on a fast-track."""
    step = prepared.step
    done = already_done(facts.effects, base.effect_key)
    if done is not None:
        why = f"already done by {done.playbook}/{done.step_id}: not repeated"
        return replace(base, kind="skip", reason=why, done=done)
    if step.action == WAIT_FOR_RECOVERY and facts.fast_track_by and _effects_after(playbook, step):
        why = f"fast-track by {facts.fast_track_by}: wait skipped"
        return replace(base, kind="skip", reason=why)
    return base


def _resolution(_: Playbook, prepared: Prepared, facts: GateFacts, base: Verdict) -> Verdict:
    """A destructive step never starts once the breach has resolved (after the hold-down)."""
    if not ACTIONS[prepared.step.action].destructive or facts.firing:
        return base
    if facts.held_down is None:
        return replace(base, kind="hold_down")
    if facts.held_down:
        why = "the breach is resolved: a destructive step never starts after it"
        return replace(base, kind="skip", reason=why)
    return base


def _start_up_switch(_: Playbook, prepared: Prepared, facts: GateFacts, base: Verdict) -> Verdict:
    if ACTIONS[prepared.step.action].destructive and facts.kill_switch:
        why = "kill switch on (settings): notify-only, no external effect"
        return replace(base, kind="refuse", reason=why, refused_by="kill-switch-settings")
    return base


def _approval(_: Playbook, prepared: Prepared, facts: GateFacts, base: Verdict) -> Verdict:
    """The step's approval rule, when it applies; who decided (None: automation)."""
    decided_by = facts.launcher or facts.fast_track_by
    if prepared.approval is not None:
        answer = facts.approval
        if answer is None:
            return replace(base, kind="approval", approval=prepared.approval)
        skip = {
            "resolved": "resolved while waiting for approval: not started",
            "denied": f"denied by {answer.by}: not run",
            "skipped": answer.detail,
        }.get(answer.outcome)
        if skip is not None:
            return replace(base, kind="skip", reason=skip)
        decided_by = answer.by or decided_by
    return replace(base, decided_by=decided_by)


def _ledger(_: Playbook, prepared: Prepared, facts: GateFacts, base: Verdict) -> Verdict:
    """The safety ledger (kill switch at run time, circuit breaker) before a destructive effect."""
    if not ACTIONS[prepared.step.action].destructive:
        return base
    auth = facts.authorization
    if auth is None:
        return replace(base, kind="authorize")
    if auth.allowed:
        return base
    refused: RefusedBy = "kill-switch" if auth.reason == "kill-switch" else "circuit-breaker"
    why = f"{auth.detail}: not run"
    return replace(base, kind="refuse", reason=why, refused_by=refused, detail=auth.detail)

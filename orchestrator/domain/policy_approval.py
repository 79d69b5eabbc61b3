"""Approval decisions: who may approve a step, when it is granted, what a timeout does. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.domain.policy import ApprovalRule, ApprovalTimeoutOutcome
from orchestrator.domain.templating import evaluate_condition

Verdict = Literal["granted", "denied", "waiting"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApprovalDecision(_Frozen):
    """A person's answer to a pending approval (``orchestrator approve|deny ID --by NAME``)."""

    approve: bool
    by: str = Field(max_length=128)
    step_id: str | None = Field(default=None, max_length=63)
    """The step being decided; None: whichever step is pending."""
    reason: str = Field(default="", max_length=2000)


class PendingApproval(BaseModel):
    """A step waiting for approval, as the ``state`` query shows it."""

    model_config = ConfigDict(extra="forbid")

    step_id: str
    playbook: str
    action: str
    args: dict[str, Any]
    requested_at: datetime
    timeout_seconds: float
    on_timeout: ApprovalTimeoutOutcome
    two_person: bool
    launcher: str | None
    """Who launched the incident (or the playbook) by hand; None when automation did."""
    approvals: list[str] = Field(default_factory=list)
    """Who approved so far (a two-person rule may need two)."""
    escalated: bool = False
    reason: str = ""

    @property
    def needed(self) -> int:
        return approvals_needed(self.two_person, self.launcher)


def approval_applies(rule: ApprovalRule | None, context: Mapping[str, Any], where: str) -> bool:
    """True when the step needs approval in this incident (the rule exists and its ``when``
    holds). An expression that cannot be evaluated asks for approval: the safe side."""
    if rule is None:
        return False
    if rule.when is None:
        return True
    try:
        return evaluate_condition(rule.when, context, where)
    except Exception:
        return True


def approvals_needed(two_person: bool, launcher: str | None) -> int:
    """Two-person rule: a person who launched it plus one approver, or two approvers."""
    return 2 if two_person and launcher is None else 1


def judge(pending: PendingApproval | None, decision: ApprovalDecision) -> str | None:
    """Why the decision is refused (one line for the person who sent it), or None to accept."""
    if pending is None:
        return "no step of this incident is waiting for approval"
    by = decision.by.strip()
    if not by:
        return "say who decides (--by NAME): approvals are recorded by person"
    if decision.step_id is not None and decision.step_id != pending.step_id:
        return f"step {decision.step_id!r} is not waiting for approval; {pending.step_id!r} is"
    if not decision.approve:
        return None
    if pending.two_person and pending.launcher is not None and by == pending.launcher:
        return (
            f"two-person rule: {by} launched this and may not approve step {pending.step_id!r};"
            " another person must"
        )
    if by in pending.approvals:
        return f"{by} already approved step {pending.step_id!r}; a second person must approve"
    return None


def verdict(pending: PendingApproval, decision: ApprovalDecision) -> Verdict:
    """The effect of an accepted decision: a denial ends it, approvals count up to the need."""
    if not decision.approve:
        return "denied"
    return "granted" if len(pending.approvals) + 1 >= pending.needed else "waiting"


def fast_track_verdict(pending: PendingApproval, by: str) -> Verdict:
    """A fast-track by on-call grants a one-person approval at once; a two-person rule still needs
    someone other than the person who fast-tracked (it is never bypassed)."""
    if pending.two_person:
        return "waiting"
    return "granted" if by.strip() else "waiting"

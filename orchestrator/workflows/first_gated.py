"""The key's first flag change through the activity that asks the safety ledger itself (issue 15).

Patch ``first-change-gated``: where the key's first change (:mod:`.first`) is a flag step, the
gate is told the ledger will be asked by the change's own activity
(:mod:`orchestrator.activities.gated`) and the step runs through it: no local activity, and no
second workflow task, stand before the change. Allowed, the activity makes it and returns the
ledger's answer; refused or unanswered, it changes nothing and fails for good with the answer,
and the key leaves the step to the occurrence, whose own gate asks the ledger as it always has.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from orchestrator.activities.types import (
        ACTION_REFUSED,
        APPLY_GATED_FLAG_CHANGE,
        GatedFlagChangeInput,
        GatedFlagChangeResult,
    )
    from orchestrator.domain.actions import RouteSegmentArgs, SetDefaultArgs
    from orchestrator.domain.ops_models import ActionRequest, Authorization, KillSwitch
    from orchestrator.domain.playbook import Step
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.step_types import StepOutcome
    from orchestrator.workflows.steps import StepRunner, flag_outcome

PATCH_GATED_FIRST = "first-change-gated"
"""The key's first change of a flag asks the safety ledger in its own activity
(:mod:`orchestrator.activities.gated`) instead of a local activity before it."""
GATED = frozenset({"flag.route_segment", "flag.set_default"})
"""The actions whose first change the key makes through a gated activity."""
ASKED_IN_THE_ACTIVITY = Authorization(
    allowed=True,
    reason="allowed",
    detail="to be asked by the change's own activity",
    kill_switch=KillSwitch(),
)
"""What the gate is told while the ledger's answer is still to come from the activity: the step's
arguments, if it would run; the activity then asks, and acts only if allowed."""


async def gated_flag_change(
    live: Live, step: Step, args: BaseModel, request: ActionRequest
) -> tuple[StepOutcome, Authorization]:
    """The step's flag change through the activity that asks the safety ledger first: its
    outcome and the ledger's answer. A refusal fails it (:func:`refused` tells it so)."""
    assert isinstance(args, RouteSegmentArgs | SetDefaultArgs)
    change = StepRunner(live).flag_change(step, args)
    timeout = timedelta(seconds=step.timeout_seconds)
    gated: GatedFlagChangeResult = await workflow.execute_activity(
        APPLY_GATED_FLAG_CHANGE,
        GatedFlagChangeInput(change=change, request=request),
        result_type=GatedFlagChangeResult,
        start_to_close_timeout=timeout,
        schedule_to_close_timeout=live.effect_budget(timeout),
        retry_policy=live.effect_retry,
    )
    return flag_outcome(change, gated.result, args), gated.authorization


def refused(exc: ActivityError) -> bool:
    """Whether a gated change failed because the safety ledger did not allow it (by the error's
    type alone: its details, the answer, are for people reading the history)."""
    cause = exc.cause
    return isinstance(cause, ApplicationError) and cause.type == ACTION_REFUSED

"""The first mitigating change, made in the workflow task the breach signal reaches (issue 15).

A breach signal reaches its key's workflow (:mod:`.incident_key`); the occurrence it opens is a
child workflow, whose start and first task are two engine round trips more before any change.
Since ``first-change-in-key`` the key's workflow decides as the occurrence will (the same code:
:meth:`IncidentWorkflow.first_change`, on the same input) and carries out the playbook's first
mitigating step itself, in the task that took the signal: the step gate (the safety ledger as a
local activity) and the step's one activity, tried once. Then it starts the occurrence with the
outcome (:class:`~orchestrator.workflows.types.FirstEffect`), which records that step as its own:
same audit events, same effect record and undo, no second activity.

What the key's workflow does not do: wait (an approval, a hold-down, a person the provider asks
for), page, retry. When the first mitigating step needs any of that, or its one attempt fails,
the occurrence runs the step itself, as before (every effect is idempotent by its key, so an
attempt that did land is found in place). When the occurrence decides differently (a signal
arrived before it started and raised the severity), it records the change made as an effect in
place, so the new plan skips it if it makes the same change and the incident undoes it at the end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.actions import ACTIONS
    from orchestrator.domain.ops_models import Authorization
    from orchestrator.domain.playbook import Playbook, Step
    from orchestrator.domain.policy_effects import EffectRecord
    from orchestrator.errors import PERMANENT_ERROR_TYPE
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.step_types import EFFECT_RETRY, StepFailed, StepOutcome, describe
    from orchestrator.workflows.steps import StepRunner
    from orchestrator.workflows.types import FirstEffect, IncidentState, StepRecord

PATCH_FIRST_CHANGE = "first-change-in-key"
ATTEMPTED = "\0attempted"
"""Marks a failure that may have landed (a timeout, a passing error): not the step's outcome."""
FIRST_TRY = RetryPolicy(maximum_attempts=1, non_retryable_error_types=[PERMANENT_ERROR_TYPE])
"""The key's workflow tries the first change once: a retry (with its backoff) is the
occurrence's, which can be aborted and queried meanwhile."""


def made(
    playbook: Playbook,
    step: Step,
    args: BaseModel,
    *,
    signals: int,
    severity: str,
    authorization: Authorization | None,
    effect_key: str | None,
    outcome: StepOutcome | None,
    failed: tuple[str, str | None] | None = None,
    decided_at: datetime | None = None,
) -> FirstEffect:
    """What the key's workflow hands the occurrence: the step's outcome, or how it failed (the
    failure's words, and what the provider asks of a person, if it asks)."""
    decided = {
        "playbook": playbook.name,
        "step_id": step.id,
        "action": step.action,
        "args": args.model_dump(mode="json"),
        "signals": signals,
        "severity": severity,
        "authorization": authorization,
        "effect_key": effect_key,
        "temporary": step.temporary,
        "compensate": step.compensate,
        "decided_at": decided_at,
        "made_at": workflow.now(),
    }
    if outcome is None:
        detail, asked = failed or ("no outcome", None)
        if asked == ATTEMPTED:  # it may have landed: the occurrence runs the step, or settles it
            return FirstEffect(**decided, status="attempted", kind=AuditKind.NOTE, summary=detail)
        return FirstEffect(
            **decided,
            status="failed",
            kind=AuditKind.STEP_FAILED,
            summary=detail,
            asked=asked,
        )
    return FirstEffect(
        **decided,
        status=outcome.status,
        kind=outcome.kind,
        summary=outcome.summary,
        result=outcome.result,
        undo=outcome.undo,
        verified=outcome.verified,
    )


def final(exc: ActivityError) -> bool:
    """A failure the occurrence's retries would not retry either (a permanent error, a provider
    asking for a person): the step's own outcome. Other failures are tried again there."""
    cause = exc.cause
    if not isinstance(cause, ApplicationError):
        return False
    return cause.non_retryable or cause.type in (EFFECT_RETRY.non_retryable_error_types or ())


class FailedFirst(Exception):  # noqa: N818 - reads as what happened
    """The first change failed in the key's workflow the way the step's own attempts would."""

    def __init__(self, detail: str, asked: str | None) -> None:
        self.detail = detail
        self.asked = asked
        super().__init__(detail)


def is_for(first: FirstEffect, playbook: str, step: Step, args: Any) -> bool:
    """Whether ``first`` is the outcome of this step with these arguments."""
    return (
        first.playbook == playbook
        and first.step_id == step.id
        and first.action == step.action
        and isinstance(args, BaseModel)
        and first.args == args.model_dump(mode="json")
    )


def outcome(first: FirstEffect) -> StepOutcome:
    """The step's outcome; :class:`FailedFirst` when the change failed."""
    if first.status == "failed":
        raise FailedFirst(first.summary, first.asked)
    return StepOutcome(
        first.status, first.kind, first.summary, dict(first.result), first.undo, first.verified
    )


def adopt(state: IncidentState, first: FirstEffect, record: Any) -> None:
    """Record the change the key's workflow made as an effect in place, for an occurrence that
    decided otherwise: its plan skips the same change and the incident undoes it at the end.
    ``record`` is the auditor's ``record`` (dated by the caller). A change that failed is only
    noted."""
    if first.status in ("failed", "attempted"):
        how = "failed" if first.status == "failed" else "was tried (outcome unknown: check it)"
        record(
            AuditKind.NOTE,
            f"{first.step_id} (playbook {first.playbook}) {how} as the occurrence opened:"
            f" {first.summary}; it has decided again since",
            {"step": first.step_id, "action": first.action},
        )
        return
    state.steps.append(
        StepRecord(
            id=first.step_id,
            action=first.action,
            status=first.status,
            gate="run",
            detail=first.summary,
            result=dict(first.result),
        )
    )
    record(
        first.kind,
        f"{first.step_id}: {first.summary} (playbook {first.playbook}, made as the occurrence"
        " opened; it has decided again since)",
        {"step": first.step_id, "action": first.action, **first.result},
    )
    if first.effect_key is not None:
        state.effects.append(
            EffectRecord(
                key=first.effect_key,
                playbook=first.playbook,
                step_id=first.step_id,
                action=first.action,
                summary=first.summary,
                temporary=first.temporary,
                compensate=first.compensate,
                undo=first.undo,
                result=dict(first.result),
            )
        )


async def take_over(live: Live, first: FirstEffect) -> None:
    """Make the key's change this run's effect in place (it decided otherwise, or stopped before
    that step). An attempt whose outcome is unknown is settled first while the breach still
    fires and nobody aborted: the same step of the same playbook runs again with every retry
    (its idempotency keys find what the attempt made), so what is in place is known, recorded,
    and undone at the end. Resolved or aborted, nothing starts: the attempt is noted for a
    person (a resolved breach never starts a destructive change)."""
    if first.status == "attempted" and live.firing and live.abort is None:
        first = await _settled(live, first)
    with live.auditor.dated(first.made_at):
        adopt(live.state, first, live.auditor.record)


async def _settled(live: Live, first: FirstEffect) -> FirstEffect:
    found = [(p, s) for p in live.inp.candidates for s in p.steps if p.name == first.playbook]
    playbook, step = next(((p, s) for p, s in found if s.id == first.step_id), (None, None))
    if playbook is None or step is None:  # not among the candidates: cannot be
        return first
    args = ACTIONS[first.action].args_model.model_validate(first.args)
    outcome, failed = None, None
    try:
        outcome = await StepRunner(live).run(step, args, playbook.name)
    except StepFailed as exc:
        failed = (exc.detail, None)
    except ActivityError as exc:
        failed = (describe(exc), None)
    return made(
        playbook,
        step,
        args,
        signals=first.signals,
        severity=first.severity,
        authorization=first.authorization,
        effect_key=first.effect_key,
        outcome=outcome,
        failed=failed,
        decided_at=first.decided_at,
    )


def in_place(state: IncidentState) -> str:
    """``; left in place: ...`` for the effects not undone (an occurrence that found no playbook
    after its key made the first change), else ``""``."""
    left = [e.summary for e in state.effects if not e.undone]
    return f"; left in place: {'; '.join(left)}" if left else ""


def unused(first: FirstEffect | None, severity: str | None, signals: int, chosen: str) -> bool:
    """The occurrence did not decide as the key's workflow did (its input differs): the first
    change is adopted as an effect in place instead of taken as its step's outcome."""
    if first is None:
        return False
    return first.severity != severity or first.signals != signals or first.playbook != chosen

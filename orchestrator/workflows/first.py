"""The first mitigating change, made in the workflow task the breach signal reaches (issue 15).

A breach signal reaches its key's workflow (:mod:`.incident_key`); the occurrence it opens is a
child workflow, whose start and first task are two engine round trips more before any change.
Since ``first-change-in-key`` the key's workflow decides as the occurrence will (the same code:
:meth:`IncidentWorkflow.first_change`, on the same input) and carries out the playbook's first
mitigating step itself, in the task that took the signal: the step gate (the safety ledger as a
local activity; for a flag change since ``first-change-gated``, asked by the change's own
activity, :mod:`.first_gated`) and the step's one activity, tried once, with the occurrence's own
idempotency keys and holder. Then it starts the occurrence, telling it what it did
(:class:`~orchestrator.workflows.types.FirstEffect`).

The occurrence runs its playbook as it always has: its first step asks the ledger (which answers
"authorized before") and runs its activity, which finds the change in place by its keys and
returns the same outcome (and undo) without writing again. What the key did never changes which
commands the occurrence issues; it only adds records: the occurrence's opening is dated when the
key decided, and a note says when and by whom the change was made. When the occurrence decides
otherwise (a signal reached it before its first task) or stops before that step, it records the
key's change as an effect in place, so no plan repeats it and the incident undoes it at the end;
an attempt of unknown outcome is settled first by running that step (while the breach fires).
What the key's workflow does not do: wait (an approval, a hold-down, a person the provider asks
for), page, retry: all that stays with the occurrence.
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
    from orchestrator.domain.gate import Verdict
    from orchestrator.domain.ops_models import ActionRequest, Authorization
    from orchestrator.domain.playbook import Playbook, Step
    from orchestrator.domain.policy_effects import EffectRecord
    from orchestrator.errors import PERMANENT_ERROR_TYPE
    from orchestrator.workflows import first_gated
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.step_types import (
        EFFECT_RETRY,
        StepFailed,
        StepOutcome,
        describe,
        needs_person,
    )
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


async def attempt(
    live: Live,
    playbook: Playbook,
    step: Step,
    verdict: Verdict,
    decided_at: datetime,
    *,
    auth: Authorization | None = None,
    request: ActionRequest | None = None,
) -> FirstEffect | None:
    """The key's one attempt at the first step, if the gate says run: ``auth``, the ledger's
    answer asked before it; or ``request``, to be asked by the activity that makes the change
    (:mod:`.first_gated`; a refusal: None, as the ledger's no before)."""
    if verdict.kind != "run" or verdict.args is None:
        return None
    failed: tuple[str, str | None] | None = None
    outcome = None
    try:
        if request is None:
            outcome = await StepRunner(live).run(step, verdict.args, playbook.name)
        else:
            outcome, auth = await first_gated.gated_flag_change(live, step, verdict.args, request)
    except StepFailed as exc:
        failed = (exc.detail, None)
    except ActivityError as exc:
        if request is not None and first_gated.refused(exc):
            return None  # the ledger said no: the occurrence asks it again, and is told so
        if not final(exc):  # it may have landed: the occurrence finds out
            failed = (describe(exc), ATTEMPTED)
        else:
            failed = (describe(exc), needs_person(exc) if live.provider_waits else None)
    assert live.severity is not None
    return made(
        playbook,
        step,
        verdict.args,
        signals=len(live.signals),
        severity=live.severity.value,
        authorization=auth,
        effect_key=verdict.effect_key,
        outcome=outcome,
        failed=failed,
        decided_at=decided_at,
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


def outcome(first: FirstEffect, found: StepOutcome) -> StepOutcome:
    """The outcome of a step whose change the key's workflow made, for the occurrence whose own
    attempt (``found``) found it in place: what the key's attempt changed and how to undo it."""
    return StepOutcome(
        first.status,
        first.kind,
        first.summary,
        dict(first.result),
        first.undo or found.undo,
        first.verified or found.verified,
    )


def handled_here(state: IncidentState, first: FirstEffect) -> bool:
    """Whether this run's own step took up what the key's workflow did: a failure, by reaching
    that step (it took the failure as its own); a change made or maybe made, by having it as an
    effect (the step ran and found it in place)."""
    if first.status == "failed":
        return any(s.id == first.step_id and s.status != "running" for s in state.steps)
    if first.effect_key is not None:
        return any(e.key == first.effect_key for e in state.effects)
    return any(s.id == first.step_id and s.status == "done" for s in state.steps)


def note(first: FirstEffect, record: Any) -> None:
    """Say in the occurrence's audit what its key's workflow did before it started (``record``
    is the auditor's, dated by the caller): its own step, next, finds the change in place."""
    how = {"failed": "failed", "attempted": "was tried (outcome unknown)"}.get(
        first.status, "was made"
    )
    record(
        AuditKind.NOTE,
        f"{first.step_id} (playbook {first.playbook}) {how} by the key's workflow as the breach"
        f" arrived: {first.summary}; the step runs here with the same keys",
        {"step": first.step_id, "action": first.action, "by": "key", "status": first.status},
    )


def in_place(state: IncidentState) -> str:
    """``; left in place: ...`` for the effects not undone (an occurrence that found no playbook
    after its key made the first change), else ``""``."""
    left = [e.summary for e in state.effects if not e.undone]
    return f"; left in place: {'; '.join(left)}" if left else ""


def unused(first: FirstEffect | None, severity: str | None, signals: int, chosen: str) -> bool:
    """The occurrence did not decide as the key's workflow did (a signal reached it before its
    first task): the first change is adopted as an effect in place."""
    if first is None:
        return False
    return first.severity != severity or first.signals != signals or first.playbook != chosen

"""What a step executor returns or raises, and the retry policy of external effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.policy_effects import Undo
    from orchestrator.domain.provider_failures import WAITS_FOR_PERSON
    from orchestrator.errors import PERMANENT_ERROR_TYPE

EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
    non_retryable_error_types=[PERMANENT_ERROR_TYPE],
)
"""External effects: a few quick retries, then the step fails (permanent errors at once)."""


def budget(start_to_close: timedelta, retry: RetryPolicy) -> timedelta:
    """An activity's schedule-to-close: every attempt the retry policy allows, each its full
    start-to-close, plus the waits between them. A task queue with no worker polling it (attempts
    that never start) then fails the activity instead of waiting for ever."""
    attempts = retry.maximum_attempts or 1
    wait, waits = retry.initial_interval or timedelta(seconds=1), timedelta(0)
    cap = retry.maximum_interval or wait * 100
    for _ in range(attempts - 1):
        waits += wait
        wait = min(wait * retry.backoff_coefficient, cap)
    return start_to_close * attempts + waits


class StepFailed(Exception):  # noqa: N818 - reads as what happened: "raise StepFailed(...)"
    """A step failed for good; ``detail`` says why in words an on-call engineer can act on."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


@dataclass
class StepOutcome:
    status: str
    """``done``, ``skipped`` or ``failed``."""
    kind: AuditKind
    summary: str
    result: dict[str, Any] = field(default_factory=dict)
    undo: Undo | None = None
    """How to undo the effect, when the step changed something that can be undone."""
    verified: str | None = None
    """What the read-back after the effect showed (recorded as a verification)."""


def describe(exc: ActivityError) -> str:
    """What went wrong, in the provider's words (no error-type prefix, no stack)."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.message:
        return cause.message
    if isinstance(cause, TimeoutError):
        return f"timed out ({cause.type.name.lower() if cause.type else 'timeout'})"
    return str(cause or exc)


def needs_person(exc: ActivityError) -> str | None:
    """The provider's words when its failure is one a person must answer (approval required, a
    rate limit past the cap or past every attempt or the activity's budget:
    :data:`WAITS_FOR_PERSON`); else None. A schedule-to-close timeout carries the last attempt's
    failure as its cause, so the chain is walked."""
    cause: BaseException | None = exc.cause
    while cause is not None:
        if isinstance(cause, ApplicationError):
            return (cause.message or cause.type) if cause.type in WAITS_FOR_PERSON else None
        cause = cause.__cause__ if isinstance(cause, TimeoutError) else None
    return None

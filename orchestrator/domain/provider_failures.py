"""The one table of provider failures: what each class of answer leads to.

Adapters sort what a provider answered into a :class:`~orchestrator.errors.FailureClass`
(:func:`failure_for_status` for HTTP); the activities turn it into a Temporal error of the type
named here (``orchestrator/activities/errors.py``); the workflow reads that type back to decide
whether the step fails or waits for a person (``orchestrator/workflows/step_types.py``).
docs/provider-errors.md shows this table as :func:`table_markdown` renders it (a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.errors import (
    NEEDS_PERSON_ERROR_TYPE,
    PERMANENT_ERROR_TYPE,
    FailureClass,
)

RATE_LIMITED_ERROR_TYPE = "RateLimited"
UNAVAILABLE_ERROR_TYPE = "ProviderUnavailable"
CONFLICT_ERROR_TYPE = "FlagConflictError"
DEFAULT_RATE_LIMIT_CAP_SECONDS = 60.0


@dataclass(frozen=True)
class FailureRule:
    failure: FailureClass
    answers: str
    """What the provider answered, in words (HTTP statuses for the HTTP adapters)."""
    activity: str
    """What the activity does with it."""
    then: str
    """What happens to the step when the activity gives up."""
    error_type: str
    """The Temporal application-error type the activity raises."""
    waits_for_person: bool
    """True: the step waits for a person's decision instead of failing."""


TABLE: tuple[FailureRule, ...] = (
    FailureRule(
        FailureClass.UNAVAILABLE,
        "5xx, timeout, connection refused or reset",
        "retried with backoff within the activity's budget (attempts and schedule-to-close)",
        "the step fails; the playbook's on_failure runs (compensate, page the on-call)",
        UNAVAILABLE_ERROR_TYPE,
        waits_for_person=False,
    ),
    FailureRule(
        FailureClass.RATE_LIMITED,
        "429 (Retry-After or X-Ratelimit-Reset says when)",
        "the next attempt waits what the provider asked, up to the cap"
        " (ORCHESTRATOR_RATE_LIMIT_CAP, default 60 s); a longer wait is not retried",
        "the step waits for a person: approve to try again, deny to fail it; paged at once",
        RATE_LIMITED_ERROR_TYPE,
        waits_for_person=True,
    ),
    FailureRule(
        FailureClass.NEEDS_APPROVAL,
        "405 (the environment requires approval for changes)",
        "not retried",
        "the step waits for approval with the provider's message (approve once the change is"
        " approved or the requirement lifted: the step runs again; deny: it fails)",
        NEEDS_PERSON_ERROR_TYPE,
        waits_for_person=True,
    ),
    FailureRule(
        FailureClass.CONFLICT,
        "409, or the flag's version moved since it was read",
        "read again and plan again (bounded), then retried",
        "the step fails if the flag keeps moving; on_failure runs",
        CONFLICT_ERROR_TYPE,
        waits_for_person=False,
    ),
    FailureRule(
        FailureClass.REFUSED,
        "400, 401, 403, 404 and other 4xx; a bad argument, a reserved attribute name",
        "not retried; the message names the flag (or target), the environment and the reason",
        "the step fails; the playbook's on_failure runs (compensate, page the on-call)",
        PERMANENT_ERROR_TYPE,
        waits_for_person=False,
    ),
)

RULES = {rule.failure: rule for rule in TABLE}
WAITS_FOR_PERSON = frozenset(rule.error_type for rule in TABLE if rule.waits_for_person)
"""The Temporal error types after which a step waits for a person rather than failing."""


def failure_for_status(status: int) -> FailureClass | None:
    """The class of an HTTP answer; None for a success."""
    if status < 400:
        return None
    if status == 429:
        return FailureClass.RATE_LIMITED
    if status == 405:
        return FailureClass.NEEDS_APPROVAL
    if status == 409:
        return FailureClass.CONFLICT
    if status >= 500:
        return FailureClass.UNAVAILABLE
    return FailureClass.REFUSED


def table_markdown() -> str:
    """The table as docs show it."""
    rows = [
        "| Class | The provider answered | The activity | Then the step | Temporal error type |",
        "|---|---|---|---|---|",
    ]
    rows += [
        f"| {r.failure.value} | {r.answers} | {r.activity} | {r.then} | `{r.error_type}` |"
        for r in TABLE
    ]
    return "\n".join(rows)

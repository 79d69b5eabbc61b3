"""How activities fail: the one translation of project errors into Temporal application errors.

Permanent failures carry :data:`~orchestrator.errors.PERMANENT_ERROR_TYPE`, which every retry
policy in workflow code names as non-retryable; an effect that did not take is ``EffectNotVerified``
(retried: the provider may be catching up); a rate limit's own wait sets the next retry delay.

A failure's message lands in Temporal's history, the incident's state and the audit record, and
so does every message of its cause chain (Temporal records ``raise ... from exc`` causes too):
each is scrubbed of credentials (:func:`~orchestrator.secrets.redact_text`) on the way.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

from orchestrator.domain.provider_failures import RULES
from orchestrator.errors import (
    NEEDS_PERSON_ERROR_TYPE,
    PERMANENT_ERROR_TYPE,
    FlagRuleError,
    ProviderError,
    RateLimitedError,
)
from orchestrator.secrets import redact_text

NOT_VERIFIED = "EffectNotVerified"


def permanent(message: str) -> ApplicationError:
    """A failure retrying cannot fix (a bad argument, an unknown target)."""
    return ApplicationError(redact_text(message), type=PERMANENT_ERROR_TYPE, non_retryable=True)


def not_verified(message: str) -> ApplicationError:
    """The effect was written but the read-back does not show it."""
    return ApplicationError(redact_text(message), type=NOT_VERIFIED)


def scrub_chain(exc: BaseException) -> None:
    """Mask credentials in the messages of ``exc`` and of its causes, in place: the failure
    raised ``from exc`` carries them into Temporal's history."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(redact_text(a) if isinstance(a, str) else a for a in current.args)
        current = current.__cause__ or current.__context__


def permanent_or_retryable(exc: ProviderError | FlagRuleError) -> ApplicationError:
    """The Temporal error for a provider failure, as :mod:`orchestrator.domain.provider_failures`
    says: refusals are never retried, approval-required answers and rate limits longer than the
    cap go to a person, a rate limit's own wait (Retry-After) sets the delay before the next
    attempt, everything else is retried."""
    scrub_chain(exc)
    if isinstance(exc, FlagRuleError):
        return permanent(str(exc))
    rule = RULES[exc.failure]
    message = redact_text(str(exc))
    if isinstance(exc, RateLimitedError):
        wait = exc.retry_after_seconds
        if wait is not None and wait > exc.cap_seconds:
            return ApplicationError(
                f"{message} (asked to wait {wait:g}s, longer than the {exc.cap_seconds:g}s cap)",
                type=NEEDS_PERSON_ERROR_TYPE,
                non_retryable=True,
            )
        return ApplicationError(
            message,
            type=rule.error_type,
            next_retry_delay=timedelta(seconds=wait) if wait is not None else None,
        )
    return ApplicationError(
        message,
        type=rule.error_type,
        non_retryable=not exc.retryable,
    )

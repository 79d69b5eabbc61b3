"""How activities fail: the one translation of project errors into Temporal application errors.

Permanent failures carry :data:`~orchestrator.errors.PERMANENT_ERROR_TYPE`, which every retry
policy in workflow code names as non-retryable; an effect that did not take is ``EffectNotVerified``
(retried: the provider may be catching up); a rate limit's own wait sets the next retry delay.
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

NOT_VERIFIED = "EffectNotVerified"


def permanent(message: str) -> ApplicationError:
    """A failure retrying cannot fix (a bad argument, an unknown target)."""
    return ApplicationError(message, type=PERMANENT_ERROR_TYPE, non_retryable=True)


def not_verified(message: str) -> ApplicationError:
    """The effect was written but the read-back does not show it."""
    return ApplicationError(message, type=NOT_VERIFIED)


def permanent_or_retryable(exc: ProviderError | FlagRuleError) -> ApplicationError:
    """The Temporal error for a provider failure, as :mod:`orchestrator.domain.provider_failures`
    says: refusals are never retried, approval-required answers and rate limits longer than the
    cap go to a person, a rate limit's own wait (Retry-After) sets the delay before the next
    attempt, everything else is retried."""
    if isinstance(exc, FlagRuleError):
        return permanent(str(exc))
    rule = RULES[exc.failure]
    if isinstance(exc, RateLimitedError):
        wait = exc.retry_after_seconds
        if wait is not None and wait > exc.cap_seconds:
            return ApplicationError(
                f"{exc} (asked to wait {wait:g}s, longer than the {exc.cap_seconds:g}s cap)",
                type=NEEDS_PERSON_ERROR_TYPE,
                non_retryable=True,
            )
        return ApplicationError(
            str(exc),
            type=rule.error_type,
            next_retry_delay=timedelta(seconds=wait) if wait is not None else None,
        )
    return ApplicationError(
        str(exc),
        type=rule.error_type,
        non_retryable=not exc.retryable,
    )

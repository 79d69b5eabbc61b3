"""How activities fail: the one translation of project errors into Temporal application errors.

Permanent failures carry :data:`~orchestrator.errors.PERMANENT_ERROR_TYPE`, which every retry
policy in workflow code names as non-retryable; an effect that did not take is ``EffectNotVerified``
(retried: the provider may be catching up); a rate limit's own wait sets the next retry delay.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

from orchestrator.errors import PERMANENT_ERROR_TYPE, FlagRuleError, ProviderError

NOT_VERIFIED = "EffectNotVerified"


def permanent(message: str) -> ApplicationError:
    """A failure retrying cannot fix (a bad argument, an unknown target)."""
    return ApplicationError(message, type=PERMANENT_ERROR_TYPE, non_retryable=True)


def not_verified(message: str) -> ApplicationError:
    """The effect was written but the read-back does not show it."""
    return ApplicationError(message, type=NOT_VERIFIED)


def permanent_or_retryable(exc: ProviderError | FlagRuleError) -> ApplicationError:
    """The Temporal error for a provider failure: permanent ones are never retried, and a rate
    limit's own wait (Retry-After) sets the delay before the next attempt."""
    if isinstance(exc, FlagRuleError):
        return permanent(str(exc))
    wait = getattr(exc, "retry_after_seconds", None)
    return ApplicationError(
        str(exc),
        type=PERMANENT_ERROR_TYPE if not exc.retryable else type(exc).__name__,
        non_retryable=not exc.retryable,
        next_retry_delay=timedelta(seconds=wait) if isinstance(wait, int | float) else None,
    )

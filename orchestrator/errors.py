"""The one error tree of the project.

Every error the orchestrator raises on purpose is an :class:`OrchestratorError`. Adapters translate
transport and library errors into this tree with ``raise ... from exc``; messages never contain
secrets (tokens, signing keys, DSN passwords).
"""

from __future__ import annotations

from enum import StrEnum


class OrchestratorError(Exception):
    """Base of every error the orchestrator raises on purpose."""


class ConfigError(OrchestratorError):
    """Settings, catalog or environment are wrong; fix the configuration and start again."""


class ValidationError(OrchestratorError):
    """Input (a signal, a playbook, a CLI argument) is invalid.

    ``location`` names where: a file, a step, a field (``playbooks/x.yaml: steps[1].args.flag``).
    """

    def __init__(self, message: str, location: str = "") -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class CatalogError(ValidationError):
    """A service or SLO is unknown to the catalog, or the catalog itself is invalid."""


class PlaybookError(ValidationError):
    """A playbook is invalid: bad YAML, unknown action, missing argument, bad template."""


class IncidentFinishedError(ValidationError):
    """The incident has ended (resolved, closed, failed, aborted): it takes no more decisions."""


class FailureClass(StrEnum):
    """What kind of failure a provider answered; :mod:`orchestrator.domain.provider_failures` is
    the one table of what happens to each."""

    UNAVAILABLE = "unavailable"
    """5xx, a timeout, a broken connection: the provider may answer next time."""
    RATE_LIMITED = "rate-limited"
    """429: the provider says when to come back (``Retry-After``)."""
    NEEDS_APPROVAL = "needs-approval"
    """405 and other approval-required answers: a person must approve the change."""
    CONFLICT = "conflict"
    """409, or the version moved: read again and plan again."""
    REFUSED = "refused"
    """400, 401, 403, 404 and other 4xx: the request itself is wrong, retrying cannot help."""


class ProviderError(OrchestratorError):
    """An external system (flags, deployments, paging, tickets) refused or failed.

    ``retryable`` is False for permanent failures (bad request, forbidden, not found): retrying
    them cannot help, and activities turn them into non-retryable application errors.
    ``failure`` says which class of failure it is (by default: unavailable when retryable,
    refused when not).
    """

    def __init__(
        self, message: str, *, retryable: bool = True, failure: FailureClass | None = None
    ) -> None:
        self.retryable = retryable
        self.failure = failure or (FailureClass.UNAVAILABLE if retryable else FailureClass.REFUSED)
        super().__init__(message)


class RateLimitedError(ProviderError):
    """HTTP 429: come back after ``retry_after_seconds`` (None when the provider did not say).

    A wait longer than ``cap_seconds`` is not waited out by retries: the step waits for a
    person instead (``ORCHESTRATOR_RATE_LIMIT_CAP``)."""

    def __init__(
        self, message: str, *, retry_after_seconds: float | None, cap_seconds: float = 60.0
    ) -> None:
        super().__init__(message, retryable=True, failure=FailureClass.RATE_LIMITED)
        self.retry_after_seconds = retry_after_seconds
        self.cap_seconds = cap_seconds


class ApprovalRequiredError(ProviderError):
    """The provider will not make the change without a person's approval (LaunchDarkly's 405
    for an environment that requires approvals); the message is the provider's."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, failure=FailureClass.NEEDS_APPROVAL)


class FlagProviderError(ProviderError):
    """The flag store (local file or LaunchDarkly) refused or failed a read or change."""


class FlagConflictError(FlagProviderError):
    """The flag changed since it was read: its version is not the one the change was planned on.

    Always retryable: read the flag again and plan again (the change may be done already, or need
    other instructions now). ``expected_version`` is the version the change was planned against,
    ``current_version`` the one the store has (None when the store did not say).
    """

    def __init__(
        self,
        message: str,
        *,
        expected_version: int | None = None,
        current_version: int | None = None,
    ) -> None:
        super().__init__(message, retryable=True, failure=FailureClass.CONFLICT)
        self.expected_version = expected_version
        self.current_version = current_version


class VerificationError(OrchestratorError):
    """An effect was applied but could not be verified (the SDK does not serve what we expect)."""


class AuditError(OrchestratorError):
    """The audit store failed, or its hash chain does not verify."""


class NotFoundError(OrchestratorError):
    """An incident, playbook or audit record does not exist."""


class TemporalUnavailableError(OrchestratorError):
    """The Temporal service cannot be reached; nothing was accepted."""


class TemporalRefusedError(OrchestratorError):
    """Temporal answered but refused the call (credentials, namespace, a malformed request)."""


class FlagRuleError(ValidationError):
    """A flag change breaks the flag's own rules (an unknown variation, a rule ref used twice).

    Raised by the pure flag semantics in the domain; providers and activities treat it as a
    permanent failure (retrying the same change cannot help)."""


PERMANENT_ERROR_TYPE = "PermanentError"
"""The one Temporal application-error type that is never retried (every retry policy names it)."""

NEEDS_PERSON_ERROR_TYPE = "NeedsPerson"
"""The application-error type of a provider failure a person must answer (approval required, a
rate limit longer than the cap): never retried; the step waits for a person's decision."""

INCIDENT_FINISHED_ERROR_TYPE = "IncidentFinished"
"""The application-error type by which an incident refuses an update because it has ended."""

"""What an audit query asks for: :class:`EventFilter`, and the one parser of its text form.

The CLI (``orchestrator audit query``, ``incidents``, ``stats``) and the API (``GET
/v1/audit/events``, ``/v1/audit/stats``) both build their filter with :func:`parse_filter`, so the
two accept the same words and refuse bad ones with the same one-line message. The SQL is in
:mod:`orchestrator.audit.query_sql`.

Attributes of an event: ``occurrence``/``key``, ``service``, ``slo``, ``actor``, ``kind``,
``action``, ``target``, ``outcome``, ``since``/``until`` (workflow time, ``at``). Attributes of
its incident (an event matches when its incident was ever classified or signalled so):
``severity``, ``dimension``, ``segment``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from orchestrator.audit.model import AuditKind, IncidentState, as_utc


class Severity(StrEnum):
    """The severities an incident is classified with (``orchestrator.domain.severity.Severity``,
    which the audit layer may not import; a test keeps the two equal)."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"


class Outcome(StrEnum):
    """What an event says happened, for the kinds that have an outcome."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    REQUESTED = "requested"
    GRANTED = "granted"
    DENIED = "denied"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ABORTED = "aborted"


OUTCOME_KINDS: Mapping[Outcome, tuple[AuditKind, ...]] = {
    Outcome.APPLIED: (AuditKind.EFFECT_APPLIED,),
    Outcome.UNCHANGED: (AuditKind.EFFECT_SKIPPED,),
    Outcome.PASSED: (AuditKind.VERIFICATION_PASSED,),
    Outcome.FAILED: (AuditKind.VERIFICATION_FAILED, AuditKind.STEP_FAILED),
    Outcome.SKIPPED: (AuditKind.STEP_SKIPPED,),
    Outcome.REQUESTED: (AuditKind.APPROVAL_REQUESTED,),
    Outcome.GRANTED: (AuditKind.APPROVAL_GRANTED,),
    Outcome.DENIED: (AuditKind.APPROVAL_DENIED,),
    Outcome.RESOLVED: (AuditKind.INCIDENT_RESOLVED,),
    Outcome.CLOSED: (AuditKind.INCIDENT_CLOSED,),
    Outcome.ABORTED: (AuditKind.INCIDENT_ABORTED,),
}
"""The kinds each outcome stands for (an outcome is a property of the kind)."""

TARGET_FIELDS = ("flag", "component", "ticket", "target", "freeze_id")
"""Where an effect names what it acted on: a flag, a component (model, prompt, retrieval), an
incident-review ticket, a paged person or queue, a release freeze."""

FILTER_FIELDS = (
    "occurrence",
    "key",
    "service",
    "slo",
    "dimension",
    "segment",
    "severity",
    "actor",
    "kind",
    "action",
    "target",
    "outcome",
    "since",
    "until",
)
"""The filter's words, as CLI options (``--slo``) and API query parameters (``slo=``)."""

MAX_PAGE = 10_000
"""The most events one query returns (``limit``)."""
_AGO = re.compile(r"^(\d{1,6})([mhd])$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days"}


class FilterError(ValueError):
    """A filter that cannot be used; the message is one line, fit for a CLI error or a 422."""


class EventFilter(BaseModel):
    """Which audit events a query returns; every field set narrows it (None: any)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    occurrence: str | None = Field(default=None, min_length=1, max_length=256)
    """Exactly this incident id (an occurrence, or an incident of the older, key-shaped id)."""
    key: str | None = Field(default=None, min_length=1, max_length=256)
    """An incident key: its own events and those of every occurrence ``<key>--<stamp>``."""
    service: str | None = Field(default=None, min_length=1, max_length=128)
    slo: str | None = Field(default=None, min_length=1, max_length=128)
    dimension: str | None = Field(default=None, min_length=1, max_length=64)
    segment: str | None = Field(default=None, min_length=3, max_length=200)
    """``key=value``: incidents with a signal for this segment."""
    severity: Severity | None = None
    actor: str | None = Field(default=None, min_length=1, max_length=256)
    kind: AuditKind | None = None
    action: str | None = Field(default=None, min_length=1, max_length=64)
    target: str | None = Field(default=None, min_length=1, max_length=256)
    outcome: Outcome | None = None
    since: AwareDatetime | None = None
    """Events at or after this workflow time."""
    until: AwareDatetime | None = None
    """Events before this workflow time."""

    @model_validator(mode="after")
    def _sane(self) -> EventFilter:
        if self.segment is not None:
            key, sep, value = self.segment.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ValueError(f"segment must look like key=value, got {self.segment!r}")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be later than since")
        return self

    @property
    def segment_parts(self) -> tuple[str, str] | None:
        if self.segment is None:
            return None
        key, _, value = self.segment.partition("=")
        return key.strip(), value.strip()

    @property
    def kinds(self) -> tuple[AuditKind, ...] | None:
        """The kinds the event may have (kind and outcome together); None: any. Empty when
        they exclude each other."""
        allowed: tuple[AuditKind, ...] | None = None
        if self.outcome is not None:
            allowed = OUTCOME_KINDS[self.outcome]
        if self.kind is not None:
            allowed = (self.kind,) if allowed is None or self.kind in allowed else ()
        return allowed


def parse_time(text: str, *, now: datetime, name: str = "since") -> datetime:
    """``7d``, ``12h``, ``30m`` (that long before ``now``) or an ISO-8601 time (UTC when it has
    no offset); FilterError with a one-line message otherwise."""
    value = text.strip()
    match = _AGO.match(value)
    if match:
        return as_utc(now) - timedelta(**{_UNIT[match[2]]: int(match[1])})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"{name} must be like 7d, 12h, 30m or an ISO time; got {value[:40]!r}"
        ) from None
    return as_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _choice(name: str, value: str, choices: type[StrEnum]) -> None:
    if value not in {c.value for c in choices}:
        valid = ", ".join(c.value for c in choices)
        raise FilterError(f"unknown {name} {value[:40]!r}; valid: {valid}")


def parse_filter(values: Mapping[str, str | None], *, now: datetime) -> EventFilter:
    """An :class:`EventFilter` from the text form (CLI options, API query parameters); blank and
    None values are left out. FilterError (one line) on an unknown name or a bad value."""
    unknown = sorted(set(values) - set(FILTER_FIELDS))
    if unknown:
        raise FilterError(f"unknown filter {unknown[0]!r}; valid: {', '.join(FILTER_FIELDS)}")
    given = {k: v.strip() for k, v in values.items() if v is not None and v.strip()}
    for name, choices in (("kind", AuditKind), ("severity", Severity), ("outcome", Outcome)):
        if name in given:
            if name == "severity":
                given[name] = given[name].upper()
            _choice(name, given[name], choices)
    fields: dict[str, object] = dict(given)
    for name in ("since", "until"):
        if name in given:
            fields[name] = parse_time(given[name], now=now, name=name)
    try:
        return EventFilter.model_validate(fields)
    except ValueError as exc:
        raise FilterError(_one_line(exc)) from None


def parse_state(value: str | None) -> IncidentState | None:
    """An incident state filter (``open``, ``resolved``, ``closed``, ``aborted``)."""
    if value is None or not value.strip():
        return None
    _choice("state", value.strip().lower(), IncidentState)
    return IncidentState(value.strip().lower())


def _one_line(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc).splitlines()[0]

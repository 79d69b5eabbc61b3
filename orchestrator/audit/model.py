"""Audit history models: what an event is, how it looks once stored, and what queries return.

Everything here is pure: no I/O, no clock. ``AuditEvent.at`` is the caller's (workflow) time.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import Enum, StrEnum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

MAX_DATA_BYTES = 64 * 1024
"""Upper bound on an event's ``data`` as canonical JSON; the audit log is not a blob store."""
MAX_SUMMARY_CHARS = 4000


class AuditKind(StrEnum):
    SIGNAL_RECEIVED = "signal_received"
    INCIDENT_OPENED = "incident_opened"
    SEVERITY_CLASSIFIED = "severity_classified"
    PLAYBOOK_SELECTED = "playbook_selected"
    STEP_STARTED = "step_started"
    EFFECT_APPLIED = "effect_applied"
    EFFECT_SKIPPED = "effect_skipped"
    VERIFICATION_PASSED = "verification_passed"
    VERIFICATION_FAILED = "verification_failed"
    STEP_FAILED = "step_failed"
    STEP_SKIPPED = "step_skipped"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_GRANTED = "approval_granted"
    APPROVAL_DENIED = "approval_denied"
    MANUAL_LAUNCH = "manual_launch"
    ESCALATED = "escalated"
    INCIDENT_RESOLVED = "incident_resolved"
    INCIDENT_CLOSED = "incident_closed"
    INCIDENT_ABORTED = "incident_aborted"
    NOTE = "note"
    SAFETY_CHANGED = "safety_changed"
    """The kill switch turned on or off (incident ``safety``), with who and why."""


class IncidentState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ABORTED = "aborted"


LIFECYCLE_KINDS: dict[AuditKind, IncidentState] = {
    AuditKind.INCIDENT_OPENED: IncidentState.OPEN,
    AuditKind.INCIDENT_RESOLVED: IncidentState.RESOLVED,
    AuditKind.INCIDENT_CLOSED: IncidentState.CLOSED,
    AuditKind.INCIDENT_ABORTED: IncidentState.ABORTED,
}
"""The kinds that move an incident's state; the latest one wins (a re-opened incident is open)."""


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; naive datetimes are refused (the audit log never guesses a timezone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """The one text form of a datetime in the audit log: ISO-8601, UTC, always microseconds."""
    return as_utc(value).isoformat(timespec="microseconds")


def json_default(value: object) -> Any:
    """JSON form of the few non-JSON types callers reasonably put into ``data``."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


_CANONICAL = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=json_default,
)
"""What ``json.dumps`` with these options builds on every call; built once (it holds no state)."""


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, no NaN/Infinity, datetimes as ISO-8601 UTC."""
    return _CANONICAL.encode(value)


class AuditEvent(BaseModel):
    """One decision, effect, approval or verification, as the caller reports it.

    ``event_key`` is the idempotency key (``<incident_id>/<run_id>/<step>/<kind>``): appending the
    same key twice stores one event, so activities can retry freely.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_key: str = Field(min_length=1, max_length=512)
    incident_id: str = Field(min_length=1, max_length=256)
    run_id: str = Field(default="", max_length=256)
    kind: AuditKind
    at: AwareDatetime
    actor: str = Field(min_length=1, max_length=256)
    service: str = Field(default="", max_length=128)
    slo: str = Field(default="", max_length=128)
    summary: str = Field(default="", max_length=MAX_SUMMARY_CHARS)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("at")
    @classmethod
    def _at_in_utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    @field_validator("data")
    @classmethod
    def _data_is_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            text = canonical_json(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"data must be JSON-serialisable: {exc}") from exc
        if len(text.encode()) > MAX_DATA_BYTES:
            raise ValueError(f"data is larger than {MAX_DATA_BYTES} bytes as JSON")
        normalised: dict[str, Any] = json.loads(text)
        return normalised


class StoredEvent(AuditEvent):
    """An event as the store holds it: its place in the one global hash chain."""

    seq: int = Field(ge=1)
    recorded_at: AwareDatetime
    prev_hash: str
    hash: str

    @field_validator("recorded_at")
    @classmethod
    def _recorded_in_utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    def as_event(self) -> AuditEvent:
        """The event as it was appended (after redaction), without the chain fields."""
        return AuditEvent.model_validate(self.model_dump(include=set(AuditEvent.model_fields)))


class IncidentSummary(BaseModel):
    """One incident's row in ``incidents()``: identity, span, size and where it stands."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str
    service: str
    slo: str
    first_at: AwareDatetime
    last_at: AwareDatetime
    events: int
    last_kind: AuditKind
    severity: str | None
    """``data["severity"]`` of the latest ``severity_classified`` event; None if unclassified."""
    state: IncidentState
    """From the latest lifecycle event (opened/resolved/closed/aborted); open if there is none."""


class ChainReport(BaseModel):
    """The outcome of verifying the hash chain.

    ``checked`` counts the events that verified; on failure ``first_bad_seq`` is the first event
    that does not (altered, missing before it, or out of order) and ``problem`` says why.
    ``head_hash`` is the hash of the last good event: record it outside the store (a ticket, a
    release note) to detect later truncation of the tail, which a chain alone cannot show.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_hash: str | None = None

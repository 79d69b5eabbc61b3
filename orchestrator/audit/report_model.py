"""The incident report's content: what a post-incident review reads, as typed rows.

Pure: built from stored audit events (:mod:`~orchestrator.audit.report`), rendered elsewhere
(:mod:`~orchestrator.audit.report_render`). Every string taken from an event is untrusted (alert
labels, summaries, signal sources): renderers escape it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Objective(_Row):
    """What the SLO promises (from the catalog), for signals that do not carry it."""

    objective: float
    comparison: str
    unit: str = ""
    window: str = ""


class RubricRow(_Row):
    factor: str
    value: str
    points: int | None


class SeverityDecision(_Row):
    at: datetime
    severity: str
    score: int | None
    explanation: str
    rows: tuple[RubricRow, ...]


class SignalRow(_Row):
    at: datetime
    status: str
    source: str
    segment: str
    observed: str
    objective: str
    burn_rate: str
    started_at: datetime | None


class TimelineRow(_Row):
    seq: int
    at: datetime
    offset: str
    kind: str
    actor: str
    summary: str


class ChangeRow(_Row):
    number: int
    seq: int
    at: datetime
    step: str
    action: str
    subject: str
    before: str
    after: str
    by: str
    undo: bool
    outcome: str
    """``applied`` or ``already in place`` (the effect was found done: nothing changed)."""


class ApprovalRow(_Row):
    step: str
    requested_at: datetime
    decided_at: datetime | None
    outcome: str
    principals: str
    waited: str
    reason: str


class VerificationRow(_Row):
    seq: int
    at: datetime
    step: str
    passed: bool
    detail: str


class Measure(_Row):
    name: str
    seconds: float | None
    shown: str
    start: str
    end: str


class RcaTask(_Row):
    ticket: str
    status: str = "open"
    """``open``, or when, by whom and with what resolution the review was closed."""
    owner: str
    deadline: str
    verification: str
    summary: str
    evidence: tuple[tuple[str, str], ...]
    """(name, compact JSON) of each piece of evidence the review ticket carries."""


class Phase(_Row):
    name: str
    start: datetime
    end: datetime


class RawSignal(_Row):
    seq: int
    at: datetime
    body: str
    """The signal as recorded, indented JSON."""


class IncidentReport(_Row):
    incident_id: str
    service: str
    slo: str
    state: str
    opened_at: datetime
    last_at: datetime
    severity: str
    playbooks: tuple[str, ...]
    summary: str
    severities: tuple[SeverityDecision, ...]
    signals: tuple[SignalRow, ...]
    timeline: tuple[TimelineRow, ...]
    changes: tuple[ChangeRow, ...]
    approvals: tuple[ApprovalRow, ...]
    verifications: tuple[VerificationRow, ...]
    measures: tuple[Measure, ...]
    rca: tuple[RcaTask, ...]
    phases: tuple[Phase, ...]
    raw_signals: tuple[RawSignal, ...]
    first_seq: int
    last_seq: int
    events: int

"""Names and shapes shared by the incident workflow and everything that talks to it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import SearchAttributeKey

from orchestrator.audit.model import AuditEvent, AuditKind
from orchestrator.domain.alert_memory import InstanceOrder
from orchestrator.domain.catalog import Service, Slo
from orchestrator.domain.ops_models import Authorization
from orchestrator.domain.playbook import Playbook
from orchestrator.domain.policy_approval import PendingApproval
from orchestrator.domain.policy_effects import EffectRecord, Undo
from orchestrator.domain.signals import BreachSignal
from orchestrator.workflows.key_types import CONTINUE_AFTER_EVENTS

INCIDENT_WORKFLOW = "IncidentWorkflow"
"""One occurrence of an incident (``IncidentWorkflow``), started by its key's workflow."""
INCIDENT_KEY_WORKFLOW = "IncidentKeyWorkflow"
"""One per incident key (service + SLO): the workflow clients signal-with-start; it opens, feeds
and remembers the key's occurrences."""
QUERY_KEY = "key"
SIGNAL_BREACH = "breach"
SIGNAL_OCCURRENCE_ENDED = "occurrence-ended"
"""An occurrence tells its key's workflow it has ended (an ``OccurrenceEnded``)."""
QUERY_STATE = "state"
UPDATE_DECIDE = "decide"
"""Approve or deny the pending step (an ``ApprovalDecision``)."""
UPDATE_ABORT = "abort"
UPDATE_LAUNCH = "launch"
"""Run a playbook in the running incident now (on-call launch, fast-track)."""

SA_SERVICE = SearchAttributeKey.for_keyword("Service")
SA_SLO = SearchAttributeKey.for_keyword("Slo")
SA_SEVERITY = SearchAttributeKey.for_keyword("Severity")
SA_PLAYBOOK = SearchAttributeKey.for_keyword("Playbook")
SA_STATE = SearchAttributeKey.for_keyword("IncidentState")
SEARCH_ATTRIBUTES = (SA_SERVICE, SA_SLO, SA_SEVERITY, SA_PLAYBOOK, SA_STATE)


class IncidentPhase(StrEnum):
    OPEN = "open"
    MITIGATING = "mitigating"
    AWAITING_APPROVAL = "awaiting-approval"
    MONITORING = "monitoring"
    HOLDING_DOWN = "holding-down"
    """Resolved, waiting out the hold-down before undoing temporary mitigations."""
    ENDING = "ending"
    """Decided to end (undoing, compensating, paging): a new signal goes to the next occurrence."""
    RESOLVED = "resolved"
    FAILED = "failed"
    CLOSED = "closed"
    ABORTED = "aborted"

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = frozenset(
    {IncidentPhase.RESOLVED, IncidentPhase.FAILED, IncidentPhase.CLOSED, IncidentPhase.ABORTED}
)


class IncidentInput(BaseModel):
    """Everything the workflow decides from, validated before it starts (YAML became types)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str
    service: Service
    slo: Slo
    candidates: tuple[Playbook, ...]
    """The playbooks that match this service and dimension, at any severity."""
    kill_switch: bool = False
    """Kept for histories of earlier releases, which copied ORCHESTRATOR_KILL_SWITCH in here; new
    incidents leave it False: the gate asks the shared safety ledger at every destructive step."""
    key: str = ""
    """The incident key's workflow id ("" for incidents started before occurrences)."""
    initial: tuple[BreachSignal, ...] = ()
    """The signal(s) that opened this occurrence, handled before any other."""
    carried: Carried | None = None
    """Set when this run continues an earlier run of the same occurrence (continue-as-new)."""
    continue_after: int = CONTINUE_AFTER_EVENTS
    """History events after which this occurrence continues as new at its next quiet point
    (monitoring: no step, approval or undo in flight), carrying what it knows
    (:class:`Carried`)."""
    report_end: bool = False
    """Signal the key's workflow when the occurrence ends (it may have continued as new, and
    then hears of the end only that way)."""
    first: FirstEffect | None = None
    """The first mitigating change, made by the key's workflow before it started this
    occurrence (:mod:`orchestrator.workflows.first`): recorded here as this occurrence's own."""


class FirstEffect(BaseModel):
    """A playbook's first mitigating step, carried out in the key workflow's task that opened the
    occurrence: what the occurrence needs to record it as its own step (the decision it came
    from, the ledger's answer, the outcome and how to undo it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    playbook: str
    step_id: str
    action: str
    args: dict[str, Any]
    """The step's rendered arguments (JSON): the occurrence takes the outcome only for these."""
    signals: int
    """How many signals the decision was made from (the occurrence's initial ones)."""
    severity: str
    authorization: Authorization | None = None
    """The safety ledger's answer, when the gate asked for it."""
    effect_key: str | None = None
    temporary: bool = False
    compensate: bool = True
    status: str
    kind: AuditKind
    summary: str
    result: dict[str, Any] = Field(default_factory=dict)
    undo: Undo | None = None
    verified: str | None = None
    asked: str | None = None
    """A failed change: what the provider asks of a person (the step waits for one)."""
    decided_at: datetime | None = None
    """When the key's workflow took the signal and decided (the occurrence's opening)."""
    made_at: datetime | None = None
    """When the step's attempt ended in the key's workflow (the change's time)."""


class StepRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    action: str
    status: str
    """``done``, ``skipped``, ``failed`` or ``running``."""
    gate: str = ""
    """The step gate's verdict (``run``, ``skip``, ``refuse``, ``fail``); empty before it."""
    detail: str = ""
    result: dict[str, Any] = Field(default_factory=dict)


class IncidentState(BaseModel):
    """What the ``state`` query answers."""

    model_config = ConfigDict(extra="forbid")

    incident_id: str
    service: str
    slo: str
    phase: IncidentPhase = IncidentPhase.OPEN
    severity: str | None = None
    severity_explanation: str | None = None
    playbook: str | None = None
    signals_received: int = 0
    duplicates_ignored: int = 0
    bad_signals: int = 0
    """Signals that were not breach signals (recorded in the audit and ignored)."""
    audit_dead_letters: int = 0
    """Audit events the store did not take within their budget (spooled or kept here)."""
    audit_dead_lettered: list[str] = Field(default_factory=list)
    """The latest of their event keys."""
    audit_unwritten: list[AuditEvent] = Field(default_factory=list)
    """The latest events that not even the worker's spool took."""
    firing: bool = True
    steps: list[StepRecord] = Field(default_factory=list)
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    launched_by: str | None = None
    error: str | None = None
    playbooks_run: list[str] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=list)
    """Every severity the incident had, in order (escalations add to it)."""
    pending_approval: PendingApproval | None = None
    effects: list[EffectRecord] = Field(default_factory=list)
    """What the incident changed, with how to undo it (and whether it was undone)."""
    fast_track_by: str | None = None
    aborted_by: str | None = None
    audit_events: int = 0
    """Audit events this run has recorded so far (they reach the audit store shortly after)."""
    key: str = ""
    """The incident key this occurrence belongs to."""
    runs: int = 1
    """Runs of this occurrence so far (it continues as new when its history grows long)."""
    late_signals: list[BreachSignal] = Field(default_factory=list)
    """Signals that arrived after the incident had finished: the key's workflow takes them up
    again (a firing one opens the next occurrence), so none is acknowledged and lost."""


class AbortRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    by: str = Field(max_length=128)
    reason: str = Field(max_length=2000)


class LaunchRequest(BaseModel):
    """A person runs ``playbook`` in the running incident now; with ``fast_track`` waits are
    skipped and one-person approvals are theirs (recorded as such)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    playbook: Playbook
    by: str = Field(max_length=128)
    reason: str = Field(max_length=2000)
    fast_track: bool = False


class ControlAck(BaseModel):
    """What an update (decide, abort, launch) answers to the person who sent it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str
    outcome: str
    """``granted``, ``denied``, ``waiting`` (for a second person), ``aborting``, ``launching``."""
    step_id: str | None = None
    detail: str = ""


KEEP_SEEN = 1_000
"""Dedupe keys carried to the next run (the newest): a redelivery older than these is rare, and
would only be counted again, never acted on twice (effects are keyed, not signals)."""
KEEP_SIGNALS = 20
"""Signals carried to the next run, for the evidence of a review a later re-plan opens."""


class Carried(BaseModel):
    """What an occurrence hands to its next run when it continues as new."""

    model_config = ConfigDict(extra="forbid")

    state: IncidentState
    trigger: BreachSignal
    playbook: Playbook
    signals: list[BreachSignal] = Field(default_factory=list)
    launcher: str | None = None
    quiet_since: datetime | None = None
    deadline: datetime
    """When the incident is handed to humans if still firing (``max_open_seconds`` from the
    first time it was monitored): continuing as new does not move it."""
    seen: list[str] = Field(default_factory=list)
    active: list[tuple[str, str]] = Field(default_factory=list)
    unwritten: list[AuditEvent] = Field(default_factory=list)
    """Audit events recorded too late for the run that made them (written first by the next)."""
    order: InstanceOrder | None = None
    """The alert instances' start times seen so far (stale signals are not acted on)."""


IncidentInput.model_rebuild()

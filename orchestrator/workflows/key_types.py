"""Input and state of an incident key's workflow (:mod:`orchestrator.workflows.incident_key`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.audit.model import AuditEvent
from orchestrator.domain.alert_memory import AlertMemory
from orchestrator.domain.catalog import Service, Slo
from orchestrator.domain.playbook import Playbook
from orchestrator.domain.signals import BreachSignal

CONTINUE_AFTER_EVENTS = 2_000
"""A workflow (a key's, an occurrence) continues as new once its history passes this many events,
at a quiet point, carrying its state. Temporal warns at 10,240 events and stops a workflow at
51,200."""


class Occurrence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    opened_at: datetime
    closed_at: datetime | None = None
    phase: str = "open"
    """The occurrence's last phase (``resolved``, ``failed``...) once it has closed."""
    reports_end: bool = False
    """It signals its key when it ends (:class:`OccurrenceEnded`), so the key's workflow may
    continue as new while it is open (occurrences opened before this: only once it has closed)."""


class OccurrenceEnded(BaseModel):
    """What an occurrence tells its key when it ends: how, and the signals it got too late."""

    model_config = ConfigDict(extra="forbid")

    id: str
    phase: str
    late_signals: list[BreachSignal] = Field(default_factory=list)


class KeyState(BaseModel):
    """What the key's ``key`` query answers, and what continue-as-new carries over."""

    model_config = ConfigDict(extra="forbid")

    key: str
    service: str
    slo: str
    open: str | None = None
    """The open occurrence's workflow id; at most one is open per key."""
    occurrences: list[Occurrence] = Field(default_factory=list)
    """The latest occurrences, oldest first (at most :data:`KEEP_OCCURRENCES`)."""
    opened: int = 0
    """Occurrences opened by this key's workflow since it started (across continue-as-new)."""
    signals: int = 0
    ignored: int = 0
    """Signals recorded and not acted on (redeliveries of resolved alerts, stale resolutions)."""
    bad_signals: int = 0
    """Signals that were not breach signals (recorded in the audit and ignored)."""
    memory: AlertMemory = Field(default_factory=AlertMemory)
    last_activity: datetime | None = None


KEEP_OCCURRENCES = 50


class KeyInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    service: Service
    slo: Slo
    playbooks: tuple[Playbook, ...]
    """Every playbook the service may run: each occurrence gets those for its dimension, or the
    one a person named in the signal that opened it."""
    kill_switch: bool = False
    """Kept for histories of earlier releases, which copied ORCHESTRATOR_KILL_SWITCH in here; new
    incidents leave it False: the gate asks the shared safety ledger at every destructive step."""
    memory_seconds: float = Field(default=4 * 3600, gt=0)
    """How long resolved alerts are remembered after the key goes quiet (at least the hold-down
    plus Alertmanager's repeat interval); the key's workflow ends once that has passed."""
    continue_after: int = Field(default=CONTINUE_AFTER_EVENTS, ge=200)
    """History events after which the key's workflow, and each occurrence it opens, continue as
    new at their next quiet point (``ORCHESTRATOR_HISTORY_LIMIT``)."""
    carried: KeyState | None = None
    """The state carried over by continue-as-new."""
    pending: tuple[BreachSignal, ...] = ()
    """Signals the previous run received and had not decided on yet."""
    reports: tuple[OccurrenceEnded, ...] = ()
    """End reports the previous run received and had not taken up yet."""
    unwritten: tuple[AuditEvent, ...] = ()
    """Audit events the previous run recorded after its audit loop had drained."""

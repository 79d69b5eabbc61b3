"""Names and shapes shared by the incident workflow and everything that talks to it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import SearchAttributeKey

from orchestrator.domain.catalog import Service, Slo
from orchestrator.domain.playbook import Playbook

SIGNAL_BREACH = "breach"
QUERY_STATE = "state"

SA_SERVICE = SearchAttributeKey.for_keyword("Service")
SA_SLO = SearchAttributeKey.for_keyword("Slo")
SA_SEVERITY = SearchAttributeKey.for_keyword("Severity")
SA_PLAYBOOK = SearchAttributeKey.for_keyword("Playbook")
SA_STATE = SearchAttributeKey.for_keyword("IncidentState")
SEARCH_ATTRIBUTES = (SA_SERVICE, SA_SLO, SA_SEVERITY, SA_PLAYBOOK, SA_STATE)


class IncidentPhase(StrEnum):
    OPEN = "open"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    FAILED = "failed"
    CLOSED = "closed"


class IncidentInput(BaseModel):
    """Everything the workflow decides from, validated before it starts (YAML became types)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str
    service: Service
    slo: Slo
    candidates: tuple[Playbook, ...]
    """The playbooks that match this service and dimension, at any severity."""
    kill_switch: bool = False


class StepRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    action: str
    status: str
    """``done``, ``skipped``, ``failed`` or ``running``."""
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
    firing: bool = True
    steps: list[StepRecord] = Field(default_factory=list)
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    launched_by: str | None = None
    error: str | None = None

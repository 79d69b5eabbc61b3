"""Turning a breach signal into (or onto) exactly one incident workflow.

Every way in (webhooks, the CLI, the HTTP API) goes through a :class:`SignalSubmitter`. The
Temporal-backed implementation lives in :mod:`orchestrator.client.submitter`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from orchestrator.domain.signals import BreachSignal


class SubmitStatus(StrEnum):
    ACCEPTED = "accepted"
    """Temporal holds the signal durably on its key's workflow (service and SLO), already
    running or started for it: the workflow opens an occurrence, adds it to the open one, or,
    for a resolved signal with nothing open, remembers it against a late firing."""
    NO_OPEN_INCIDENT = "no-open-incident"
    """A resolved signal for a key with no workflow running: nothing was open. The key's workflow
    is started to remember it, so a firing delivered late is not taken for a new breach."""


class SubmitResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    incident_id: str
    workflow_id: str
    status: SubmitStatus
    dedupe_key: str


class SignalSubmitter(Protocol):
    async def validate(self, signal: BreachSignal) -> None:
        """Raise CatalogError / ValidationError if the signal names an unknown service or SLO,
        or no playbook can handle it. Touches nothing."""
        ...

    async def submit(self, signal: BreachSignal) -> SubmitResult:
        """Durably hand the signal to its incident (signal-with-start for firing signals).

        Returns once Temporal has accepted it. Raises TemporalUnavailableError when Temporal cannot
        be reached (nothing was accepted), CatalogError / ValidationError for bad signals.
        """
        ...

    async def ready(self) -> bool:
        """True when Temporal answers."""
        ...

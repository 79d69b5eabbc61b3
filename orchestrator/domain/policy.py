"""The policy parts of the playbook language: approvals, resolution, failure handling.

These are fields of :class:`~orchestrator.domain.playbook.Step` and
:class:`~orchestrator.domain.playbook.Playbook`; the decisions made from them are pure functions in
the ``policy_*`` modules, so workflow code only interprets them. ``docs/policy.md`` explains them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_WAIT_SECONDS = 7 * 24 * 3600

ApprovalTimeoutOutcome = Literal["proceed", "skip", "escalate"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApprovalRule(_Frozen):
    """A step that waits for a named person to approve it (``orchestrator approve ID``).

    ``when`` (a Jinja expression, like a step's) limits the rule to some incidents
    (``severity == 'SEV1'``); without it the step always needs approval.
    """

    when: str | None = Field(default=None, min_length=1)
    timeout_seconds: float = Field(gt=0, le=MAX_WAIT_SECONDS)
    on_timeout: ApprovalTimeoutOutcome
    """What happens when nobody decides in time: run the step anyway (``proceed``), do not run it
    (``skip``), or page the on-call and keep waiting for a person (``escalate``)."""
    two_person: bool = False
    """Two different people must agree: the person who launched the incident (if a person did)
    may not approve, and an incident started by automation needs two distinct approvers."""
    reason: str = Field(default="", max_length=500)
    """Why approval is needed, shown in the request."""


class ResolutionPolicy(_Frozen):
    """How the incident ends once the SLO recovers."""

    hold_down_seconds: float = Field(default=0, ge=0, le=24 * 3600)
    """A resolved signal must hold this long with no new firing before temporary mitigations are
    undone and the incident closes; a firing signal inside it keeps the incident open."""
    max_open_seconds: float = Field(default=24 * 3600, gt=0, le=30 * 24 * 3600)
    """After the last step, how long the incident waits for recovery while still firing before
    it is handed to humans (paged) and closed."""


class FailurePolicy(_Frozen):
    """What a step that fails for good does to the rest of the playbook."""

    compensate: bool = False
    """Undo the earlier reversible steps, newest first (those with ``compensate: true``)."""
    page: bool = True
    """Page the on-call (the failure always stops the playbook and is audited)."""

"""What operational effects look like as data: pages, reviews, freezes, safety answers, deployment
state. Pure models shared by workflows (as activity inputs and results) and providers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PageRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, max_length=300)
    """Idempotency key: one page per key (an incident step, an escalation)."""
    incident_id: str
    target: str
    urgency: Literal["high", "low"] = "high"
    summary: str = Field(max_length=1000)
    details: dict[str, Any] = Field(default_factory=dict)


class Page(PageRequest):
    id: str
    created_at: AwareDatetime


class ReviewDraft(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, max_length=200)
    """Idempotency key: one ticket per key, however often the activity runs."""
    incident_id: str
    service: str
    slo: str
    severity: str
    title: str
    owner: str
    deadline: AwareDatetime
    verification: str
    questions: tuple[str, ...] = ()
    evidence: dict[str, Any] = Field(default_factory=dict)
    links: tuple[str, ...] = ()
    """Evidence links (dashboards, the incident report); defaulted: old histories decode."""


class ReviewTicket(ReviewDraft):
    id: str
    status: str = "open"
    """``open`` or ``closed`` (the review is done)."""
    created_at: AwareDatetime
    url: str | None = None
    resolution: str | None = None
    """What the review concluded, set when it is closed."""


class FreezeRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    """Idempotency key: the same id freezes once."""
    service: str
    component: str
    reason: str
    owner: str
    until: AwareDatetime | None = None
    """None: until lifted explicitly."""
    created_by: str = "orchestrator"


class Freeze(FreezeRequest):
    created_at: AwareDatetime
    lifted_at: AwareDatetime | None = None
    lifted_by: str | None = None
    lift_reason: str | None = None

    def active_at(self, now: datetime) -> bool:
        return self.lifted_at is None and (self.until is None or now < self.until)


class KillSwitch(_Frozen):
    on: bool = False
    by: str | None = None
    reason: str | None = None
    at: AwareDatetime | None = None


class ActionRequest(_Frozen):
    key: str
    """Idempotency key (incident + step): a retried authorization counts once."""
    service: str
    action: str
    automated: bool
    """False when a person decided the action (manual launch, approval, fast-track)."""


class Authorization(_Frozen):
    allowed: bool
    reason: Literal["allowed", "recorded-before", "kill-switch", "circuit-breaker"]
    detail: str
    kill_switch: KillSwitch


def unanswered(why: str) -> Authorization:
    """The safety ledger's answer when it could not give one: no (the orchestrator does not act
    blind); ``why`` says what failed."""
    return Authorization(
        allowed=False,
        reason="circuit-breaker",
        detail=f"the safety ledger did not answer ({why}): not acting",
        kill_switch=KillSwitch(),
    )


class ComponentState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    component: str
    version: str
    """The version serving now."""
    history: tuple[str, ...] = ()
    """Versions that served before, oldest first (the last one is the ``previous``)."""
    replicas: int = Field(default=1, ge=0)
    pinned_by: str | None = None
    """The ref of the change that pinned the version (an incident step), if one did."""

    @property
    def previous(self) -> str | None:
        return self.history[-1] if self.history else None

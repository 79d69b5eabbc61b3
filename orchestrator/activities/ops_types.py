"""Names, inputs and results of the deployment, release, review, paging and safety activities."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from orchestrator.domain.ops_models import (
    ActionRequest,
    Authorization,
    Freeze,
    FreezeRequest,
    Page,
    PageRequest,
    ReviewDraft,
    ReviewTicket,
)

PIN_COMPONENT_VERSION = "pin_component_version"
SCALE_COMPONENT = "scale_component"
RESTORE_COMPONENT = "restore_component"
FREEZE_RELEASES = "freeze_releases"
LIFT_FREEZE = "lift_freeze"
OPEN_INCIDENT_REVIEW = "open_incident_review"
PAGE_ONCALL = "page_oncall"
AUTHORIZE_ACTION = "authorize_action"
RELEASE_CHANGE = "release_change"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PinInput(_Frozen):
    service: str
    component: str
    version: str
    """An explicit version, or ``previous`` (the provider's previous version)."""
    ref: str
    reason: str = ""
    holder: str = ""
    """``<occurrence>/<step>``: the pin is a held change (shared with other incidents, undone by
    the last holder). Empty: the pre-holdings behaviour (incidents started before it)."""


class PinResult(_Frozen):
    service: str
    component: str
    version_before: str
    version_after: str
    changed: bool
    detail: str
    holding: str = ""
    """The held change's target (empty when not held)."""
    baseline: str = ""
    """What served before the first holder (what the last holder's undo restores)."""


class ScaleInput(_Frozen):
    service: str
    component: str
    replicas: int
    ref: str
    holder: str = ""


class ScaleResult(_Frozen):
    service: str
    component: str
    replicas_before: int
    replicas_after: int
    changed: bool
    detail: str
    holding: str = ""
    baseline: str = ""


class RestoreInput(_Frozen):
    """Undo a pin or a scale: back to ``restore`` only while ``expect`` is still what serves."""

    service: str
    component: str
    kind: Literal["version", "replicas"]
    expect: str
    restore: str
    ref: str


class RestoreResult(_Frozen):
    restored: bool
    detail: str
    before: str
    after: str


class FreezeInput(_Frozen):
    request: FreezeRequest
    holder: str = ""


class FreezeResult(_Frozen):
    freeze: Freeze
    active: bool
    detail: str
    holding: str = ""


class LiftInput(_Frozen):
    freeze_id: str
    by: str
    reason: str


class LiftResult(_Frozen):
    freeze: Freeze
    detail: str


class ReviewInput(_Frozen):
    draft: ReviewDraft


class ReviewResult(_Frozen):
    ticket: ReviewTicket
    detail: str


class PageInput(_Frozen):
    request: PageRequest


class PageResult(_Frozen):
    page: Page
    detail: str


class AuthorizeInput(_Frozen):
    request: ActionRequest


AuthorizeResult = Authorization


class ReleaseInput(_Frozen):
    """One holder leaves the held change ``target``; the last one reverts it."""

    target: str
    holder: str
    comment: str
    keep: bool = False
    """Let go without reverting: the change stays in place (a lasting step, its incident over);
    the holding is deleted when this was its last holder."""


class ReleaseResult(_Frozen):
    target: str
    outcome: Literal["gone", "kept", "released"]
    detail: str
    holders_left: int

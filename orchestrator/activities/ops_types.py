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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PinInput(_Frozen):
    service: str
    component: str
    version: str
    """An explicit version, or ``previous`` (the provider's previous version)."""
    ref: str
    reason: str = ""


class PinResult(_Frozen):
    service: str
    component: str
    version_before: str
    version_after: str
    changed: bool
    detail: str


class ScaleInput(_Frozen):
    service: str
    component: str
    replicas: int
    ref: str


class ScaleResult(_Frozen):
    service: str
    component: str
    replicas_before: int
    replicas_after: int
    changed: bool
    detail: str


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


class FreezeResult(_Frozen):
    freeze: Freeze
    active: bool
    detail: str


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

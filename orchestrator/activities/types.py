"""Activity names, inputs and results, shared by workflow code (kept light) and workers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from orchestrator.domain.ops_models import ActionRequest, Authorization

APPLY_FLAG_CHANGE = "apply_flag_change"
APPLY_GATED_FLAG_CHANGE = "apply_gated_flag_change"
ACTION_REFUSED = "ActionRefused"
"""The error type of a gated change the safety ledger refused (its details: the Authorization)."""
VERIFY_FLAG_SERVING = "verify_flag_serving"
RECORD_AUDIT_EVENT = "record_audit_event"
RECORD_AUDIT_EVENTS = "record_audit_events"
SPOOLED = -1
"""What the audit activity answers for an event it put in the dead-letter spool."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FlagChangeInput(_Frozen):
    """One flag change. ``ref`` names the rule this step owns: the same ref is planned again to
    nothing, so a retried or replayed activity changes nothing the second time."""

    incident_id: str
    step_key: str
    flag: str
    kind: str
    """``route_segment`` or ``set_default``."""
    variation: str
    ref: str
    context_kind: str = "user"
    attribute: str | None = None
    values: tuple[str, ...] = ()
    comment: str
    holder: str = ""
    """``<occurrence>/<step>``: the change is held (a segment rule shared by every incident that
    routes the same segment the same way, or a default), undone by the last holder. Empty: the
    pre-holdings behaviour (a rule per step, ``ref``), for incidents started before it."""


class FlagChangeResult(_Frozen):
    flag: str
    changed: bool
    version_before: int
    version_after: int
    instructions: tuple[dict[str, Any], ...]
    before: dict[str, Any]
    after: dict[str, Any]
    holding: str = ""
    """The held change's target (empty when not held)."""
    ref: str = ""
    """The rule ref in place (the shared one when held)."""
    baseline: str = ""
    conflicts: int = 0
    """How many times a concurrent change made the write plan again."""


class GatedFlagChangeInput(_Frozen):
    """A flag change made only if the safety ledger, asked first by the same activity, allows
    ``request`` (the key's first change: no local activity and second workflow task before it)."""

    change: FlagChangeInput
    request: ActionRequest


class GatedFlagChangeResult(_Frozen):
    result: FlagChangeResult
    authorization: Authorization
    """The ledger's answer (allowed: a refusal fails the activity with ``ActionRefused``)."""


class VerifyFlagInput(_Frozen):
    flag: str
    context_kind: str
    attribute: str
    value: str
    expect: str
    control_value: str | None = None
    within_seconds: float


class VerifyFlagResult(_Frozen):
    passed: bool
    flag: str
    served: Any
    control_served: Any = None
    reason: str
    detail: str


REVERT_FLAG_CHANGE = "revert_flag_change"


class RevertFlagInput(_Frozen):
    """Undo one flag change: remove the rule ``ref`` (``flag_rule``), or serve ``restore`` to
    everyone again while ``expect`` is still the default (``flag_default``)."""

    flag: str
    kind: str
    """``flag_rule`` or ``flag_default``."""
    ref: str | None = None
    expect: str | None = None
    restore: str | None = None
    comment: str


class RevertFlagResult(_Frozen):
    flag: str
    changed: bool
    detail: str
    before: dict[str, Any]
    after: dict[str, Any]

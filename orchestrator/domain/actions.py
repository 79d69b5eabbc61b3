"""The fixed registry of playbook actions and the arguments each takes.

A playbook step names one of these actions; its ``args`` (after template rendering) must validate
against the action's argument model. An unknown action or a bad argument fails when the playbook
loads, never at run time. Workflows map each action to exactly one activity (or to a wait that
workflow code performs itself).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Args(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RouteSegmentArgs(_Args):
    """Serve ``variation`` of ``flag`` to contexts whose ``attribute`` is one of ``values``."""

    flag: str
    attribute: str
    values: tuple[str, ...] = Field(min_length=1)
    variation: str
    context_kind: str = "user"


class SetDefaultArgs(_Args):
    """Serve ``variation`` of ``flag`` to everyone the rules do not match (the fallthrough)."""

    flag: str
    variation: str


class VerifySegmentArgs(_Args):
    """Evaluate ``flag`` with the real SDK: a context with ``attribute=value`` must get ``expect``;
    a context with ``attribute=control_value`` (when given) must not."""

    flag: str
    attribute: str
    value: str
    expect: str
    control_value: str | None = None
    context_kind: str = "user"
    within_seconds: float = Field(default=30.0, gt=0, le=600)


class WaitForRecoveryArgs(_Args):
    """Wait until a resolved signal arrives for the incident, at most ``timeout_seconds``."""

    timeout_seconds: float = Field(gt=0)
    on_timeout: Literal["continue", "fail"] = "continue"


class ActionSpec(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    args_model: type[_Args]
    destructive: bool
    """Destructive steps change what users get; a resolved signal never starts one."""
    description: str


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            name="flag.route_segment",
            args_model=RouteSegmentArgs,
            destructive=True,
            description="Add a targeting rule serving a variation to one segment",
        ),
        ActionSpec(
            name="flag.set_default",
            args_model=SetDefaultArgs,
            destructive=True,
            description="Serve a variation to everyone not matched by a rule",
        ),
        ActionSpec(
            name="flag.verify_segment",
            args_model=VerifySegmentArgs,
            destructive=False,
            description="Verify with the LaunchDarkly SDK that a segment gets the variation",
        ),
        ActionSpec(
            name="incident.wait_for_recovery",
            args_model=WaitForRecoveryArgs,
            destructive=False,
            description="Wait for the SLO to recover (a resolved signal)",
        ),
    )
}

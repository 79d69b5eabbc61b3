"""The fixed registry of playbook actions and the arguments each takes.

A playbook step names one of these actions; its ``args`` (after template rendering) must validate
against the action's argument model. An unknown action or a bad argument fails when the playbook
loads, never at run time. Workflows map each action to exactly one activity (or to a wait that
workflow code performs itself).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

KNOWN_GOOD = "known-good"
"""``deploy.pin_version`` version keyword: the catalog's ``known_good`` for the component."""
PREVIOUS = "previous"
"""``deploy.pin_version`` version keyword: the version the deployment provider ran before."""


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
    """Wait until a resolved signal arrives for the incident, at most ``timeout_seconds``.

    On timeout: ``continue`` with the next step, ``fail`` the playbook, or ``escalate`` (page the
    on-call owner, then continue)."""

    timeout_seconds: float = Field(gt=0)
    on_timeout: Literal["continue", "fail", "escalate"] = "continue"


class PinVersionArgs(_Args):
    """Pin ``component`` (a key of the catalog service's ``versions``) to a version and verify the
    deployment provider serves it. ``version`` is ``known-good`` (the catalog's), ``previous`` (what
    the provider ran before the current one) or an explicit version."""

    component: str = Field(min_length=1, max_length=64)
    version: str = Field(default=KNOWN_GOOD, min_length=1, max_length=128)
    reason: str = Field(default="", max_length=500)


class ScaleArgs(_Args):
    """Run ``replicas`` instances of ``component`` (scale inference) and verify the count."""

    component: str = Field(min_length=1, max_length=64)
    replicas: int = Field(ge=1, le=1000)


class FreezeArgs(_Args):
    """Stop releases of ``component`` for ``hours`` (or until an explicit unfreeze when None)."""

    component: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=128)
    hours: float | None = Field(default=None, gt=0, le=90 * 24)


class OpenReviewArgs(_Args):
    """Open the incident review (RCA task) with the evidence gathered so far."""

    title: str = Field(min_length=1, max_length=200)
    owner: str = Field(min_length=1, max_length=128)
    deadline_hours: float = Field(gt=0, le=90 * 24)
    verification: str = Field(min_length=1, max_length=1000)
    """How the corrective action will be verified (the article's "verification method")."""
    questions: tuple[str, ...] = ()
    """What the review must answer (stale data? prompt change? index update?)."""


class PageArgs(_Args):
    """Page a human: ``target`` (default: the catalog's on-call for the service)."""

    message: str = Field(min_length=1, max_length=1000)
    urgency: Literal["high", "low"] = "high"
    target: str | None = Field(default=None, max_length=128)


class ActionSpec(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    args_model: type[_Args]
    destructive: bool
    """Destructive steps change what users get or what may ship: a resolved signal never starts
    one, the kill switch turns them into notices, and the circuit breaker counts them."""
    description: str
    undo: str | None = None
    """How the effect is undone (resolution of a ``temporary`` step, compensation); None: never."""
    identity: tuple[str, ...] | None = None
    """The arguments that say which effect a step has, so a step is not repeated when the
    incident moves to another playbook (None: all of them)."""
    repeatable: bool = False
    """True for waits: running again is never a repetition of an effect."""

    def effect_args(self, args: BaseModel) -> dict[str, object]:
        data = args.model_dump(mode="json")
        if self.identity is None:
            return data
        return {k: data[k] for k in self.identity}


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            name="flag.route_segment",
            args_model=RouteSegmentArgs,
            destructive=True,
            description="Add a targeting rule serving a variation to one segment",
            undo="remove the rule the step added",
        ),
        ActionSpec(
            name="flag.set_default",
            args_model=SetDefaultArgs,
            destructive=True,
            description="Serve a variation to everyone not matched by a rule",
            undo="serve the previous default again (if nobody changed it since)",
        ),
        ActionSpec(
            name="flag.verify_segment",
            args_model=VerifySegmentArgs,
            destructive=False,
            description="Verify with the LaunchDarkly SDK that a segment gets the variation",
        ),
        ActionSpec(
            name="deploy.pin_version",
            args_model=PinVersionArgs,
            destructive=True,
            description="Pin a component to its known-good or previous version; verify the pin",
            undo="pin the version it replaced (if nobody changed it since)",
            identity=("component", "version"),
        ),
        ActionSpec(
            name="deploy.scale",
            args_model=ScaleArgs,
            destructive=True,
            description="Scale a component (inference) to a number of replicas; verify it",
            undo="scale back to the previous count (if nobody changed it since)",
        ),
        ActionSpec(
            name="release.freeze",
            args_model=FreezeArgs,
            destructive=True,
            description="Stop releases of a component until a time or an explicit unfreeze",
            undo="lift the freeze the step set",
            identity=("component",),
        ),
        ActionSpec(
            name="rca.open_review",
            args_model=OpenReviewArgs,
            destructive=False,
            description="Open the incident review with owner, deadline, verification, evidence",
            identity=(),
        ),
        ActionSpec(
            name="page.oncall",
            args_model=PageArgs,
            destructive=False,
            description="Page a human (the service's on-call by default)",
        ),
        ActionSpec(
            name="incident.wait_for_recovery",
            args_model=WaitForRecoveryArgs,
            destructive=False,
            description="Wait for the SLO to recover (a resolved signal)",
            repeatable=True,
        ),
    )
}

"""Step execution for the incident workflow: one playbook action -> one activity (or a wait).

Workflow code: deterministic, no I/O. Every activity call has an explicit timeout and retry policy;
permanent failures (bad arguments, a flag the catalog does not allow) are not retried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from orchestrator.activities.types import (
        APPLY_FLAG_CHANGE,
        VERIFY_FLAG_SERVING,
        FlagChangeInput,
        FlagChangeResult,
        VerifyFlagInput,
        VerifyFlagResult,
    )
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.actions import (
        RouteSegmentArgs,
        SetDefaultArgs,
        VerifySegmentArgs,
        WaitForRecoveryArgs,
    )
    from orchestrator.domain.catalog import Service
    from orchestrator.domain.playbook import Step

EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
    non_retryable_error_types=["PermanentError"],
)


class StepFailed(Exception):  # noqa: N818 - reads as what happened: "raise StepFailed(...)"
    """A step failed for good; ``detail`` says why in words an on-call engineer can act on."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


@dataclass
class StepOutcome:
    status: str
    """``done``, ``skipped`` or ``failed``."""
    kind: AuditKind
    summary: str
    result: dict[str, Any] = field(default_factory=dict)


def rule_ref(incident_id: str, step_id: str) -> str:
    """The targeting-rule ref a step owns: stable across retries and replays of that step."""
    digest = hashlib.sha256(f"{incident_id}/{step_id}".encode()).hexdigest()[:12]
    return f"orchestrator-{step_id}-{digest}"


def _check_flag(service: Service, flag: str, variations: tuple[str, ...]) -> None:
    spec = service.flag(flag)
    if spec is None:
        allowed = ", ".join(f.key for f in service.flags) or "none"
        raise StepFailed(
            f"flag {flag!r} is not one the catalog lets playbooks change for {service.name}"
            f" (allowed: {allowed})"
        )
    for value in variations:
        if value not in spec.variations:
            raise StepFailed(f"flag {flag!r} has no variation {value!r} ({list(spec.variations)})")


class StepRunner:
    """Runs one step's action. ``is_firing`` tells whether the breach is still firing."""

    def __init__(self, incident_id: str, service: Service, is_firing: Callable[[], bool]) -> None:
        self._incident_id = incident_id
        self._service = service
        self._is_firing = is_firing

    async def run(self, step: Step, args: BaseModel) -> StepOutcome:
        if isinstance(args, RouteSegmentArgs):
            return await self._change_flag(step, args)
        if isinstance(args, SetDefaultArgs):
            return await self._change_flag(step, args)
        if isinstance(args, VerifySegmentArgs):
            return await self._verify(step, args)
        if isinstance(args, WaitForRecoveryArgs):
            return await self._wait_for_recovery(args)
        raise StepFailed(f"action {step.action!r} has no executor in this workflow version")

    async def _change_flag(
        self, step: Step, args: RouteSegmentArgs | SetDefaultArgs
    ) -> StepOutcome:
        _check_flag(self._service, args.flag, (args.variation,))
        change = FlagChangeInput(
            incident_id=self._incident_id,
            step_key=f"{self._incident_id}/{step.id}",
            flag=args.flag,
            kind="route_segment" if isinstance(args, RouteSegmentArgs) else "set_default",
            variation=args.variation,
            ref=rule_ref(self._incident_id, step.id),
            context_kind=args.context_kind if isinstance(args, RouteSegmentArgs) else "user",
            attribute=args.attribute if isinstance(args, RouteSegmentArgs) else None,
            values=args.values if isinstance(args, RouteSegmentArgs) else (),
            comment=f"incident {self._incident_id}, step {step.id}",
        )
        result = await workflow.execute_activity(
            APPLY_FLAG_CHANGE,
            change,
            result_type=FlagChangeResult,
            start_to_close_timeout=timedelta(seconds=step.timeout_seconds),
            retry_policy=EFFECT_RETRY,
        )
        target = (
            f"{args.attribute} in {list(args.values)}"
            if isinstance(args, RouteSegmentArgs)
            else "everyone else (fallthrough)"
        )
        if not result.changed:
            return StepOutcome(
                "done",
                AuditKind.EFFECT_SKIPPED,
                f"{args.flag}: {target} already served {args.variation!r}; nothing changed",
                result.model_dump(mode="json"),
            )
        return StepOutcome(
            "done",
            AuditKind.EFFECT_APPLIED,
            f"{args.flag}: {target} now served {args.variation!r}"
            f" (version {result.version_before} -> {result.version_after})",
            result.model_dump(mode="json"),
        )

    async def _verify(self, step: Step, args: VerifySegmentArgs) -> StepOutcome:
        _check_flag(self._service, args.flag, (args.expect,))
        check = VerifyFlagInput(
            flag=args.flag,
            context_kind=args.context_kind,
            attribute=args.attribute,
            value=args.value,
            expect=args.expect,
            control_value=args.control_value,
            within_seconds=args.within_seconds,
        )
        result = await workflow.execute_activity(
            VERIFY_FLAG_SERVING,
            check,
            result_type=VerifyFlagResult,
            start_to_close_timeout=timedelta(seconds=step.timeout_seconds),
            retry_policy=EFFECT_RETRY,
        )
        if not result.passed:
            raise StepFailed(f"verification failed: {result.detail}")
        return StepOutcome(
            "done", AuditKind.VERIFICATION_PASSED, result.detail, result.model_dump(mode="json")
        )

    async def _wait_for_recovery(self, args: WaitForRecoveryArgs) -> StepOutcome:
        timeout = timedelta(seconds=args.timeout_seconds)
        try:
            await workflow.wait_condition(lambda: not self._is_firing(), timeout=timeout)
        except TimeoutError:
            if args.on_timeout == "fail":
                raise StepFailed(f"the SLO did not recover within {timeout}") from None
            return StepOutcome(
                "done", AuditKind.NOTE, f"the SLO did not recover within {timeout}; continuing"
            )
        return StepOutcome("done", AuditKind.NOTE, "resolved signal received: the SLO recovered")

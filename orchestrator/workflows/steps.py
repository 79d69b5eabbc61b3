"""Step execution for the incident workflow: one playbook action -> one activity (or a wait).

Workflow code: deterministic, no I/O. Every activity call has an explicit timeout and retry policy;
permanent failures (bad arguments, a flag the catalog does not allow) are not retried. Flag steps
and the recovery wait live here; deployment, freeze, review and paging steps in ``steps_ops``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from orchestrator.activities.ops_types import (
        FREEZE_RELEASES,
        LIFT_FREEZE,
        OPEN_INCIDENT_REVIEW,
        PAGE_ONCALL,
        PIN_COMPONENT_VERSION,
        RESTORE_COMPONENT,
        SCALE_COMPONENT,
    )
    from orchestrator.activities.types import (
        APPLY_FLAG_CHANGE,
        REVERT_FLAG_CHANGE,
        VERIFY_FLAG_SERVING,
        FlagChangeInput,
        FlagChangeResult,
        VerifyFlagInput,
        VerifyFlagResult,
    )
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.actions import (
        ACTIONS,
        RouteSegmentArgs,
        SetDefaultArgs,
        VerifySegmentArgs,
        WaitForRecoveryArgs,
    )
    from orchestrator.domain.catalog import Service
    from orchestrator.domain.playbook import Step
    from orchestrator.domain.policy_effects import Undo
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.step_types import StepFailed, StepOutcome
    from orchestrator.workflows.steps_ops import OpsSteps
    from orchestrator.workflows.types import IncidentPhase


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


def _flag_undo(change: FlagChangeInput, result: FlagChangeResult, variation: str) -> Undo:
    """How to undo a flag step: leave its held change (kept even when the write was a retry's
    no-op: the holder is what counts), or, for runs from before held changes, by rule or value."""
    route = change.kind == "route_segment"
    if result.holding:
        return Undo(
            kind="flag_rule" if route else "flag_default",
            target=change.flag,
            ref=result.ref or None,
            expect=None if route else variation,
            restore=None if route else result.baseline,
            holding=result.holding,
            holder=change.holder,
        )
    if route:
        return Undo(kind="flag_rule", target=change.flag, ref=change.ref)
    before = str(result.before.get("fallthrough"))
    return Undo(kind="flag_default", target=change.flag, expect=variation, restore=before)


def flag_outcome(
    change: FlagChangeInput, result: FlagChangeResult, args: RouteSegmentArgs | SetDefaultArgs
) -> StepOutcome:
    """A flag step's outcome from what its activity did: applied, or in place already."""
    route = isinstance(args, RouteSegmentArgs)
    target = (
        f"{args.attribute} in {list(args.values)}"
        if isinstance(args, RouteSegmentArgs)
        else "everyone else (fallthrough)"
    )
    data = result.model_dump(mode="json")
    undo = _flag_undo(change, result, args.variation)
    if not result.changed:
        return StepOutcome(
            "done",
            AuditKind.EFFECT_SKIPPED,
            f"{args.flag}: {target} already served {args.variation!r}; nothing changed",
            data,
            undo=undo if route or result.holding else None,
        )
    return StepOutcome(
        "done",
        AuditKind.EFFECT_APPLIED,
        f"{args.flag}: {target} now served {args.variation!r}"
        f" (version {result.version_before} -> {result.version_after})",
        data,
        undo=undo,
    )


class StepRunner:
    """Runs one step's action for the live incident."""

    def __init__(self, live: Live) -> None:
        self._live = live
        self._ops = OpsSteps(live)

    @property
    def ops(self) -> OpsSteps:
        return self._ops

    async def run(self, step: Step, args: BaseModel, playbook: str) -> StepOutcome:
        executor = EXECUTORS.get(step.action)
        if executor is None:
            raise StepFailed(f"action {step.action!r} has no executor in this workflow version")
        return await executor.run(self, step, args, playbook)

    async def change_flag(
        self, step: Step, args: RouteSegmentArgs | SetDefaultArgs, _playbook: str = ""
    ) -> StepOutcome:
        change = self.flag_change(step, args)
        timeout = timedelta(seconds=step.timeout_seconds)
        result = await workflow.execute_activity(
            APPLY_FLAG_CHANGE,
            change,
            result_type=FlagChangeResult,
            start_to_close_timeout=timeout,
            schedule_to_close_timeout=self._live.effect_budget(timeout),
            retry_policy=self._live.effect_retry,
        )
        return flag_outcome(change, result, args)

    def flag_change(self, step: Step, args: RouteSegmentArgs | SetDefaultArgs) -> FlagChangeInput:
        """What a flag step asks its activity to change (the catalog allowing it)."""
        inc = self._live.inp.incident_id
        _check_flag(self._live.inp.service, args.flag, (args.variation,))
        route = isinstance(args, RouteSegmentArgs)
        return FlagChangeInput(
            incident_id=inc,
            step_key=f"{inc}/{step.id}",
            flag=args.flag,
            kind="route_segment" if route else "set_default",
            variation=args.variation,
            ref=rule_ref(inc, step.id),
            context_kind=args.context_kind if isinstance(args, RouteSegmentArgs) else "user",
            attribute=args.attribute if isinstance(args, RouteSegmentArgs) else None,
            values=args.values if isinstance(args, RouteSegmentArgs) else (),
            comment=f"incident {inc}, step {step.id}",
            holder=self._live.holder(step),
        )

    async def verify(self, step: Step, args: VerifySegmentArgs, _playbook: str = "") -> StepOutcome:
        _check_flag(self._live.inp.service, args.flag, (args.expect,))
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
            schedule_to_close_timeout=self._live.effect_budget(
                timedelta(seconds=step.timeout_seconds)
            ),
            retry_policy=self._live.effect_retry,
        )
        if not result.passed:
            raise StepFailed(f"verification failed: {result.detail}")
        return StepOutcome(
            "done", AuditKind.VERIFICATION_PASSED, result.detail, result.model_dump(mode="json")
        )

    async def wait_for_recovery(
        self, step: Step, args: WaitForRecoveryArgs, _playbook: str = ""
    ) -> StepOutcome:
        live = self._live
        timeout = timedelta(seconds=args.timeout_seconds)
        live.set_phase(IncidentPhase.MONITORING)
        live.auditor.open()
        closed = False
        try:
            await workflow.wait_condition(
                lambda: not live.firing or live.interrupted(), timeout=timeout
            )
        except GeneratorExit:
            closed = True  # see the module doc of .live: a closed coroutine issues nothing
            raise
        except TimeoutError:
            missed = f"the SLO did not recover within {timeout}"
            if args.on_timeout == "fail":
                raise StepFailed(missed) from None
            if args.on_timeout == "escalate":
                paged = await live.page(
                    f"recovery-timeout/{step.id}", f"{missed}; a human must act"
                )
                who = paged.page.target if paged else "nobody (the page failed)"
                return StepOutcome(
                    "done", AuditKind.ESCALATED, f"{missed}; paged {who}", {"paged": bool(paged)}
                )
            return StepOutcome("done", AuditKind.NOTE, f"{missed}; continuing")
        finally:
            if not closed and live.state.phase is IncidentPhase.MONITORING:
                live.set_phase(IncidentPhase.MITIGATING)
        if live.interrupted():
            return StepOutcome("done", AuditKind.NOTE, "wait ended: the incident was interrupted")
        return StepOutcome("done", AuditKind.NOTE, "resolved signal received: the SLO recovered")


Run = Callable[[StepRunner, Step, Any, str], Awaitable[StepOutcome]]


@dataclass(frozen=True)
class Executor:
    """How workflow code carries out one action: its code, the activity it schedules (None: a
    wait in workflow code) and the activity that undoes it (None: never undone). Its risk
    (destructive or not) and arguments are the action's :data:`~orchestrator.domain.actions.ACTIONS`
    entry."""

    run: Run
    activity: str | None
    undo_activity: str | None = None

    @staticmethod
    def ops(method: str, activity: str, undo: str | None = None) -> Executor:
        async def run(runner: StepRunner, step: Step, args: Any, playbook: str) -> StepOutcome:
            outcome: StepOutcome = await getattr(runner.ops, method)(step, args, playbook)
            return outcome

        return Executor(run, activity, undo)


EXECUTORS: Mapping[str, Executor] = {
    "flag.route_segment": Executor(StepRunner.change_flag, APPLY_FLAG_CHANGE, REVERT_FLAG_CHANGE),
    "flag.set_default": Executor(StepRunner.change_flag, APPLY_FLAG_CHANGE, REVERT_FLAG_CHANGE),
    "flag.verify_segment": Executor(StepRunner.verify, VERIFY_FLAG_SERVING),
    "deploy.pin_version": Executor.ops("pin", PIN_COMPONENT_VERSION, RESTORE_COMPONENT),
    "deploy.scale": Executor.ops("scale", SCALE_COMPONENT, RESTORE_COMPONENT),
    "release.freeze": Executor.ops("freeze", FREEZE_RELEASES, LIFT_FREEZE),
    "rca.open_review": Executor.ops("review", OPEN_INCIDENT_REVIEW),
    "page.oncall": Executor.ops("page", PAGE_ONCALL),
    "incident.wait_for_recovery": Executor(StepRunner.wait_for_recovery, None),
}
"""One entry per action of the registry: adding an action is its ACTIONS spec and this entry."""

_missing = sorted(set(ACTIONS) ^ set(EXECUTORS))
if _missing:  # pragma: no cover - a programming error, caught at import by every test
    raise RuntimeError(f"actions and executors disagree: {_missing}")

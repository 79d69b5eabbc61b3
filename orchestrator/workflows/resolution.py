"""Resolution, hold-down and undo: how an incident waits for recovery and takes stopgaps back.

A resolved signal counts only after the playbook's hold-down passes with no new firing signal, so
flapping alerts never make the mitigations flap: while the incident is open, its effects stay in
place; only a resolution that holds undoes the temporary ones, once, newest first. Undo is also
how compensation takes back the reversible steps after a permanent failure. A held change (one
other incidents may need too) is undone by leaving it: the last holder reverts it.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orchestrator.activities.ops_types import (
        LIFT_FREEZE,
        RELEASE_CHANGE,
        RESTORE_COMPONENT,
        LiftInput,
        LiftResult,
        ReleaseInput,
        ReleaseResult,
        RestoreInput,
        RestoreResult,
    )
    from orchestrator.activities.types import (
        REVERT_FLAG_CHANGE,
        RevertFlagInput,
        RevertFlagResult,
    )
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.policy import ResolutionPolicy
    from orchestrator.domain.policy_effects import (
        EffectRecord,
        Undo,
        hold_down_remaining,
        lasting_holds,
    )
    from orchestrator.workflows import continuing
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.step_types import EFFECT_RETRY, budget, describe
    from orchestrator.workflows.types import IncidentPhase

UNDO_TIMEOUT = timedelta(seconds=60)
Recovery = Literal["resolved", "replan", "abort", "expired", "continue"]


async def hold_down(live: Live, seconds: float, *, may_continue: bool = False) -> bool:
    """True when the breach has stayed resolved for ``seconds`` (waiting out the rest); False
    when it fires again first or the incident is interrupted (or, with ``may_continue``, when
    the run should continue as new: the next run holds down for what is left)."""
    if live.firing or live.quiet_since is None:
        return False
    quiet_for = (workflow.now() - live.quiet_since).total_seconds()
    remaining = hold_down_remaining(quiet_for, seconds)
    if remaining > 0:
        previous = live.state.phase
        live.set_phase(IncidentPhase.HOLDING_DOWN)
        live.auditor.open()
        live.auditor.record(
            AuditKind.NOTE,
            f"resolved; holding down {remaining:g}s before acting on it"
            " (a new firing keeps the incident open)",
            {"hold_down_seconds": seconds},
            key=f"hold-down/{live.quiet_since.isoformat()}",
        )
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: (
                    live.firing or live.interrupted() or (may_continue and continuing.due(live))
                ),
                timeout=timedelta(seconds=remaining),
            )
        live.set_phase(previous)
    if may_continue and continuing.due(live) and not live.firing and not live.interrupted():
        return False  # the loop continues as new; the next run holds down the rest
    return not live.firing and not live.interrupted()


async def await_recovery(live: Live, policy: ResolutionPolicy) -> Recovery:
    """After the playbook: wait for a resolution that holds, a re-plan, an abort, or the end of
    ``max_open_seconds`` (a run that continued as new keeps its predecessor's deadline);
    ``continue`` when the run should continue as new first (:mod:`.continuing`)."""
    recovery = await _await_recovery(live, policy)
    if recovery != "continue":
        live.deadline = None  # a re-plan monitors afresh, as it always did
    return recovery


async def _await_recovery(live: Live, policy: ResolutionPolicy) -> Recovery:
    if live.deadline is None:  # else: restored by a continued run
        live.deadline = workflow.now() + timedelta(seconds=policy.max_open_seconds)
    deadline = live.deadline
    while True:
        live.set_phase(IncidentPhase.MONITORING)
        live.auditor.open()
        if continuing.due(live) and not live.interrupted():
            return "continue"
        left = deadline - workflow.now()
        try:
            await workflow.wait_condition(
                lambda: not live.firing or live.interrupted() or continuing.due(live),
                timeout=max(left, timedelta(0)),
            )
        except TimeoutError:
            return "expired"
        if live.abort is not None:
            return "abort"
        if live.replan is not None:
            return "replan"
        if live.firing:
            continue  # woke to continue as new: the loop's top does it
        if await hold_down(live, policy.hold_down_seconds, may_continue=True):
            return "resolved"


async def undo_effects(live: Live, effects: list[EffectRecord], why: str) -> list[str]:
    """Undo each effect in the order given; return what could not be undone (for the page)."""
    problems: list[str] = []
    for effect in effects:
        if effect.undo is None:
            continue
        auth = await live.authorize(
            f"undo:{effect.action}",
            live.key("undo", effect.playbook, effect.step_id),
            automated=False,
        )
        if not auth.allowed:
            live.auditor.record(
                AuditKind.STEP_SKIPPED,
                f"undo of {effect.step_id} not done: {auth.detail};"
                f" {effect.summary} stays in place",
                {"step": effect.step_id, "undo": True, "reason": auth.reason},
            )
            problems.append(f"{effect.step_id}: {auth.detail}")
            continue
        try:
            detail = await _undo(live, effect.undo, why)
        except ActivityError as exc:
            live.auditor.record(
                AuditKind.STEP_FAILED,
                f"undo of {effect.step_id} failed: {describe(exc)}",
                {"step": effect.step_id, "undo": True},
            )
            problems.append(f"{effect.step_id}: {describe(exc)}")
            continue
        effect.undone = True
        effect.undo_detail = detail
        live.auditor.record(
            AuditKind.EFFECT_APPLIED,
            f"undone {effect.step_id} ({why}): {detail}",
            {"step": effect.step_id, "action": effect.action, "undo": True, "why": why},
        )
    return problems


async def let_go(live: Live, why: str) -> None:
    """The incident is over: stop holding what stays in place (lasting held effects), so the
    next incident's undo of the same change reverts to its own baseline."""
    for effect in lasting_holds(live.state.effects):
        assert effect.undo is not None
        assert effect.undo.holding
        assert effect.undo.holder
        try:
            await workflow.execute_activity(
                RELEASE_CHANGE,
                ReleaseInput(
                    target=effect.undo.holding,
                    holder=effect.undo.holder,
                    comment=f"incident {live.inp.incident_id}: {why}",
                    keep=True,
                ),
                result_type=ReleaseResult,
                start_to_close_timeout=UNDO_TIMEOUT,
                schedule_to_close_timeout=budget(UNDO_TIMEOUT, EFFECT_RETRY),
                retry_policy=EFFECT_RETRY,
            )
        except ActivityError as exc:
            live.auditor.record(
                AuditKind.NOTE,
                f"could not let go of {effect.undo.holding}: {describe(exc)}",
                {"step": effect.step_id, "holding": effect.undo.holding},
            )


async def _undo(live: Live, undo: Undo, why: str) -> str:
    comment = f"incident {live.inp.incident_id}: {why}"
    if undo.holding and undo.holder:
        # A held change: this step leaves it; the last holder reverts it to the baseline.
        released: ReleaseResult = await workflow.execute_activity(
            RELEASE_CHANGE,
            ReleaseInput(target=undo.holding, holder=undo.holder, comment=comment),
            result_type=ReleaseResult,
            start_to_close_timeout=UNDO_TIMEOUT,
            schedule_to_close_timeout=budget(UNDO_TIMEOUT, EFFECT_RETRY),
            retry_policy=EFFECT_RETRY,
        )
        return released.detail
    if undo.kind in ("flag_rule", "flag_default"):
        flag: RevertFlagResult = await workflow.execute_activity(
            REVERT_FLAG_CHANGE,
            RevertFlagInput(
                flag=undo.target,
                kind=undo.kind,
                ref=undo.ref,
                expect=undo.expect,
                restore=undo.restore,
                comment=comment,
            ),
            result_type=RevertFlagResult,
            start_to_close_timeout=UNDO_TIMEOUT,
            schedule_to_close_timeout=budget(UNDO_TIMEOUT, EFFECT_RETRY),
            retry_policy=EFFECT_RETRY,
        )
        return flag.detail
    if undo.kind == "freeze":
        lifted: LiftResult = await workflow.execute_activity(
            LIFT_FREEZE,
            LiftInput(freeze_id=undo.target, by="orchestrator", reason=why),
            result_type=LiftResult,
            start_to_close_timeout=UNDO_TIMEOUT,
            schedule_to_close_timeout=budget(UNDO_TIMEOUT, EFFECT_RETRY),
            retry_policy=EFFECT_RETRY,
        )
        return lifted.detail
    restored: RestoreResult = await workflow.execute_activity(
        RESTORE_COMPONENT,
        RestoreInput(
            service=live.inp.service.name,
            component=undo.target,
            kind="version" if undo.kind == "version" else "replicas",
            expect=undo.expect or "",
            restore=undo.restore or "",
            ref=f"{live.inp.incident_id}/undo",
        ),
        result_type=RestoreResult,
        start_to_close_timeout=UNDO_TIMEOUT,
        schedule_to_close_timeout=budget(UNDO_TIMEOUT, EFFECT_RETRY),
        retry_policy=EFFECT_RETRY,
    )
    return restored.detail

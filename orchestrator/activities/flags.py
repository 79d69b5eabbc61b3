"""Flag activities: change a flag through the provider, verify it through the SDK.

Idempotent: the change is planned against the flag's current state, so a retried activity (or the
same step run twice) plans nothing the second time and changes nothing. Every write carries the
flag's version; a concurrent change makes it read and plan again (bounded), never fail at once.
A held change (``holder`` set) joins the holdings ledger first (:mod:`.holdings`), so incidents
that need the same rule share it and the last to leave removes it (:mod:`.changes`).
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from orchestrator.activities.changes import Targets
from orchestrator.activities.errors import permanent, permanent_or_retryable
from orchestrator.activities.flag_writes import PlannedWrite, read_ahead, write_planned
from orchestrator.activities.holdings import Holdings, Known, Read
from orchestrator.activities.types import (
    APPLY_FLAG_CHANGE,
    REVERT_FLAG_CHANGE,
    VERIFY_FLAG_SERVING,
    FlagChangeInput,
    FlagChangeResult,
    RevertFlagInput,
    RevertFlagResult,
    VerifyFlagInput,
    VerifyFlagResult,
)
from orchestrator.domain.flag_plans import plan_remove_rule, plan_route_segment, plan_set_default
from orchestrator.domain.flags import EvalContext, FlagState, Instruction
from orchestrator.domain.holdings import ON, Holding, HoldKind, holding_target, shared_ref
from orchestrator.errors import (
    FlagProviderError,
    FlagRuleError,
    ProviderError,
    ValidationError,
    VerificationError,
)
from orchestrator.providers.flags import FlagEvaluator, FlagProvider
from orchestrator.providers.ld_sdk import wait_for_variation


def summarize(state: FlagState) -> dict[str, Any]:
    """What the audit record keeps of a flag: enough to say what users were served."""
    return {
        "version": state.version,
        "on": state.on,
        "fallthrough": state.value_of(state.fallthrough_variation_id),
        "rules": [
            {
                "ref": rule.ref,
                "clauses": [
                    f"{c.context_kind}.{c.attribute} {'not ' if c.negate else ''}{c.op} "
                    + ",".join(c.values)
                    for c in rule.clauses
                ],
                "serves": state.value_of(rule.variation_id),
            }
            for rule in state.rules
        ],
    }


def held_flag_change(inp: FlagChangeInput) -> tuple[HoldKind, str, dict[str, Any]]:
    """The held change a flag step joins: its kind, its target and how to revert it."""
    if inp.kind == "route_segment":
        values = sorted(inp.values)
        clause = f"{inp.context_kind}.{inp.attribute} in {','.join(values)}"
        target = holding_target("flag_rule", inp.flag, clause, f"serves {inp.variation}")
        spec = {
            "flag": inp.flag,
            "ref": shared_ref(target),
            "context_kind": inp.context_kind,
            "attribute": inp.attribute or "",
            "values": values,
            "variation": inp.variation,
        }
        return "flag_rule", target, spec
    if inp.kind == "set_default":
        return "flag_default", holding_target("flag_default", inp.flag), {"flag": inp.flag}
    raise permanent(f"unknown flag change kind {inp.kind!r}")


def _last_plan(details: list[str], write: PlannedWrite) -> str:
    """What the plan that was written said (the last plan is the check after the write)."""
    if write.instructions and len(details) >= 2:
        return details[-2]
    return details[-1] if details else "nothing to undo"


def _result(
    flag: str,
    write: PlannedWrite,
    *,
    ref: str,
    holding: str = "",
    baseline: str | None = None,
    changed: bool = False,
) -> FlagChangeResult:
    """``changed``: this step's holding changed the flag even when this attempt wrote nothing
    (a retry after the write landed and the completion was lost)."""
    return FlagChangeResult(
        flag=flag,
        changed=bool(write.instructions) or changed,
        version_before=write.before.version,
        version_after=write.after.version,
        instructions=tuple(
            i.model_dump(by_alias=True, exclude_none=True) for i in write.instructions
        ),
        before=summarize(write.before),
        after=summarize(write.after),
        holding=holding,
        ref=ref,
        baseline=baseline or "",
        conflicts=write.conflicts,
    )


class FlagActivities:
    def __init__(
        self, provider: FlagProvider, evaluator: FlagEvaluator, holdings: Holdings | None = None
    ) -> None:
        self._provider = provider
        self._evaluator = evaluator
        self._holdings = holdings

    def _plan(self, state: FlagState, inp: FlagChangeInput) -> list[Instruction]:
        if inp.kind == "route_segment":
            if not inp.attribute or not inp.values:
                raise permanent("route_segment needs attribute and values")
            return plan_route_segment(
                state,
                ref=inp.ref,
                context_kind=inp.context_kind,
                attribute=inp.attribute,
                values=inp.values,
                variation=inp.variation,
            )
        if inp.kind == "set_default":
            return plan_set_default(state, variation=inp.variation)
        raise permanent(f"unknown flag change kind {inp.kind!r}")

    @activity.defn(name=APPLY_FLAG_CHANGE)
    async def apply_flag_change(self, inp: FlagChangeInput) -> FlagChangeResult:
        try:
            if inp.holder:
                return await self._apply_held(inp)
            write = await write_planned(
                self._provider, inp.flag, lambda state: self._plan(state, inp), inp.comment
            )
        except (FlagProviderError, FlagRuleError) as exc:
            raise permanent_or_retryable(exc) from exc
        return _result(inp.flag, write, ref=inp.ref)

    async def _apply_held(self, inp: FlagChangeInput) -> FlagChangeResult:
        """Join the held change (a segment rule every incident routing that segment the same way
        shares, or the default), then bring the flag to what its holders need."""
        if self._holdings is None:
            raise permanent("held flag changes need the holdings store (the audit database)")
        kind, target, spec = held_flag_change(inp)

        async def read(_current: Holding | None) -> tuple[str, str]:
            state = await self._provider.get_flag(inp.flag)
            return str(state.value_of(state.fallthrough_variation_id)), inp.variation

        targets = Targets(flags=self._provider)

        async def finish(dead: Holding) -> str:
            return await targets.revert(dead, inp.comment)

        # a rule of its own is planned from a read that goes on while the holding is claimed
        ahead = read_ahead(self._provider, inp.flag) if kind == "flag_rule" else None
        try:
            # a rule of its own: nothing to read for its baseline (there was no rule)
            known: Read | Known = ("", ON) if kind == "flag_rule" else read
            holding = await self._holdings.join(target, kind, inp.holder, known, spec, finish)
            if kind == "flag_rule":
                held = inp.model_copy(update={"ref": spec["ref"]})
                write = await write_planned(
                    self._provider,
                    inp.flag,
                    lambda state: self._plan(state, held),
                    inp.comment,
                    ahead=ahead,
                )
            else:
                variation = holding.effective
                write = await write_planned(
                    self._provider,
                    inp.flag,
                    lambda state: plan_set_default(state, variation=variation),
                    inp.comment,
                )
        finally:
            if ahead is not None:
                ahead.close()
        first = bool(holding.holders) and holding.holders[0].id == inp.holder
        made = first and (holding.baseline or "") != holding.effective
        return _result(
            inp.flag,
            write,
            ref=spec.get("ref", ""),
            holding=target,
            baseline=holding.baseline,
            changed=made,
        )

    def _revert_plan(self, state: FlagState, inp: RevertFlagInput) -> tuple[list[Instruction], str]:
        if inp.kind == "flag_rule" and inp.ref:
            plan = plan_remove_rule(state, ref=inp.ref)
            return plan, "rule removed" if plan else "the rule is gone already"
        if inp.kind == "flag_default" and inp.expect and inp.restore:
            now = state.value_of(state.fallthrough_variation_id)
            if now != inp.expect:
                return [], f"default is {now!r} (changed since by someone else); left as it is"
            return plan_set_default(state, variation=inp.restore), f"default {inp.restore!r} again"
        raise permanent(f"cannot undo flag change {inp.kind!r} without its ref or values")

    @activity.defn(name=REVERT_FLAG_CHANGE)
    async def revert_flag_change(self, inp: RevertFlagInput) -> RevertFlagResult:
        """Undo one earlier (unheld) change, and read the flag back to check it is undone."""
        details: list[str] = []

        def plan(state: FlagState) -> list[Instruction]:
            instructions, detail = self._revert_plan(state, inp)
            details.append(detail)
            return instructions

        try:
            write = await write_planned(self._provider, inp.flag, plan, inp.comment)
        except (FlagProviderError, FlagRuleError) as exc:
            raise permanent_or_retryable(exc) from exc
        return RevertFlagResult(
            flag=inp.flag,
            changed=bool(write.instructions),
            detail=f"{inp.flag}: {_last_plan(details, write)}",
            before=summarize(write.before),
            after=summarize(write.after),
        )

    @activity.defn(name=VERIFY_FLAG_SERVING)
    async def verify_flag_serving(self, inp: VerifyFlagInput) -> VerifyFlagResult:
        context = EvalContext(
            kind=inp.context_kind,
            key=f"orchestrator-verify-{inp.attribute}-{inp.value}",
            attributes={inp.attribute: inp.value},
        )
        try:
            served = await wait_for_variation(
                self._evaluator, inp.flag, context, inp.expect, inp.within_seconds
            )
        except VerificationError as exc:
            return VerifyFlagResult(
                passed=False, flag=inp.flag, served=None, reason="not-served", detail=str(exc)
            )
        except ValidationError as exc:  # a context the SDK cannot build: no retry can fix it
            raise permanent(
                f"flag {inp.flag!r}: cannot check what {inp.attribute}={inp.value} is served: {exc}"
            ) from exc
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
        detail = f"SDK serves {served.value!r} to {inp.attribute}={inp.value}"
        control_value = None
        if inp.control_value is not None:
            control = await self._evaluator.evaluate(
                inp.flag,
                EvalContext(
                    kind=inp.context_kind,
                    key=f"orchestrator-verify-{inp.attribute}-{inp.control_value}",
                    attributes={inp.attribute: inp.control_value},
                ),
            )
            control_value = control.value
            if control.value == inp.expect:
                return VerifyFlagResult(
                    passed=False,
                    flag=inp.flag,
                    served=served.value,
                    control_served=control.value,
                    reason="control-also-served",
                    detail=f"{detail}, but {inp.attribute}={inp.control_value} gets it too",
                )
            detail += f"; {inp.attribute}={inp.control_value} still gets {control.value!r}"
        return VerifyFlagResult(
            passed=True,
            flag=inp.flag,
            served=served.value,
            control_served=control_value,
            reason="served",
            detail=detail,
        )

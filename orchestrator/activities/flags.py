"""Flag activities: change a flag through the provider, verify it through the SDK.

Idempotent: the change is planned against the flag's current state, so a retried activity (or the
same step run twice) plans nothing the second time and changes nothing.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from orchestrator.activities.errors import not_verified, permanent, permanent_or_retryable
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
from orchestrator.errors import FlagProviderError, FlagRuleError, ProviderError, VerificationError
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


class FlagActivities:
    def __init__(self, provider: FlagProvider, evaluator: FlagEvaluator) -> None:
        self._provider = provider
        self._evaluator = evaluator

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
            before = await self._provider.get_flag(inp.flag)
            instructions = self._plan(before, inp)
            after = before
            if instructions:
                after = await self._provider.apply(inp.flag, instructions, inp.comment)
                if self._plan(after, inp):
                    raise not_verified(
                        f"flag {inp.flag}: the change did not take (state after still differs)"
                    )
        except (FlagProviderError, FlagRuleError) as exc:
            raise permanent_or_retryable(exc) from exc
        return FlagChangeResult(
            flag=inp.flag,
            changed=bool(instructions),
            version_before=before.version,
            version_after=after.version,
            instructions=tuple(
                i.model_dump(by_alias=True, exclude_none=True) for i in instructions
            ),
            before=summarize(before),
            after=summarize(after),
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
        """Undo one earlier change, and read the flag back to check it is undone."""
        try:
            before = await self._provider.get_flag(inp.flag)
            instructions, detail = self._revert_plan(before, inp)
            after = before
            if instructions:
                after = await self._provider.apply(inp.flag, instructions, inp.comment)
                if self._revert_plan(after, inp)[0]:
                    raise not_verified(f"flag {inp.flag}: the undo did not take")
        except (FlagProviderError, FlagRuleError) as exc:
            raise permanent_or_retryable(exc) from exc
        return RevertFlagResult(
            flag=inp.flag,
            changed=bool(instructions),
            detail=f"{inp.flag}: {detail}",
            before=summarize(before),
            after=summarize(after),
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

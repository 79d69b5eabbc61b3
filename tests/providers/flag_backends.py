"""The changes flag-write tests make: routing a segment, another incident's rule."""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.domain.flag_plans import plan_route_segment
from orchestrator.domain.flags import AddRule, Clause, FlagState, Instruction
from tests.providers.conftest import ANSWER_MODE

KEY = ANSWER_MODE.key
Change = Callable[[FlagState], list[Instruction]]


def route(ref: str, value: str, variation: str) -> Change:
    """An incident's change: the users whose ``language`` is ``value`` get ``variation``."""

    def plan(state: FlagState) -> list[Instruction]:
        return plan_route_segment(
            state,
            ref=ref,
            context_kind="user",
            attribute="language",
            values=[value],
            variation=variation,
        )

    return plan


route_es = route("es-fallback", "es", "human-queue")


def other_rule(ref: str, value: str) -> Change:
    """Another incident's change: its own rule (last), serving retrieval-only."""

    def plan(state: FlagState) -> list[Instruction]:
        clause = Clause(attribute="country", values=(value,))
        return [
            AddRule(
                clauses=(clause,),
                variation_id=state.variation_id_for("retrieval-only"),
                ref=ref,
            )
        ]

    return plan

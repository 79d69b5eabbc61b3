"""Idempotent planners: the semantic-patch instructions that bring a flag to a goal.

Pure: no I/O. Each ``plan_*`` helper computes the instructions that reach its goal, and returns
``[]`` once it is reached, so applying the same change twice changes nothing the second time, on
every backend.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.domain.flags import (
    AddRule,
    Clause,
    FlagState,
    Instruction,
    RemoveRule,
    TurnFlagOn,
    UpdateFallthroughVariationOrRollout,
)


def plan_route_segment(
    state: FlagState,
    *,
    ref: str,
    context_kind: str,
    attribute: str,
    values: Sequence[str],
    variation: str,
    description: str | None = None,
    first: bool = True,
) -> list[Instruction]:
    """Serve ``variation`` to contexts whose ``attribute`` is one of ``values``, via rule ``ref``.

    The new rule goes before every other rule when ``first`` (a mitigation must win over older
    rules), and replaces a rule with the same ``ref`` in place when its content differs.
    """
    var_id = state.variation_id_for(variation)
    clauses = (Clause(context_kind=context_kind, attribute=attribute, values=tuple(values)),)
    turn_on: list[Instruction] = [] if state.on else [TurnFlagOn()]
    existing = state.rule_by_ref(ref)
    if existing is None:
        # A rule without ref serving the same thing counts as done (a backend that drops refs).
        same = [
            r
            for r in state.rules
            if r.ref is None and r.clauses == clauses and r.variation_id == var_id
        ]
        if same:
            return turn_on
    elif existing.clauses == clauses and existing.variation_id == var_id:
        return turn_on
    before: str | None = None
    if existing is not None:
        at = state.rules.index(existing)
        before = state.rules[at + 1].id if at + 1 < len(state.rules) else None
    elif first and state.rules:
        before = state.rules[0].id
    add = AddRule(
        clauses=clauses,
        variation_id=var_id,
        description=description,
        ref=ref,
        before_rule_id=before,
    )
    remove: list[Instruction] = [] if existing is None else [RemoveRule(rule_id=existing.id)]
    return [*remove, add, *turn_on]


def plan_set_default(state: FlagState, *, variation: str) -> list[Instruction]:
    """Make ``variation`` the fallthrough (what contexts matching no rule or target get)."""
    var_id = state.variation_id_for(variation)
    if state.fallthrough_variation_id == var_id:
        return []
    return [UpdateFallthroughVariationOrRollout(variation_id=var_id)]


def plan_remove_rule(state: FlagState, *, ref: str) -> list[Instruction]:
    rule = state.rule_by_ref(ref)
    return [] if rule is None else [RemoveRule(rule_id=rule.id)]

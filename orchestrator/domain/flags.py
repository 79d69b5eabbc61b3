"""Feature flags as LaunchDarkly models them, and LaunchDarkly semantic-patch instructions.

Pure: no I/O. ``model_dump(by_alias=True, exclude_none=True)`` of an :data:`Instruction` is exactly
the semantic-patch JSON LaunchDarkly's REST API takes; :func:`apply_instructions` gives the state
LaunchDarkly would produce. The server-SDK flag JSON is rendered in
:mod:`orchestrator.domain.flag_sdk`; the idempotent ``plan_*`` helpers live in
:mod:`orchestrator.domain.flag_plans`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

from orchestrator.domain.catalog import FlagSpec
from orchestrator.errors import FlagRuleError, ValidationError

_IDS = uuid.UUID("6f1c1b43-3f7e-4c55-9a0e-2f3d4c5b6a71")
"""Namespace of the deterministic (uuid5) variation and rule ids."""

ROLLOUT = "(percentage rollout)"
"""What :meth:`FlagState.value_of` says for a rule or fallthrough serving a percentage rollout."""
_Edit = Callable[[tuple[str, ...]], tuple[str, ...]]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class Clause(_Model):
    context_kind: str = "user"
    attribute: str = Field(min_length=1)
    op: str = "in"
    values: tuple[str, ...]
    negate: bool = False


class Variation(_Model):
    id: str
    value: str
    name: str | None = None


class Rule(_Model):
    id: str
    ref: str | None = None
    description: str | None = None
    clauses: tuple[Clause, ...]
    variation_id: str | None
    """None when the rule serves a percentage rollout (read from LaunchDarkly, never written)."""


class Target(_Model):
    context_kind: str = "user"
    values: tuple[str, ...]
    variation_id: str


class FlagState(_Model):
    """One flag's targeting in one environment."""

    key: str
    on: bool
    variations: tuple[Variation, ...]
    fallthrough_variation_id: str | None
    """None when the default rule serves a percentage rollout."""
    off_variation_id: str | None
    rules: tuple[Rule, ...] = ()
    targets: tuple[Target, ...] = ()
    version: int = Field(ge=0)

    def variation_id_for(self, value: str) -> str:
        for variation in self.variations:
            if variation.value == value:
                return variation.id
        known = [v.value for v in self.variations]
        raise FlagRuleError(f"flag {self.key!r} has no variation {value!r} (variations: {known})")

    def value_of(self, variation_id: str | None) -> str:
        """The value a variation id serves; :data:`ROLLOUT` for None (a percentage rollout)."""
        if variation_id is None:
            return ROLLOUT
        for variation in self.variations:
            if variation.id == variation_id:
                return variation.value
        raise FlagRuleError(f"flag {self.key!r} has no variation id {variation_id!r}")

    def rule_by_ref(self, ref: str) -> Rule | None:
        return next((r for r in self.rules if r.ref == ref), None)


class TurnFlagOn(_Model):
    kind: Literal["turnFlagOn"] = "turnFlagOn"


class TurnFlagOff(_Model):
    kind: Literal["turnFlagOff"] = "turnFlagOff"


class UpdateFallthroughVariationOrRollout(_Model):
    kind: Literal["updateFallthroughVariationOrRollout"] = "updateFallthroughVariationOrRollout"
    variation_id: str


class AddRule(_Model):
    kind: Literal["addRule"] = "addRule"
    clauses: tuple[Clause, ...]
    variation_id: str
    description: str | None = None
    ref: str | None = None
    before_rule_id: str | None = None


class RemoveRule(_Model):
    kind: Literal["removeRule"] = "removeRule"
    rule_id: str


class AddTargets(_Model):
    kind: Literal["addTargets"] = "addTargets"
    context_kind: str = "user"
    values: tuple[str, ...]
    variation_id: str


class RemoveTargets(_Model):
    kind: Literal["removeTargets"] = "removeTargets"
    context_kind: str = "user"
    values: tuple[str, ...]
    variation_id: str


Instruction = Annotated[
    TurnFlagOn
    | TurnFlagOff
    | UpdateFallthroughVariationOrRollout
    | AddRule
    | RemoveRule
    | AddTargets
    | RemoveTargets,
    Field(discriminator="kind"),
]
_INSTRUCTIONS: TypeAdapter[list[Instruction]] = TypeAdapter(list[Instruction])


class EvalContext(_Model):
    """An evaluation context as the application builds it (``kind``, ``key``, attributes)."""

    kind: str = "user"
    key: str = Field(min_length=1)
    attributes: dict[str, str] = Field(default_factory=dict)


class Evaluation(_Model):
    value: Any
    variation_index: int | None
    reason_kind: str
    error_kind: str | None = None


def instructions_json(instructions: Sequence[Instruction]) -> list[dict[str, Any]]:
    """The semantic-patch ``instructions`` array."""
    return [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in instructions]


def parse_instructions(data: Any) -> list[Instruction]:
    """Semantic-patch JSON into instructions; ValidationError naming the bad instruction."""
    try:
        return _INSTRUCTIONS.validate_python(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = "instructions" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]
        )
        raise ValidationError(first["msg"], where) from exc


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_IDS, "\x1f".join(parts)))


def new_flag_state(spec: FlagSpec) -> FlagState:
    """A fresh flag for ``spec``: on, serving the default; ids derived from key and values."""
    variations = tuple(
        Variation(id=stable_id(spec.key, "variation", v), value=v, name=v) for v in spec.variations
    )
    default = stable_id(spec.key, "variation", spec.default)
    return FlagState(
        key=spec.key,
        on=True,
        variations=variations,
        fallthrough_variation_id=default,
        off_variation_id=default,
        version=1,
    )


def _reject(state: FlagState, index: int, kind: str, why: str) -> FlagRuleError:
    return FlagRuleError(f"flag {state.key!r}: instructions[{index}] ({kind}): {why}")


def _check_variation(state: FlagState, index: int, kind: str, variation_id: str) -> None:
    if all(v.id != variation_id for v in state.variations):
        known = ", ".join(f"{v.value}={v.id}" for v in state.variations)
        raise _reject(state, index, kind, f"unknown variationId {variation_id!r} (known: {known})")


def _new_rule_id(state: FlagState, ins: AddRule) -> str:
    if ins.ref is not None:
        seed = stable_id(state.key, "rule-ref", ins.ref)
    else:
        body = json.dumps([c.model_dump(mode="json") for c in ins.clauses], sort_keys=True)
        seed = stable_id(state.key, "rule", body, ins.variation_id)
    taken = {r.id for r in state.rules}
    candidate, n = seed, 1
    while candidate in taken:
        candidate, n = stable_id(seed, str(n)), n + 1
    return candidate


def _add_rule(state: FlagState, i: int, ins: AddRule) -> FlagState:
    if not ins.clauses:
        raise _reject(state, i, ins.kind, "a rule needs at least one clause")
    _check_variation(state, i, ins.kind, ins.variation_id)
    if ins.ref is not None and state.rule_by_ref(ins.ref) is not None:
        raise _reject(state, i, ins.kind, f"a rule with ref {ins.ref!r} already exists")
    rule = Rule(
        id=_new_rule_id(state, ins),
        ref=ins.ref,
        description=ins.description,
        clauses=ins.clauses,
        variation_id=ins.variation_id,
    )
    rules = list(state.rules)
    if ins.before_rule_id is None:
        rules.append(rule)
    else:
        at = next((n for n, r in enumerate(rules) if r.id == ins.before_rule_id), None)
        if at is None:
            raise _reject(state, i, ins.kind, f"unknown beforeRuleId {ins.before_rule_id!r}")
        rules.insert(at, rule)
    return state.model_copy(update={"rules": tuple(rules)})


def _edit_targets(state: FlagState, kind: str, variation_id: str, edit: _Edit) -> FlagState:
    targets, found = [], False
    for target in state.targets:
        if (target.context_kind, target.variation_id) == (kind, variation_id):
            found, target = True, target.model_copy(update={"values": edit(target.values)})
        targets.append(target)
    if not found:
        targets.append(Target(context_kind=kind, values=edit(()), variation_id=variation_id))
    return state.model_copy(update={"targets": tuple(t for t in targets if t.values)})


def _add_targets(state: FlagState, i: int, ins: AddTargets) -> FlagState:
    _check_variation(state, i, ins.kind, ins.variation_id)
    for t in state.targets:
        clash = sorted(set(ins.values) & set(t.values))
        if clash and t.context_kind == ins.context_kind and t.variation_id != ins.variation_id:
            raise _reject(state, i, ins.kind, f"{clash} already target {t.variation_id!r}")
    return _edit_targets(
        state, ins.context_kind, ins.variation_id, lambda vs: tuple(dict.fromkeys(vs + ins.values))
    )


def _remove_targets(state: FlagState, i: int, ins: RemoveTargets) -> FlagState:
    _check_variation(state, i, ins.kind, ins.variation_id)
    return _edit_targets(
        state,
        ins.context_kind,
        ins.variation_id,
        lambda vs: tuple(v for v in vs if v not in ins.values),
    )


def _apply_one(state: FlagState, i: int, ins: Instruction) -> FlagState:
    match ins:
        case TurnFlagOn():
            return state.model_copy(update={"on": True})
        case TurnFlagOff():
            return state.model_copy(update={"on": False})
        case UpdateFallthroughVariationOrRollout():
            _check_variation(state, i, ins.kind, ins.variation_id)
            return state.model_copy(update={"fallthrough_variation_id": ins.variation_id})
        case AddRule():
            return _add_rule(state, i, ins)
        case RemoveRule():  # LaunchDarkly: "Does nothing if the rule does not exist."
            return state.model_copy(
                update={"rules": tuple(r for r in state.rules if r.id != ins.rule_id)}
            )
        case AddTargets():
            return _add_targets(state, i, ins)
        case RemoveTargets():
            return _remove_targets(state, i, ins)


def apply_instructions(state: FlagState, instructions: Sequence[Instruction]) -> FlagState:
    """All instructions or none (LaunchDarkly semantics); version + 1 only if something changed."""
    current = state
    for i, ins in enumerate(instructions):
        current = _apply_one(current, i, ins)
    if current == state:
        return state
    return current.model_copy(update={"version": state.version + 1})

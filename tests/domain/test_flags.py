"""Flag state, semantic-patch instructions, the SDK rendering and the idempotent planners."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.domain.catalog import FlagSpec
from orchestrator.domain.flag_plans import plan_remove_rule, plan_route_segment, plan_set_default
from orchestrator.domain.flag_sdk import to_sdk_flag
from orchestrator.domain.flags import (
    ROLLOUT,
    AddRule,
    AddTargets,
    Clause,
    FlagState,
    Instruction,
    RemoveRule,
    RemoveTargets,
    TurnFlagOff,
    TurnFlagOn,
    UpdateFallthroughVariationOrRollout,
    apply_instructions,
    instructions_json,
    new_flag_state,
    parse_instructions,
)
from orchestrator.errors import PERMANENT_ERROR_TYPE, FlagRuleError, ValidationError

SPEC = FlagSpec(
    key="support-assistant-answer-mode",
    variations=("assistant", "retrieval-only", "human-queue"),
    default="assistant",
)
BASE = new_flag_state(SPEC)
ASSISTANT, RETRIEVAL, HUMAN = (BASE.variation_id_for(v) for v in SPEC.variations)
ES = Clause(attribute="language", values=("es",))


def route_es(
    state: FlagState, variation: str = "human-queue", values: tuple[str, ...] = ("es",)
) -> list[Instruction]:
    return plan_route_segment(
        state,
        ref="es-fallback",
        context_kind="user",
        attribute="language",
        values=values,
        variation=variation,
    )


def test_new_flag_state_is_deterministic_and_serves_the_default() -> None:
    assert new_flag_state(SPEC) == BASE
    assert BASE.on
    assert BASE.version == 1
    assert BASE.rules == ()
    assert BASE.value_of(BASE.fallthrough_variation_id) == "assistant"
    assert BASE.value_of(BASE.off_variation_id) == "assistant"
    assert len({ASSISTANT, RETRIEVAL, HUMAN}) == 3
    assert BASE.value_of(None) == ROLLOUT


def test_semantic_patch_json_is_launchdarklys_shape() -> None:
    instructions: list[Instruction] = [
        TurnFlagOn(),
        UpdateFallthroughVariationOrRollout(variation_id="v1"),
        AddRule(clauses=(ES,), variation_id="v2", ref="r", before_rule_id="r0"),
        RemoveRule(rule_id="r1"),
        AddTargets(values=("u1",), variation_id="v3"),
    ]
    assert instructions_json(instructions) == [
        {"kind": "turnFlagOn"},
        {"kind": "updateFallthroughVariationOrRollout", "variationId": "v1"},
        {
            "kind": "addRule",
            "clauses": [
                {
                    "contextKind": "user",
                    "attribute": "language",
                    "op": "in",
                    "values": ["es"],
                    "negate": False,
                }
            ],
            "variationId": "v2",
            "ref": "r",
            "beforeRuleId": "r0",
        },
        {"kind": "removeRule", "ruleId": "r1"},
        {"kind": "addTargets", "contextKind": "user", "values": ["u1"], "variationId": "v3"},
    ]
    assert parse_instructions(instructions_json(instructions)) == instructions


@pytest.mark.parametrize(
    "data",
    [
        [{"kind": "deleteFlag"}],
        [{"kind": "removeRule"}],
        [{"kind": "turnFlagOn", "extra": 1}],
        {"kind": "x"},
    ],
)
def test_parse_instructions_rejects_unknown_or_malformed(data: Any) -> None:
    with pytest.raises(ValidationError, match="instructions"):
        parse_instructions(data)


def _rule(state: FlagState) -> str:
    return state.rules[0].id


# (name, instructions built from the base state, check on the result)
APPLY_CASES: list[
    tuple[str, Callable[[FlagState], list[Instruction]], Callable[[FlagState], bool]]
] = [
    ("off", lambda s: [TurnFlagOff()], lambda r: not r.on),
    (
        "fallthrough",
        lambda s: [UpdateFallthroughVariationOrRollout(variation_id=RETRIEVAL)],
        lambda r: r.value_of(r.fallthrough_variation_id) == "retrieval-only",
    ),
    (
        "add rule",
        lambda s: [AddRule(clauses=(ES,), variation_id=HUMAN, ref="es")],
        lambda r: r.value_of(r.rules[-1].variation_id) == "human-queue" and r.rules[-1].ref == "es",
    ),
    (
        "add rule before",
        lambda s: [
            AddRule(clauses=(ES,), variation_id=HUMAN, ref="first", before_rule_id=_rule(s))
        ],
        lambda r: [x.ref for x in r.rules] == ["first", "existing"],
    ),
    ("remove rule", lambda s: [RemoveRule(rule_id=_rule(s))], lambda r: r.rules == ()),
    (
        "add targets",
        lambda s: [AddTargets(values=("u1", "u2"), variation_id=HUMAN)],
        lambda r: r.targets[0].values == ("u1", "u2"),
    ),
    (
        "add then remove targets",
        lambda s: [
            AddTargets(values=("u1", "u2"), variation_id=HUMAN),
            RemoveTargets(values=("u1",), variation_id=HUMAN),
        ],
        lambda r: r.targets[0].values == ("u2",),
    ),
    (
        "remove all targets",
        lambda s: [
            AddTargets(values=("u1",), variation_id=HUMAN),
            RemoveTargets(values=("u1",), variation_id=HUMAN),
            TurnFlagOff(),
        ],
        lambda r: r.targets == () and not r.on,
    ),
]


@pytest.mark.parametrize(("name", "build", "check"), APPLY_CASES, ids=[c[0] for c in APPLY_CASES])
def test_apply_instructions(
    name: str, build: Callable[[FlagState], list[Instruction]], check: Callable[[FlagState], bool]
) -> None:
    state = apply_instructions(
        BASE,
        [
            AddRule(
                clauses=(Clause(attribute="tier", values=("vip",)),),
                variation_id=RETRIEVAL,
                ref="existing",
            )
        ],
    )
    result = apply_instructions(state, build(state))
    assert check(result), result
    assert result.version == state.version + 1


@pytest.mark.parametrize(
    "instructions",
    [
        [],
        [TurnFlagOn()],
        [UpdateFallthroughVariationOrRollout(variation_id=ASSISTANT)],
        [RemoveRule(rule_id="no-such-rule")],
        [RemoveTargets(values=("nobody",), variation_id=HUMAN)],
    ],
    ids=[
        "empty",
        "already on",
        "same fallthrough",
        "remove missing rule (LD: no-op)",
        "remove missing target",
    ],
)
def test_no_op_instructions_leave_the_state_and_version_alone(
    instructions: list[Instruction],
) -> None:
    assert apply_instructions(BASE, instructions) is BASE


@pytest.mark.parametrize(
    ("instructions", "message"),
    [
        ([UpdateFallthroughVariationOrRollout(variation_id="nope")], "unknown variationId 'nope'"),
        ([AddRule(clauses=(ES,), variation_id="nope")], "unknown variationId"),
        ([AddRule(clauses=(), variation_id=HUMAN)], "at least one clause"),
        (
            [
                AddRule(clauses=(ES,), variation_id=HUMAN, ref="x"),
                AddRule(clauses=(ES,), variation_id=HUMAN, ref="x"),
            ],
            "ref 'x' already exists",
        ),
        (
            [AddRule(clauses=(ES,), variation_id=HUMAN, before_rule_id="ghost")],
            "unknown beforeRuleId 'ghost'",
        ),
        ([AddTargets(values=("u1",), variation_id="nope")], "unknown variationId"),
        (
            [
                AddTargets(values=("u1",), variation_id=HUMAN),
                AddTargets(values=("u1",), variation_id=RETRIEVAL),
            ],
            "already target",
        ),
    ],
)
def test_invalid_instructions_are_permanent_errors(
    instructions: list[Instruction], message: str
) -> None:
    with pytest.raises(FlagRuleError, match=message) as caught:
        apply_instructions(BASE, [TurnFlagOff(), *instructions])
    failure = permanent_or_retryable(caught.value)  # what the activity raises: never retried
    assert failure.non_retryable and failure.type == PERMANENT_ERROR_TYPE
    assert "instructions[" in str(caught.value)
    assert SPEC.key in str(caught.value)


def test_rule_ids_are_deterministic_so_replays_give_the_same_state() -> None:
    plan = route_es(BASE)
    assert apply_instructions(BASE, plan) == apply_instructions(new_flag_state(SPEC), plan)
    no_ref = [
        AddRule(clauses=(ES,), variation_id=HUMAN),
        AddRule(clauses=(ES,), variation_id=HUMAN),
    ]
    twice = apply_instructions(BASE, no_ref)
    assert len({r.id for r in twice.rules}) == 2
    assert twice == apply_instructions(BASE, no_ref)


def test_route_segment_plans_then_converges() -> None:
    plan = route_es(BASE)
    assert [i.kind for i in plan] == ["addRule"]
    after = apply_instructions(BASE, plan)
    assert route_es(after) == []
    assert apply_instructions(after, route_es(after)) is after


def test_route_segment_goes_first_and_turns_the_flag_on() -> None:
    other = apply_instructions(
        BASE, [AddRule(clauses=(ES,), variation_id=RETRIEVAL, ref="older"), TurnFlagOff()]
    )
    plan = route_es(other)
    assert [i.kind for i in plan] == ["addRule", "turnFlagOn"]
    after = apply_instructions(other, plan)
    assert [r.ref for r in after.rules] == ["es-fallback", "older"]
    assert after.on
    assert route_es(after) == []
    off_again = apply_instructions(after, [TurnFlagOff()])
    assert route_es(off_again) == [TurnFlagOn()]


def test_route_segment_replaces_a_differing_rule_in_place() -> None:
    state = apply_instructions(BASE, [AddRule(clauses=(ES,), variation_id=RETRIEVAL, ref="a")])
    state = apply_instructions(state, route_es(state, variation="retrieval-only"))
    state = apply_instructions(state, [AddRule(clauses=(ES,), variation_id=RETRIEVAL, ref="z")])
    assert [r.ref for r in state.rules] == ["es-fallback", "a", "z"]
    for variation, values in [("human-queue", ("es",)), ("human-queue", ("es", "ca"))]:
        plan = route_es(state, variation=variation, values=values)
        assert [i.kind for i in plan] == ["removeRule", "addRule"]
        state = apply_instructions(state, plan)
        assert [r.ref for r in state.rules] == ["es-fallback", "a", "z"]
        assert route_es(state, variation=variation, values=values) == []
    assert state.rule_by_ref("es-fallback") == state.rules[0]
    assert state.rules[0].clauses[0].values == ("es", "ca")


def test_route_segment_accepts_an_equivalent_rule_whose_ref_was_dropped() -> None:
    state = apply_instructions(BASE, [AddRule(clauses=(ES,), variation_id=HUMAN)])
    assert route_es(state) == []


def test_route_segment_unknown_variation_is_permanent() -> None:
    with pytest.raises(FlagRuleError, match="no variation 'bogus'") as caught:
        route_es(BASE, variation="bogus")
    failure = permanent_or_retryable(caught.value)  # what the activity raises: never retried
    assert failure.non_retryable and failure.type == PERMANENT_ERROR_TYPE


def test_set_default_and_remove_rule_planners_are_idempotent() -> None:
    plan = plan_set_default(BASE, variation="retrieval-only")
    assert plan == [UpdateFallthroughVariationOrRollout(variation_id=RETRIEVAL)]
    after = apply_instructions(BASE, plan)
    assert plan_set_default(after, variation="retrieval-only") == []
    routed = apply_instructions(after, route_es(after))
    removal = plan_remove_rule(routed, ref="es-fallback")
    assert removal == [RemoveRule(rule_id=routed.rules[0].id)]
    removed = apply_instructions(routed, removal)
    assert removed.rules == ()
    assert plan_remove_rule(removed, ref="es-fallback") == []
    assert removed.version == routed.version + 1


def test_to_sdk_flag_is_the_server_sdk_flag_shape() -> None:
    state = apply_instructions(
        BASE,
        [
            *route_es(BASE),
            AddTargets(values=("agent-7",), variation_id=RETRIEVAL),
            AddTargets(context_kind="org", values=("acme",), variation_id=HUMAN),
        ],
    )
    flag = to_sdk_flag(state)
    json.dumps(flag)
    assert flag["variations"] == ["assistant", "retrieval-only", "human-queue"]
    assert flag["fallthrough"] == {"variation": 0}
    assert flag["offVariation"] == 0
    assert flag["rules"] == [
        {
            "id": state.rules[0].id,
            "variation": 2,
            "clauses": [
                {
                    "contextKind": "user",
                    "attribute": "language",
                    "op": "in",
                    "values": ["es"],
                    "negate": False,
                }
            ],
            "trackEvents": False,
        }
    ]
    assert flag["targets"] == [{"values": ["agent-7"], "variation": 1}]
    assert flag["contextTargets"] == [
        {"contextKind": "user", "values": [], "variation": 1},
        {"contextKind": "org", "values": ["acme"], "variation": 2},
    ]
    assert (flag["key"], flag["version"], flag["on"], flag["deleted"]) == (SPEC.key, 2, True, False)
    assert flag["prerequisites"] == []
    assert flag["salt"]


def test_to_sdk_flag_refuses_rollouts_it_cannot_render() -> None:
    rollout = BASE.model_copy(update={"fallthrough_variation_id": None})
    with pytest.raises(FlagRuleError, match="percentage rollout"):
        to_sdk_flag(rollout)

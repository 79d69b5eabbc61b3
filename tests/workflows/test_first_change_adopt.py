"""An occurrence that decides otherwise than its key's workflow did still owns the first change.

The key's workflow makes the first mitigating change before the occurrence starts
(:mod:`orchestrator.workflows.first`). A signal that reaches the occurrence before its run starts
(a worse one) can change its decision; the change already made must then be in its effects, so the
new plan does not repeat it and the incident undoes it when it ends.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.audit.model import AuditKind
from orchestrator.domain.policy_effects import Undo
from orchestrator.workflows import first, patches
from orchestrator.workflows.types import FirstEffect, IncidentState

MADE = FirstEffect(
    playbook="fairness-language-gap",
    step_id="route-segment-to-humans",
    action="flag.route_segment",
    args={"flag": "support-assistant-answer-mode", "values": ["es"]},
    signals=1,
    severity="SEV2",
    effect_key='flag.route_segment:{"flag":"support-assistant-answer-mode"}',
    temporary=True,
    status="done",
    kind=AuditKind.EFFECT_APPLIED,
    summary="support-assistant-answer-mode: language in ['es'] now served 'human-queue'",
    result={"changed": True},
    undo=Undo(kind="flag_rule", target="support-assistant-answer-mode", ref="r", holding="h"),
)


def test_the_same_decision_takes_the_change_as_its_steps_outcome() -> None:
    assert not first.unused(MADE, "SEV2", 1, "fairness-language-gap")
    assert not first.unused(None, "SEV1", 3, "other")


def test_a_different_severity_playbook_or_signal_count_is_another_decision() -> None:
    assert first.unused(MADE, "SEV1", 1, "fairness-language-gap")
    assert first.unused(MADE, "SEV2", 2, "fairness-language-gap")
    assert first.unused(MADE, "SEV2", 1, "rollback-and-freeze")


def test_an_adopted_change_is_an_effect_in_place_with_its_undo_and_audited() -> None:
    state = IncidentState(incident_id="inc", service="support-assistant", slo="language-gap")
    recorded: list[tuple[Any, ...]] = []

    def record(kind: AuditKind, summary: str, data: dict[str, Any]) -> None:
        recorded.append((kind, summary, data))

    first.adopt(state, MADE, record)
    [effect] = state.effects
    assert effect.key == MADE.effect_key
    assert effect.undo == MADE.undo
    assert effect.temporary and not effect.undone
    [step] = state.steps
    assert (step.id, step.status, step.gate) == ("route-segment-to-humans", "done", "run")
    [(kind, summary, data)] = recorded
    assert kind is AuditKind.EFFECT_APPLIED
    assert "made as the occurrence opened" in summary
    assert data["step"] == "route-segment-to-humans"


def test_an_attempt_with_no_known_outcome_is_not_taken_as_done() -> None:
    """A first change the key tried once that timed out (it may have landed) is handed over as
    attempted: never an effect in place by itself (the occurrence runs the step, or settles it
    by running it again with its retries)."""
    attempted = MADE.model_copy(
        update={"status": "attempted", "kind": AuditKind.NOTE, "summary": "timed out"}
    )
    state = IncidentState(incident_id="inc", service="support-assistant", slo="language-gap")
    recorded: list[tuple[Any, ...]] = []
    first.adopt(state, attempted, lambda *a: recorded.append(a))
    assert state.effects == [] and state.steps == []
    [(kind, summary, _)] = recorded
    assert kind is AuditKind.NOTE and "outcome unknown: check it" in summary


def test_deciding_ahead_never_asks_the_sdk_for_a_patch() -> None:
    """The key's workflow builds the occurrence it is about to start mid-run: no patch may be
    asked of the SDK then (a marker there would be met elsewhere on replay). Outside a workflow
    the SDK's call would raise; here the rolled-up changes are in and any other is not."""
    with patches.deciding_ahead():
        assert patches.patched("held-changes")
        assert not patches.patched("a-change-made-after-the-rollup")
    with pytest.raises(Exception, match=r"[Ww]orkflow"):
        patches.patched("held-changes")

"""One registry from action to executor: every action has one, and its undo matches the spec."""

from __future__ import annotations

from orchestrator.domain.actions import ACTIONS
from orchestrator.workflows.steps import EXECUTORS


def test_every_action_has_exactly_one_executor() -> None:
    assert set(EXECUTORS) == set(ACTIONS)


def test_an_action_is_undone_by_an_activity_exactly_when_its_spec_says_it_can_be() -> None:
    for name, spec in ACTIONS.items():
        executor = EXECUTORS[name]
        assert (executor.undo_activity is not None) == (spec.undo is not None), name


def test_only_waits_run_in_workflow_code_without_an_activity() -> None:
    without = {name for name, executor in EXECUTORS.items() if executor.activity is None}
    assert without == {name for name, spec in ACTIONS.items() if spec.repeatable}

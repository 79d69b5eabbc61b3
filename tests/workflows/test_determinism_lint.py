"""Workflow code stays deterministic without the sandbox's help.

The worker runs workflows without Temporal's sandbox (workers/runtime.py), so a call to the wall
clock, a random source or the outside world in workflow code is not refused at run time. This
test refuses it at review time instead, for every module under ``orchestrator/workflows`` and
``orchestrator/domain`` (the models, decisions and templates the workflows run); the stored
replay histories (tests/replay) catch what it cannot see.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "orchestrator"
WORKFLOW_CODE = sorted([*PACKAGE.glob("workflows/*.py"), *PACKAGE.glob("domain/*.py")])

FORBIDDEN_MODULES = {
    "os", "time", "random", "uuid", "threading", "socket", "subprocess", "secrets", "sqlite3",
    "httpx", "requests", "psycopg", "ldclient", "multiprocessing", "concurrent",
}  # fmt: skip
"""Imports that only bring what a workflow must not use (the clock, randomness, I/O, threads)."""
FORBIDDEN_BUILTINS = {"open", "input", "print", "breakpoint"}
FORBIDDEN_METHODS = {"now", "utcnow", "today", "fromtimestamp", "getenv", "uuid1", "uuid4"}
"""``datetime.now()`` and kin read the wall clock; ``workflow.now()`` is the workflow's clock."""
ALLOWED_CALLS = {("workflow", "now")}
ALLOWED_IMPORTS = {("domain/flags.py", "uuid"), ("domain/shared.py", "threading")}
"""domain/flags.py derives rule and variation ids with ``uuid5`` (a hash: the same every time);
domain/shared.py guards the per-process cache of decoded playbooks with a lock."""


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
        found += [
            f"{path.name}:{node.lineno} imports {n}"
            for n in names
            if n in FORBIDDEN_MODULES
            and (f"{path.parent.name}/{path.name}", n) not in ALLOWED_IMPORTS
        ]
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS | FORBIDDEN_METHODS:
                found.append(f"{path.name}:{node.lineno} calls {func.id}()")
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
                owner = func.value.id if isinstance(func.value, ast.Name) else "?"
                if (owner, func.attr) not in ALLOWED_CALLS:
                    found.append(f"{path.name}:{node.lineno} calls {owner}.{func.attr}()")
    return found


@pytest.mark.parametrize("path", WORKFLOW_CODE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_workflow_module_uses_no_clock_randomness_or_io(path: Path) -> None:
    assert _violations(path) == []


def test_the_lint_sees_what_it_refuses(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import random\nfrom datetime import datetime\nfrom temporalio import workflow\n"
        "a = datetime.now()\nb = workflow.now()\nc = open('f')\n"
        "from uuid import uuid4\nd = uuid4()\n"
    )
    assert sorted(_violations(bad)) == [
        "bad.py:1 imports random",
        "bad.py:4 calls datetime.now()",
        "bad.py:6 calls open()",
        "bad.py:7 imports uuid",
        "bad.py:8 calls uuid4()",
    ]

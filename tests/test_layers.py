"""The layers of docs/architecture.md, enforced: a test fails when an import crosses them.

Every ``import`` and ``from ... import`` in orchestrator/ and workers/ is read with ``ast`` (those
inside functions and ``with`` blocks too). Each folder may import only the project folders its
row of ALLOWED names; importing a module means importing its package too, so a rule names the
folder (``orchestrator.domain``) or one module of it (``orchestrator.activities.types``).
Module-level imports must also form no circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = ("orchestrator.errors", "orchestrator.secrets")
"""The one error tree and secret redaction: every layer may use them."""
INTERFACES = (
    "orchestrator.activities.types",
    "orchestrator.activities.ops_types",
    "orchestrator.audit.model",
)
"""What workflow code may know of activities: their names, inputs and results."""

ALLOWED: dict[str, tuple[str, ...]] = {
    "orchestrator.domain": ("orchestrator.domain", *BASE),
    "orchestrator.config": ("orchestrator.config", "orchestrator.domain", *BASE),
    "orchestrator.audit": ("orchestrator.audit", *BASE),
    "orchestrator.providers": ("orchestrator.providers", "orchestrator.domain", *BASE),
    "orchestrator.activities": (
        "orchestrator.activities",
        "orchestrator.providers",
        "orchestrator.audit",
        "orchestrator.domain",
        *BASE,
    ),
    "orchestrator.workflows": ("orchestrator.workflows", "orchestrator.domain", *INTERFACES, *BASE),
    "orchestrator.client": (
        "orchestrator.client",
        "orchestrator.config",
        "orchestrator.domain",
        "orchestrator.workflows.types",
        "orchestrator.workflows.key_types",
        *BASE,
    ),
    "orchestrator.ingest": (
        "orchestrator.ingest",
        "orchestrator.client",
        "orchestrator.config",
        "orchestrator.audit.store",
        "orchestrator.audit.model",
        "orchestrator.audit.report",
        "orchestrator.audit.report_model",
        "orchestrator.audit.report_render",
        "orchestrator.audit.query",
        "orchestrator.audit.stats",
        "orchestrator.domain",
        "orchestrator.logging",
        *BASE,
    ),
    "orchestrator.slo": ("orchestrator.slo", "orchestrator.domain", *BASE),
    "orchestrator.cli": ("orchestrator",),  # everything of the library, never workers
    "orchestrator.logging": ("orchestrator.secrets",),
    "orchestrator.errors": (),
    "orchestrator.secrets": (),
    "orchestrator": (),
    "workers": ("orchestrator", "workers"),
}
ENTRY_POINT = "workers.main"
"""The console script: the one module outside orchestrator/cli that may import the CLI."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> list[Path]:
    return sorted([*(ROOT / "orchestrator").rglob("*.py"), *(ROOT / "workers").rglob("*.py")])


MODULES = {module_name(p) for p in source_files()}


def imports(path: Path, *, top_level_only: bool = False) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in the file; ``from pkg import mod`` names the
    submodule ``pkg.mod`` when there is one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = _top_level(tree.body) if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield node.lineno, sub if sub in MODULES else node.module


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, looking inside ``with`` and ``try`` but not ``if TYPE_CHECKING``."""
    for node in body:
        if isinstance(node, ast.With | ast.Try):
            yield from _top_level(node.body)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.If):
            yield node


def project(name: str) -> bool:
    return name == "orchestrator" or name.startswith(("orchestrator.", "workers"))


def layer_of(module: str) -> str:
    if module == "orchestrator":
        return module  # the package root: __version__ only
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if layer != "orchestrator" and (module == layer or module.startswith(layer + ".")):
            return layer
    raise AssertionError(f"{module} belongs to no layer of docs/architecture.md")


def allowed(importer: str, imported: str) -> bool:
    """May ``importer`` import ``imported``? The package root (``__version__``) is open to all."""
    if imported == "orchestrator":
        return True
    if layer_of(imported) == "orchestrator.cli" and layer_of(importer) != "orchestrator.cli":
        return importer == ENTRY_POINT
    return any(
        imported == rule or imported.startswith(rule + ".") for rule in ALLOWED[layer_of(importer)]
    )


def violations() -> list[str]:
    found = []
    for path in source_files():
        importer = module_name(path)
        for line, imported in imports(path):
            if project(imported) and not allowed(importer, imported):
                rel = path.relative_to(ROOT)
                found.append(f"{rel}:{line}: {layer_of(importer)} may not import {imported}")
    return found


def test_every_import_stays_inside_its_layer() -> None:
    problems = violations()
    assert not problems, "imports that cross docs/architecture.md's layers:\n" + "\n".join(problems)


def _graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in source_files()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for _, imported in imports(path, top_level_only=True):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and project(imported):
                targets.add(imported)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node], _ = 2, stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_circles() -> None:
    cycle = find_cycle(_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_every_module_has_a_layer() -> None:
    for path in source_files():
        layer_of(module_name(path))


@pytest.mark.parametrize(
    ("importer", "imported", "ok"),
    [
        ("orchestrator.domain.gate", "orchestrator.providers.safety", False),
        ("orchestrator.domain.gate", "orchestrator.errors", True),
        ("orchestrator.workflows.live", "orchestrator.providers.paging", False),
        ("orchestrator.workflows.live", "orchestrator.activities.ops_types", True),
        ("orchestrator.workflows.live", "orchestrator.activities.flags", False),
        ("orchestrator.providers.paging", "orchestrator.workflows.types", False),
        ("orchestrator.ingest.app", "orchestrator.cli.common", False),
        ("workers.runtime", "orchestrator.cli.common", False),
        ("workers.main", "orchestrator.cli.main", True),
        ("orchestrator.cli.main", "workers.runtime", False),
        ("orchestrator.client.submitter", "orchestrator.workflows.incident", False),
    ],
)
def test_the_rules_themselves(importer: str, imported: str, ok: bool) -> None:
    assert allowed(importer, imported) is ok


def test_a_circle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None

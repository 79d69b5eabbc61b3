"""Every command of the ``orchestrator`` CLI, found from the app itself, and a runner for them.

:func:`invocations` walks the typer app of ``workers.main`` (so a command added tomorrow is run
too) and gives each command its required arguments from :class:`ArgValues`, by parameter name or
type, plus a ``--json`` run when the command has that option.

``python -m tests.security.sweep SPEC.json`` runs the invocations of a spec in one process, one
after the other (the CLI's start-up cost is paid once), each as ``orchestrator ARGS`` with its own
extra environment. A command that serves until Ctrl-C (``up``, ``api``, ``worker``) gets a SIGINT
soon after it prints ``Ctrl-C to stop``; any command still running after ``deadline`` seconds gets
one too. Each invocation's output follows a line ``##### <n> <args>`` on stdout and stderr.
"""

from __future__ import annotations

import enum
import json
import os
import signal
import sys
import threading
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

MARK = "#####"
READY = "Ctrl-C to stop"


@dataclass(frozen=True)
class ArgValues:
    """Values for the arguments commands require, by parameter name (the rest by type)."""

    by_name: dict[str, str]
    path: str
    """Any file argument (a breach signal as JSON serves every command that reads one)."""
    optional: frozenset[str] = frozenset({"incident_id", "incident"})
    """Optional parameters still given (so ``status`` and ``audit`` show one incident)."""


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def leaf_commands() -> list[tuple[list[str], Any]]:
    """(command path, click command) of every command of the CLI, groups walked recursively."""
    import typer

    from workers.main import app

    found: list[tuple[list[str], Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children:
            if getattr(command, "invoke_without_command", False) and path:
                found.append((path, command))  # a group that also runs on its own (audit)
            for name, child in sorted(children.items()):
                walk(child, [*path, name])
        else:
            found.append((path, command))

    walk(typer.main.get_command(app), [])
    return found


def _value(param: Any, values: ArgValues) -> str:
    if param.name in values.by_name:
        return values.by_name[param.name]
    annotation = param.type_descriptor.annotation
    if typing.get_origin(annotation) is list:  # a repeatable option: one value
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return str(next(iter(annotation)).value)
    if annotation is Path:
        return values.path
    if annotation is int or annotation is float:
        return "1"
    return "x"


def arguments(command: Any, values: ArgValues) -> list[str]:
    """The arguments a command requires (and the optional ones :class:`ArgValues` names)."""
    args: list[str] = []
    for param in command.params:
        if not param.required and param.name not in values.optional:
            continue
        if getattr(param, "is_flag", False):
            continue
        if param.param_type_name == "argument":
            args.append(_value(param, values))
        else:
            args.extend([param.opts[0], _value(param, values)])
    return args


def invocations(
    values: ArgValues, env_for: dict[str, dict[str, str]] | None = None
) -> list[Invocation]:
    """Every command once, and again with ``--json`` when it has that option; ``env_for`` adds
    environment to the commands it names (``"up"``: ports of its own)."""
    runs: list[Invocation] = []
    for path, command in leaf_commands():
        env = (env_for or {}).get(" ".join(path), {})
        args = [*path, *arguments(command, values)]
        runs.append(Invocation(args, env))
        if any("--json" in getattr(p, "opts", ()) for p in command.params):
            runs.append(Invocation([*args, "--json"], env))
    return runs


# -- the runner (in its own process) ---------------------------------------------------------


class _Watch:
    """stdout that notices ``Ctrl-C to stop`` (the command now serves until interrupted)."""

    def __init__(self, inner: TextIO, on_ready: threading.Event) -> None:
        self._inner = inner
        self._ready = on_ready

    def write(self, text: str) -> int:
        if READY in text:
            self._ready.set()
        return self._inner.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _interrupt_when(ready: threading.Event, finished: threading.Event, deadline: float) -> None:
    ready.wait(deadline)
    if ready.is_set():
        finished.wait(0.5)  # let it serve a moment
    if not finished.is_set():
        os.kill(os.getpid(), signal.SIGINT)


def run_one(index: int, invocation: Invocation, deadline: float) -> None:
    from workers.main import main

    line = f"{MARK} {index} {' '.join(invocation.argv)}"
    print(line, flush=True)
    print(line, file=sys.stderr, flush=True)
    saved_env, saved_out, saved_argv = dict(os.environ), sys.stdout, sys.argv
    ready, finished = threading.Event(), threading.Event()
    os.environ.update(invocation.env)
    sys.stdout = _Watch(saved_out, ready)  # type: ignore[assignment]
    sys.argv = ["orchestrator", *invocation.argv]
    watcher = threading.Thread(
        target=_interrupt_when, args=(ready, finished, deadline), daemon=True
    )
    watcher.start()
    try:
        main()
    except SystemExit as exc:
        print(f"exit {exc.code}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
    finally:
        finished.set()
        sys.stdout, sys.argv = saved_out, saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
        sys.stdout.flush()
        sys.stderr.flush()


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    for index, raw in enumerate(spec["invocations"]):
        try:
            run_one(index, Invocation(raw["argv"], raw["env"]), spec["deadline"])
        except KeyboardInterrupt:  # a late interrupt, after the command had ended
            print("interrupted late", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])

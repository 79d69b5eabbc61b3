"""A small JSON-path subset for reading fields out of an API's answer.

Dotted keys and list indexes, nothing else: ``status.sync.revision``, ``items[0].version``,
``status.history[-2].revision`` (a negative index counts from the end), ``[0].ref`` (an answer
that is a list). No wildcards, filters or recursion: an answer field is named exactly, so a
mapping that no longer matches the API fails loudly instead of picking another field.

Written here rather than taken from a library: the JSONPath packages (``jsonpath-ng``,
``jsonpath-rw``) bring a grammar (and ``ply``) for a language we do not want to offer, and their
``$.a[*]`` syntax is not the dotted form the deploy webhook's configuration documents; this is
the forty lines the subset needs.
"""

from __future__ import annotations

import re
from typing import Any

_PATH = re.compile(r"(?:[^.\[\]\s]+|\[-?\d+\])(?:\.[^.\[\]\s]+|\[-?\d+\])*")
_STEP = re.compile(r"\[(-?\d+)\]|([^.\[\]]+)")

Step = str | int


class JsonPathError(ValueError):
    """A path that does not parse, or an answer that does not hold it."""


def parse_path(path: str) -> tuple[Step, ...]:
    """The steps of ``path``; JsonPathError when it is not dotted keys and ``[n]`` indexes."""
    if not _PATH.fullmatch(path):
        raise JsonPathError(
            f"{path!r} is not a path of dotted keys and [n] indexes (e.g. status.sync.revision,"
            " items[0].version)"
        )
    return tuple(int(index) if index else key for index, key in _STEP.findall(path))


def lookup(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``; JsonPathError naming where it stopped."""
    value = document
    done = ""
    for step in parse_path(path):
        shown = f"[{step}]" if isinstance(step, int) else (f".{step}" if done else step)
        if _holds(value, step):
            value = value[step]
        else:
            where = f" after {done}" if done else ""
            raise JsonPathError(f"the answer has no {shown.lstrip('.')}{where} (path {path})")
        done += shown
    return value


def _holds(value: Any, step: Step) -> bool:
    if isinstance(step, int):
        return isinstance(value, list) and -len(value) <= step < len(value)
    return isinstance(value, dict) and step in value

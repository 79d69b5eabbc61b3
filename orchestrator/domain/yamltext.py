"""YAML text to plain data, with errors that say where (file, line, field)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pydantic
import yaml

from orchestrator.errors import ValidationError

_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (the same documents), about 5x faster than
the pure-Python one: a catalog of a thousand services took 25 s to start a worker, 5 s with it.
A document it refuses is parsed again by the pure-Python loader, whose error says where."""


def parse_yaml(text: str, source: str, error: type[ValidationError] = ValidationError) -> Any:
    """``yaml.safe_load`` that reports the file and line of a syntax error."""
    if _SAFE_LOADER is not yaml.SafeLoader:
        try:
            return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            pass  # parsed again below, for the error
    try:  # the pure-Python loader says where, as the messages always did (libyaml may differ)
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise error(f"invalid YAML: {exc.problem or exc}", where) from exc
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", source) from exc


def dotted(loc: Sequence[int | str]) -> str:
    """``("steps", 1, "args", "flag")`` -> ``steps[1].args.flag``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def describe_pydantic(exc: pydantic.ValidationError, source: str, prefix: str = "") -> list[str]:
    """One ``file: field: message`` line per problem pydantic found."""
    lines = []
    for err in exc.errors():
        loc = dotted([p for p in err["loc"] if not isinstance(p, str) or p != "__root__"])
        field = ".".join(x for x in (prefix, loc) if x)
        lines.append(f"{source}: {field}: {err['msg']}" if field else f"{source}: {err['msg']}")
    return lines

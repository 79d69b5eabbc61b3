"""Load-time checks of a playbook step: its action, arguments, templates, ``when`` and policy.

Every check returns ``(field, message)`` problems instead of raising, so a file's problems are
reported together (:func:`orchestrator.domain.playbook.check_playbook_text`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic

from orchestrator.domain.actions import ACTIONS, ActionSpec
from orchestrator.domain.templating import (
    ALLOWED_NAMES,
    CONTEXT_NAMES,
    check_expression,
    check_template,
    contains_template,
    is_template,
)
from orchestrator.domain.yamltext import dotted
from orchestrator.errors import PlaybookError

Problem = tuple[str, str]
"""(field, message): ``("args.flag", "required")``."""


def _template_problems(value: Any, field: str) -> list[Problem]:
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _template_problems(v, f"{field}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _template_problems(v, f"{field}[{i}]")]
    if not isinstance(value, str) or not is_template(value):
        return []
    try:
        names = check_template(value)
    except PlaybookError as exc:
        return [(field, exc.message)]
    return _names_problems(names, field, "template")


def _names_problems(names: set[str], field: str, kind: str) -> list[Problem]:
    unknown = sorted(names - ALLOWED_NAMES)
    if not unknown:
        return []
    allowed = ", ".join(sorted(CONTEXT_NAMES))
    return [(field, f"{kind} uses unknown name(s) {', '.join(unknown)} (allowed: {allowed})")]


def _when_problems(when: str) -> list[Problem]:
    if is_template(when):
        return [("when", "'when' is a Jinja expression: write it without {{ }} or {% %}")]
    try:
        names = check_expression(when)
    except PlaybookError as exc:
        return [("when", exc.message)]
    return _names_problems(names, "when", "expression")


def _args_problems(spec: ActionSpec, args: Mapping[Any, Any]) -> list[Problem]:
    fields = spec.args_model.model_fields
    allowed = ", ".join(fields)
    problems: list[Problem] = [
        (f"args.{key}", f"unknown argument for {spec.name} (allowed: {allowed})")
        for key in args
        if key not in fields
    ]
    problems += [
        (f"args.{name}", "required")
        for name, field in fields.items()
        if field.is_required() and name not in args
    ]
    templated = {key for key, value in args.items() if contains_template(value)}
    literal = {k: v for k, v in args.items() if k in fields and k not in templated}
    try:
        spec.args_model.model_validate(literal)
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            loc = err["loc"]
            if err["type"] == "missing" or (loc[:1] and loc[0] in templated):
                continue  # missing keys are reported above; templated values are checked at run
            if not loc and templated:
                continue
            problems.append((f"args.{dotted(loc)}" if loc else "args", err["msg"]))
    return problems


def _policy_problems(action: ActionSpec, raw: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    if raw.get("temporary") is True and action.undo is None:
        problems.append(("temporary", f"{action.name} cannot be undone, so it cannot be temporary"))
    approval = raw.get("approval")
    when = approval.get("when") if isinstance(approval, Mapping) else None
    if isinstance(when, str) and when:
        problems += [(f"approval.{f}", msg) for f, msg in _when_problems(when)]
    return problems


def step_problems(raw: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a step's action, args, ``when`` and policy fields (structure aside)."""
    action, args, when = raw.get("action"), raw.get("args", {}), raw.get("when")
    problems: list[Problem] = []
    if isinstance(action, str) and action not in ACTIONS:
        known = ", ".join(sorted(ACTIONS))
        problems.append(("action", f"unknown action {action!r} (known actions: {known})"))
    elif isinstance(action, str):
        if isinstance(args, Mapping):
            problems += _args_problems(ACTIONS[action], args)
        problems += _policy_problems(ACTIONS[action], raw)
    if isinstance(args, Mapping):
        problems += _template_problems(args, "args")
    if isinstance(when, str) and when:
        problems += _when_problems(when)
    return problems

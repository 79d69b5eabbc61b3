"""Playbooks: which breaches they answer (``match``) and the steps they take, checked at load time.

A playbook is YAML that becomes these frozen models before any workflow starts. Loading checks every
step: the action exists, its arguments fit the action's model, every template and ``when`` parses in
the sandbox and uses only the names a template context holds. All problems of a file are reported
together, one per line, each with its location (``file: steps[1] (id).args.flag: required``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from orchestrator.domain.actions import ACTIONS, ActionSpec
from orchestrator.domain.severity import Severity
from orchestrator.domain.signals import Slug
from orchestrator.domain.templating import (
    ALLOWED_NAMES,
    CONTEXT_NAMES,
    check_expression,
    check_template,
    contains_template,
    is_template,
)
from orchestrator.domain.yamltext import dotted, parse_yaml
from orchestrator.errors import NotFoundError, PlaybookError

_SKIP_CHECKS = "skip_playbook_checks"
"""Validation-context key: parse_playbook runs the checks itself on the raw data, to report all."""

Problem = tuple[str, str]
"""(field, message): ``("args.flag", "required")``."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _skipping(info: ValidationInfo) -> bool:
    return isinstance(info.context, Mapping) and bool(info.context.get(_SKIP_CHECKS))


class Match(_Frozen):
    """The breaches a playbook answers: any of ``dimensions``, at one of ``severities``."""

    dimensions: tuple[str, ...] = Field(min_length=1)
    severities: tuple[Severity, ...] = Field(default=tuple(Severity), min_length=1)
    services: tuple[Slug, ...] = ()
    """Empty means any service."""

    def covers(self, service: str, dimension: str, severity: Severity | None = None) -> bool:
        """True when this match takes the breach (any severity when ``severity`` is None)."""
        return (
            dimension in self.dimensions
            and (not self.services or service in self.services)
            and (severity is None or severity in self.severities)
        )


class Step(_Frozen):
    """One action with its arguments; string values in ``args`` may be templates."""

    id: Slug
    action: str
    args: dict[str, Any] = Field(default_factory=dict)
    when: str | None = Field(default=None, min_length=1)
    """A Jinja expression; the step is skipped when it is false."""
    timeout_seconds: float = Field(default=60.0, gt=0, le=7 * 24 * 3600)
    """How long one attempt of the step may take (the activity's start-to-close timeout)."""
    description: str = ""

    @property
    def spec(self) -> ActionSpec:
        return ACTIONS[self.action]

    @model_validator(mode="after")
    def _checked(self, info: ValidationInfo) -> Step:
        if not _skipping(info):
            problems = step_problems(self.model_dump())
            if problems:
                raise ValueError("; ".join(f"{field}: {msg}" for field, msg in problems))
        return self


class Playbook(_Frozen):
    name: Slug
    description: str = ""
    match: Match
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_step_ids(self, info: ValidationInfo) -> Playbook:
        if not _skipping(info):
            dupes = _duplicates([s.id for s in self.steps])
            if dupes:
                raise ValueError(f"duplicate step ids: {dupes}")
        return self

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise NotFoundError(f"playbook {self.name!r} has no step {step_id!r}")


def _duplicates(names: Sequence[str]) -> list[str]:
    return sorted({n for n in names if names.count(n) > 1})


def _specificity(playbook: Playbook) -> tuple[int, int, str]:
    return (0 if playbook.match.services else 1, len(playbook.match.severities), playbook.name)


class PlaybookLibrary(_Frozen):
    playbooks: tuple[Playbook, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> PlaybookLibrary:
        dupes = _duplicates([p.name for p in self.playbooks])
        if dupes:
            raise ValueError(f"duplicate playbook names: {dupes}")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(p.name for p in self.playbooks))

    def by_name(self, name: str) -> Playbook:
        for playbook in self.playbooks:
            if playbook.name == name:
                return playbook
        raise NotFoundError(f"unknown playbook {name!r} (library has: {', '.join(self.names)})")

    def candidates_for(self, service: str, dimension: str) -> tuple[Playbook, ...]:
        """Playbooks matching the service and dimension at any severity, most specific first."""
        found = [p for p in self.playbooks if p.match.covers(service, dimension)]
        return tuple(sorted(found, key=_specificity))

    def select(self, service: str, dimension: str, severity: Severity) -> Playbook | None:
        """The most specific playbook for the breach: one naming the service beats a generic one,
        then the one with fewer severities, then the first by name. None when nothing matches."""
        found = [p for p in self.playbooks if p.match.covers(service, dimension, severity)]
        return min(found, key=_specificity, default=None)


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


def step_problems(raw: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a step's action, args and ``when`` (structure aside): (field, msg)."""
    action, args, when = raw.get("action"), raw.get("args", {}), raw.get("when")
    problems: list[Problem] = []
    if isinstance(action, str) and action not in ACTIONS:
        known = ", ".join(sorted(ACTIONS))
        problems.append(("action", f"unknown action {action!r} (known actions: {known})"))
    elif isinstance(action, str) and isinstance(args, Mapping):
        problems += _args_problems(ACTIONS[action], args)
    if isinstance(args, Mapping):
        problems += _template_problems(args, "args")
    if isinstance(when, str) and when:
        problems += _when_problems(when)
    return problems


def _step_label(index: int, raw_steps: Sequence[Any]) -> str:
    raw = raw_steps[index] if index < len(raw_steps) else None
    step_id = raw.get("id") if isinstance(raw, Mapping) else None
    return f"steps[{index}] ({step_id})" if isinstance(step_id, str) else f"steps[{index}]"


def _structure_lines(
    exc: pydantic.ValidationError, source: str, raw_steps: Sequence[Any]
) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            rest = dotted(loc[2:])
            label = _step_label(loc[1], raw_steps)
            field = f"{label}.{rest}" if rest else label
        else:
            field = dotted(loc)
        message = "required" if err["type"] == "missing" else err["msg"]
        lines.append(f"{source}: {field}: {message}" if field else f"{source}: {message}")
    return lines


def check_playbook_text(text: str, source: str) -> tuple[Playbook | None, list[str]]:
    """The playbook in ``text`` and every problem in it (one ``source: field: msg`` line each).

    The playbook is None whenever the list of problems is not empty.
    """
    try:
        data = parse_yaml(text, source, PlaybookError)
    except PlaybookError as exc:
        return None, [str(exc)]
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else f"a {type(data).__name__}"
        return None, [
            f"{source}: a playbook must be a mapping with name, match and steps, got {kind}"
        ]
    steps = data.get("steps")
    raw_steps: list[Any] = steps if isinstance(steps, list) else []
    lines: list[str] = []
    playbook: Playbook | None = None
    try:
        playbook = Playbook.model_validate(data, context={_SKIP_CHECKS: True})
    except pydantic.ValidationError as exc:
        lines += _structure_lines(exc, source, raw_steps)
    ids = [s["id"] for s in raw_steps if isinstance(s, Mapping) and isinstance(s.get("id"), str)]
    for dupe in _duplicates(ids):
        lines.append(f"{source}: steps: duplicate step id {dupe!r}")
    for i, raw in enumerate(raw_steps):
        if isinstance(raw, Mapping):
            label = _step_label(i, raw_steps)
            lines += [f"{source}: {label}.{field}: {msg}" for field, msg in step_problems(raw)]
    return (None, lines) if lines else (playbook, [])


def parse_playbook(text: str, source: str) -> Playbook:
    """Validate playbook YAML into a :class:`Playbook`; one PlaybookError listing every problem."""
    playbook, problems = check_playbook_text(text, source)
    if playbook is None:
        raise PlaybookError("\n".join(problems))
    return playbook

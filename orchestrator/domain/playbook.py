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
from orchestrator.domain.playbook_checks import step_problems
from orchestrator.domain.policy import ApprovalRule, FailurePolicy, ResolutionPolicy
from orchestrator.domain.severity import Severity
from orchestrator.domain.shared import SharedWhenDecoded
from orchestrator.domain.signals import Slug
from orchestrator.domain.yamltext import dotted, parse_yaml
from orchestrator.errors import NotFoundError, PlaybookError

_SKIP_CHECKS = "skip_playbook_checks"
"""Validation-context key: parse_playbook runs the checks itself on the raw data, to report all."""


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
    slos: tuple[Slug, ...] = ()
    """Empty means any SLO of the dimensions (one playbook per row of an SLO table names it)."""

    def covers(
        self,
        service: str,
        dimension: str,
        severity: Severity | None = None,
        slo: str | None = None,
    ) -> bool:
        """True when this match takes the breach (any severity or SLO when that is None)."""
        return (
            dimension in self.dimensions
            and (not self.services or service in self.services)
            and (severity is None or severity in self.severities)
            and (slo is None or not self.slos or slo in self.slos)
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
    approval: ApprovalRule | None = None
    """When set (and its ``when`` holds), the step waits for a person's approval first."""
    temporary: bool = False
    """The effect is a stopgap: undone once the SLO has recovered (after the hold-down)."""
    compensate: bool = True
    """Undo this step's effect when a later step fails and the playbook asks to compensate."""

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


class Playbook(_Frozen, SharedWhenDecoded):
    name: Slug
    description: str = ""
    match: Match
    manual_only: bool = False
    """Never chosen for a breach by policy; runs only when a person launches it by name."""
    per_segment: bool = False
    """One incident per segment: a breach for ``language=fr`` opens its own incident beside the
    one for ``language=es`` (the key carries the segment) instead of joining it."""
    resolution: ResolutionPolicy = ResolutionPolicy()
    on_failure: FailurePolicy = FailurePolicy()
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


def _specificity(playbook: Playbook) -> tuple[int, int, int, str]:
    m = playbook.match
    return (0 if m.slos else 1, 0 if m.services else 1, len(m.severities), playbook.name)


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

    def for_service(self, service: str) -> tuple[Playbook, ...]:
        """Every playbook the service may run (those for no service in particular included)."""
        return tuple(
            p for p in self.playbooks if not p.match.services or service in p.match.services
        )

    def by_name(self, name: str) -> Playbook:
        for playbook in self.playbooks:
            if playbook.name == name:
                return playbook
        raise NotFoundError(f"unknown playbook {name!r} (library has: {', '.join(self.names)})")

    def candidates_for(
        self, service: str, dimension: str, slo: str | None = None
    ) -> tuple[Playbook, ...]:
        """Playbooks policy may choose for the service, dimension (and SLO) at any severity, most
        specific first; ``manual_only`` playbooks are never among them."""
        found = [
            p
            for p in self.playbooks
            if not p.manual_only and p.match.covers(service, dimension, slo=slo)
        ]
        return tuple(sorted(found, key=_specificity))

    def select(
        self, service: str, dimension: str, severity: Severity, slo: str | None = None
    ) -> Playbook | None:
        """The most specific playbook for the breach: one naming the SLO beats one that does not,
        then one naming the service beats a generic one, then the one with fewer severities, then
        the first by name. ``manual_only`` playbooks are never chosen. None when nothing matches."""
        found = [
            p
            for p in self.playbooks
            if not p.manual_only and p.match.covers(service, dimension, severity, slo)
        ]
        return min(found, key=_specificity, default=None)


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

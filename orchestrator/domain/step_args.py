"""A step's arguments in an incident: its ``when`` and its templates rendered into its action's
argument model. Pure; separate from :mod:`~orchestrator.domain.templating` (which knows nothing of
playbooks) so that templating, playbook and its load-time checks form no import circle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic

from orchestrator.domain.actions import ACTIONS
from orchestrator.domain.playbook import Step
from orchestrator.domain.templating import evaluate_condition, render_value
from orchestrator.domain.yamltext import describe_pydantic
from orchestrator.errors import PlaybookError


def should_run(step: Step, context: Mapping[str, Any]) -> bool:
    """True when the step has no ``when`` or its ``when`` is true in ``context``."""
    if step.when is None:
        return True
    return evaluate_condition(step.when, context, f"step {step.id}: when")


def render_step_args(step: Step, context: Mapping[str, Any]) -> pydantic.BaseModel:
    """Render a step's args and validate them into its action's argument model."""
    spec = ACTIONS.get(step.action)
    if spec is None:
        raise PlaybookError(f"unknown action {step.action!r}", f"step {step.id}")
    rendered = render_value(step.args, context, f"step {step.id}: args")
    try:
        return spec.args_model.model_validate(rendered)
    except pydantic.ValidationError as exc:
        raise PlaybookError("\n".join(describe_pydantic(exc, f"step {step.id}", "args"))) from None

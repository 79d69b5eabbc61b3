"""The JSON Schema of the playbook language (``orchestrator playbooks schema``), for editors.

Built from the pydantic models, so it cannot drift from what loading accepts: each step's ``args``
is checked against its action's argument model, and wherever a value may be a template a string
holding Jinja syntax is accepted too (templated values are checked after rendering, at run time).
"""

from __future__ import annotations

import copy
from typing import Any

from orchestrator.domain.actions import ACTIONS
from orchestrator.domain.playbook import Playbook

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
TEMPLATE_STRING: dict[str, Any] = {
    "type": "string",
    "pattern": r"\{[{%#]",
    "description": "A Jinja template (rendered in the sandbox when the step runs)",
}


def _templatable(schema: dict[str, Any]) -> dict[str, Any]:
    """An args model's schema where every property also accepts a template string."""
    out = copy.deepcopy(schema)
    for name, prop in out.get("properties", {}).items():
        out["properties"][name] = {"anyOf": [prop, TEMPLATE_STRING], **_doc(prop)}
        for key in ("title", "description", "default"):
            out["properties"][name]["anyOf"][0].pop(key, None)
    out["additionalProperties"] = False
    return out


def _doc(prop: dict[str, Any]) -> dict[str, Any]:
    return {k: prop[k] for k in ("title", "description", "default") if k in prop}


def playbook_json_schema() -> dict[str, Any]:
    """The schema of one playbook file."""
    schema = Playbook.model_json_schema()
    step = schema["$defs"]["Step"]
    step["properties"]["action"] = {
        "enum": sorted(ACTIONS),
        "description": "One of the fixed registry of actions (docs/playbooks.md)",
    }
    step["allOf"] = [
        {
            "if": {"properties": {"action": {"const": name}}, "required": ["action"]},
            "then": {
                "properties": {"args": _templatable(spec.args_model.model_json_schema())},
            },
        }
        for name, spec in sorted(ACTIONS.items())
    ]
    return {
        "$schema": SCHEMA_DIALECT,
        **schema,
        "title": "Remediation playbook",
        "description": "A playbook of the AI-CX remediation orchestrator (docs/playbooks.md)",
    }

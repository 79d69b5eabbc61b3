"""The OpenAPI 3.1 document of the ingest service, built from the same models that parse requests.

The service serves it at ``GET /openapi.json`` and ``GET /openapi.yaml``; ``docs/openapi.yaml`` is
the same YAML, regenerated with ``python -m orchestrator.ingest docs/openapi.yaml`` (a test checks
that the two agree).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from orchestrator import __version__
from orchestrator.ingest.alertmanager import AlertmanagerPayload
from orchestrator.ingest.audit_api import AUDIT_MODELS, AUDIT_PATHS
from orchestrator.ingest.generic import GenericSignal
from orchestrator.ingest.grafana import GrafanaPayload
from orchestrator.ingest.incident_models import (
    INCIDENT_MODELS,
    INCIDENT_PATHS,
    REVIEW_PATHS,
    SAFETY_PATHS,
)

_REF = "#/components/schemas/{model}"


class IncidentRef(BaseModel):
    model_config = ConfigDict(title="IncidentRef")
    incident_id: str
    workflow_id: str
    status: str = Field(
        description="accepted (held by the incident key's workflow) or no-open-incident"
    )
    dedupe_key: str


class SignalsAccepted(BaseModel):
    model_config = ConfigDict(title="SignalsAccepted")
    incidents: list[IncidentRef] = Field(description="One entry per signal, in payload order.")
    truncated_alerts: int = Field(description="Alerts the sender said it left out.")


class Problem(BaseModel):
    model_config = ConfigDict(title="Problem")
    alert: int | None = Field(default=None, description="Index of the alert or signal at fault.")
    message: str


class ErrorBody(BaseModel):
    model_config = ConfigDict(title="Error")
    error: str = Field(description="A short code: unauthorized, body_too_large, invalid_json, ...")
    message: str
    problems: list[Problem] = Field(default_factory=list)


def _strip_titles(schema: dict[str, Any]) -> dict[str, Any]:
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def _schemas(*models: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=_REF)
        for name, sub in schema.pop("$defs", {}).items():
            out[name] = _strip_titles(sub)
        out[str(schema.get("title", model.__name__))] = _strip_titles(schema)
    return dict(sorted(out.items()))


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _json(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": dict(schema)}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": _json(_ref("Error"))}
    if headers:
        out["headers"] = headers
    return out


def _post(summary: str, body: Mapping[str, Any], security: list[dict[str, list[str]]]) -> Any:
    retry_after = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}
    return {
        "post": {
            "summary": summary,
            "security": security,
            "requestBody": {"required": True, "content": _json(body)},
            "responses": {
                "202": {
                    "description": "Every signal was durably accepted.",
                    "content": _json(_ref("SignalsAccepted")),
                },
                "400": _error("Invalid UTF-8, invalid JSON or nesting too deep."),
                "401": _error("Missing or wrong token, signature or timestamp."),
                "413": _error("Body over the size limit, or too many alerts."),
                "415": _error("Compressed bodies are not accepted."),
                "422": _error("A payload or one of its alerts is invalid; nothing was submitted."),
                "503": _error("Temporal is unreachable; retry later.", retry_after),
            },
        }
    }


def _get(summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": responses}}


def _text(description: str, media: str) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


def build_openapi(extra_paths: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The document; ``extra_paths`` lets routes added with ``create_app`` describe themselves."""
    bearer: dict[str, list[str]] = {"bearerAuth": []}
    generic_body = {
        "oneOf": [
            _ref("GenericSignal"),
            {"type": "array", "items": _ref("GenericSignal"), "minItems": 1},
        ]
    }
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    paths: dict[str, Any] = {
        "/v1/signals/alertmanager": _post(
            "Alertmanager webhook (version 4)", _ref("AlertmanagerPayload"), [bearer]
        ),
        "/v1/signals/grafana": _post(
            "Grafana webhook contact point",
            _ref("GrafanaPayload"),
            [bearer, {"grafanaSignature": []}],
        ),
        "/v1/signals": _post("Generic breach signal(s)", generic_body, [bearer]),
        "/healthz": _get("Liveness", {"200": {"description": "Up.", "content": _json(status)}}),
        "/readyz": _get(
            "Readiness: the workflow service answers",
            {
                "200": {"description": "Ready.", "content": _json(status)},
                "503": {"description": "Not ready.", "content": _json(status)},
            },
        ),
        "/metrics": _get("Prometheus metrics", {"200": _text("Text format 0.0.4.", "text/plain")}),
        "/openapi.json": _get("This document", {"200": {"description": "OpenAPI (JSON)."}}),
        "/openapi.yaml": _get("This document", {"200": _text("OpenAPI (YAML).", "text/yaml")}),
    }
    paths.update(INCIDENT_PATHS)
    paths.update(SAFETY_PATHS)
    paths.update(REVIEW_PATHS)
    paths.update(AUDIT_PATHS)
    paths.update(extra_paths or {})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AI-CX remediation orchestrator: breach-signal ingest and on-call API",
            "version": __version__,
            "description": "Alertmanager, Grafana and generic breach signals become incidents."
            " See docs/ingest.md.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "grafanaSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Grafana-Alerting-Signature",
                    "description": "Hex HMAC-SHA256 of the raw body (or of '<timestamp>:<body>'"
                    " when a timestamp header is configured).",
                },
            },
            "schemas": _schemas(
                AlertmanagerPayload,
                GrafanaPayload,
                GenericSignal,
                SignalsAccepted,
                ErrorBody,
                *INCIDENT_MODELS,
                *AUDIT_MODELS,
            ),
        },
    }


def to_yaml(document: Mapping[str, Any]) -> str:
    plain = json.loads(json.dumps(document))  # no shared objects, so no YAML anchors
    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str]) -> int:
    text = to_yaml(build_openapi())
    if len(argv) > 1:
        with open(argv[1], "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0

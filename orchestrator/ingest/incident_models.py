"""Request bodies and the OpenAPI description of the on-call API under ``/v1/incidents``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LaunchRequest(BaseModel):
    """``POST /v1/incidents``: run a playbook by hand, recorded with who and why."""

    model_config = ConfigDict(extra="forbid")

    playbook: str = Field(min_length=1, max_length=63)
    service: str = Field(min_length=1, max_length=63)
    reason: str = Field(min_length=1, max_length=2000)
    actor: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Who launches it: the token's principal; if given, must be that name",
    )
    slo: str | None = Field(default=None, max_length=63)
    segment: str | None = Field(default=None, max_length=200, description="key=value")
    fast_track: bool = Field(
        default=False,
        description="On-call's fast path (approver role): approvals given, waits skipped",
    )
    component: str | None = Field(
        default=None, min_length=1, max_length=63, description="Label component (what to roll back)"
    )
    version: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        description="Label version: known-good, previous, or a version",
    )


class KillSwitchRequest(BaseModel):
    """``POST /v1/safety/kill-switch``: turn notify-only on or off for every worker (admin)."""

    model_config = ConfigDict(extra="forbid")

    on: bool
    reason: str = Field(min_length=1, max_length=2000)


class DecisionRequest(BaseModel):
    """``POST /v1/incidents/{id}/approve|deny|abort``: a named person's decision."""

    model_config = ConfigDict(extra="forbid")

    by: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Who decides: the token's principal; if given, must be that name",
    )
    reason: str | None = Field(default=None, max_length=2000)
    step: str | None = Field(
        default=None, max_length=63, description="The step meant (refused if another one waits)"
    )


class CloseReviewRequest(BaseModel):
    """``POST /v1/reviews/{ticket}/close``: the review (RCA task) is done (responder)."""

    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(min_length=1, max_length=4000)
    """What the review concluded: recorded on the ticket and in the audit history."""


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": _json({"$ref": "#/components/schemas/Error"}),
    }


_COMMON = {
    "401": _error("Missing or unknown operator token."),
    "403": _error("The token's principal lacks the role this needs."),
    "503": _error("Temporal is unreachable; retry later."),
}
_ID = [{"name": "incident_id", "in": "path", "required": True, "schema": {"type": "string"}}]
_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _decision(summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": _SECURITY,
            "parameters": _ID,
            "requestBody": {
                "required": True,
                "content": _json({"$ref": "#/components/schemas/DecisionRequest"}),
            },
            "responses": {
                "200": {"description": "The incident took the decision (its acknowledgement)."},
                "404": _error("No such incident, or nothing waits for this decision."),
                "422": _error("Invalid body, or the decision is not allowed (two-person rule)."),
                **_COMMON,
            },
        }
    }


INCIDENT_PATHS: dict[str, Any] = {
    "/v1/incidents": {
        "post": {
            "summary": "Launch a playbook by hand (manual launch)",
            "security": _SECURITY,
            "requestBody": {
                "required": True,
                "content": _json({"$ref": "#/components/schemas/LaunchRequest"}),
            },
            "responses": {
                "202": {"description": "Temporal accepted the launch."},
                "422": _error("Unknown playbook, service or SLO, or an invalid body."),
                **_COMMON,
            },
        },
        "get": {
            "summary": "Incidents (open ones; all=true for closed too)",
            "security": _SECURITY,
            "parameters": [
                {"name": "service", "in": "query", "schema": {"type": "string"}},
                {"name": "all", "in": "query", "schema": {"type": "boolean"}},
            ],
            "responses": {"200": {"description": "The incidents."}, **_COMMON},
        },
    },
    "/v1/incidents/{incident_id}": {
        "get": {
            "summary": "An incident's live state and its audit timeline",
            "security": _SECURITY,
            "parameters": _ID,
            "responses": {
                "200": {"description": "State (null once Temporal forgot it) and timeline."},
                "404": _error("No such incident."),
                **_COMMON,
            },
        }
    },
    "/v1/incidents/{incident_id}/report": {
        "get": {
            "summary": "The incident report: a first draft of the post-incident review (viewer)",
            "security": _SECURITY,
            "parameters": [
                *_ID,
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["md", "html"], "default": "md"},
                },
            ],
            "responses": {
                "200": {
                    "description": "Markdown, or one self-contained HTML file (no network).",
                    "content": {
                        "text/markdown": {"schema": {"type": "string"}},
                        "text/html": {"schema": {"type": "string"}},
                    },
                },
                "404": _error("No audit events for this incident."),
                "422": _error("Unknown format."),
                **_COMMON,
            },
        }
    },
    "/v1/incidents/{incident_id}/approve": _decision("Approve the step that waits for approval"),
    "/v1/incidents/{incident_id}/deny": _decision("Deny the step that waits for approval"),
    "/v1/incidents/{incident_id}/abort": _decision("Abort the incident's playbook"),
}

SAFETY_PATHS: dict[str, Any] = {
    "/v1/safety": {
        "get": {
            "summary": "The kill switch: on or off, since when, by whom (viewer)",
            "security": _SECURITY,
            "responses": {"200": {"description": "The kill switch."}, **_COMMON},
        }
    },
    "/v1/safety/kill-switch": {
        "post": {
            "summary": "Turn notify-only on or off for every worker (admin; audited)",
            "security": _SECURITY,
            "requestBody": {
                "required": True,
                "content": _json({"$ref": "#/components/schemas/KillSwitchRequest"}),
            },
            "responses": {
                "200": {"description": "The kill switch as now stored."},
                "422": _error("Invalid body, or the environment keeps the switch on."),
                **_COMMON,
            },
        }
    },
}

_TICKET = [
    {
        "name": "ticket",
        "in": "path",
        "required": True,
        "description": "The ticket system's id (RCA-1, owner/repo#7 as owner/repo%237, PROJ-12)",
        "schema": {"type": "string", "maxLength": 200},
    }
]
REVIEW_PATHS: dict[str, Any] = {
    "/v1/reviews/{ticket}": {
        "get": {
            "summary": "An incident review (RCA task) as the ticket system holds it (viewer)",
            "security": _SECURITY,
            "parameters": _TICKET,
            "responses": {
                "200": {"description": "The review ticket."},
                "404": _error("No such review in the configured ticket system."),
                "422": _error("Not a ticket id."),
                **_COMMON,
            },
        }
    },
    "/v1/reviews/{ticket}/close": {
        "post": {
            "summary": "Close a review when it is done (responder; read back; audited once)",
            "security": _SECURITY,
            "parameters": _TICKET,
            "requestBody": {
                "required": True,
                "content": _json({"$ref": "#/components/schemas/CloseReviewRequest"}),
            },
            "responses": {
                "200": {"description": "The closed ticket, who closed it, its audit seq."},
                "404": _error("No such review in the configured ticket system."),
                "422": _error("Not a ticket id, or an invalid body."),
                "502": _error("The ticket system refused, or still shows the review open."),
                **_COMMON,
            },
        }
    },
}

INCIDENT_MODELS: tuple[type[BaseModel], ...] = (
    LaunchRequest,
    DecisionRequest,
    KillSwitchRequest,
    CloseReviewRequest,
)

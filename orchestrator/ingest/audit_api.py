"""``GET /v1/audit/events`` and ``GET /v1/audit/stats`` (viewer role): the audit history filtered,
as pages of events or as incident figures. The query parameters are the filter words of
:func:`orchestrator.audit.query.parse_filter` (the CLI's options), plus ``limit`` and ``after``
for events; a bad one is a 422 naming it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from orchestrator.audit.query import MAX_PAGE, EventFilter, FilterError, Outcome, parse_filter
from orchestrator.audit.stats import IncidentStats, incident_stats
from orchestrator.audit.store import AuditStore
from orchestrator.domain.principals import Principal, Role
from orchestrator.errors import ValidationError
from orchestrator.ingest.operators import OperatorGuard

PAGING = ("limit", "after")
DEFAULT_LIMIT = 100


class AuditApi:
    def __init__(self, guard: OperatorGuard, audit: AuditStore) -> None:
        self.guard = guard
        self.audit = audit

    async def events(self, request: Request, _: Principal) -> Response:
        params = dict(request.query_params)
        limit = _integer(params.pop("limit", None), "limit", DEFAULT_LIMIT, 1, MAX_PAGE)
        after = _integer(params.pop("after", None), "after", 0, 0, None)
        flt = _filter(params)
        page = await self.audit.query(flt, limit=limit, after_seq=after)
        return JSONResponse(
            {
                "events": [e.model_dump(mode="json") for e in page],
                "next": page[-1].seq if len(page) == limit else None,
            }
        )

    async def stats(self, request: Request, _: Principal) -> Response:
        figures = await incident_stats(self.audit, _filter(dict(request.query_params)))
        return JSONResponse(figures.model_dump(mode="json"))

    def routes(self) -> list[BaseRoute]:
        route = self.guard.route
        return [
            Route("/v1/audit/events", route(Role.VIEWER, self.events), methods=["GET"]),
            Route("/v1/audit/stats", route(Role.VIEWER, self.stats), methods=["GET"]),
        ]


def _filter(params: dict[str, str]) -> EventFilter:
    try:
        return parse_filter(params, now=datetime.now(UTC))
    except FilterError as exc:
        raise ValidationError(str(exc)) from None


def _integer(raw: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"must be an integer, got {raw[:20]!r}", name) from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"{low} or more"
        raise ValidationError(f"must be {bound}, got {value}", name)
    return value


def _parameter(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema or {"type": "string"},
    }


_FILTER_DOCS = {
    "occurrence": "One occurrence (incident id)",
    "key": "An incident key: its notes and every occurrence",
    "service": "Service name",
    "slo": "SLO name",
    "dimension": "Incidents signalled for this SLO dimension",
    "segment": "key=value: incidents signalled for this segment",
    "severity": "Incidents classified SEV1..SEV4 (case-insensitive)",
    "actor": "Who: a principal, a signal source, orchestrator",
    "kind": "Event kind (docs/audit.md)",
    "action": "Step action, e.g. flag.route_segment",
    "target": "What an effect acted on: flag, component (model, prompt), ticket, page target",
    "outcome": "One of: " + ", ".join(o.value for o in Outcome),
    "since": "At or after: 7d, 12h, 30m ago, or an ISO time (UTC when bare)",
    "until": "Before: 7d, 12h, 30m ago, or an ISO time",
}
_FILTERS = [_parameter(name, text) for name, text in _FILTER_DOCS.items()]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_ERRORS = {
    "422": _error("An unknown or invalid filter, limit or after (the message names it)."),
    "401": _error("Missing or unknown operator token."),
    "503": _error("The audit database is unreachable; retry later."),
}

AUDIT_PATHS: dict[str, Any] = {
    "/v1/audit/events": {
        "get": {
            "summary": "Audit events matching every filter given, in seq order, a page (viewer)",
            "security": [{"bearerAuth": []}],
            "parameters": [
                *_FILTERS,
                _parameter(
                    "limit",
                    "Events per page",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100},
                ),
                _parameter(
                    "after",
                    "The previous page's `next`: events after this seq",
                    {"type": "integer", "minimum": 0, "default": 0},
                ),
            ],
            "responses": {
                "200": {
                    "description": "`events` (stored events, with seq and hash) and `next`: the"
                    " `after` of the next page, null on the last page.",
                },
                **_ERRORS,
            },
        }
    },
    "/v1/audit/stats": {
        "get": {
            "summary": "Incident figures over the events the filters match (viewer)",
            "security": [{"bearerAuth": []}],
            "parameters": _FILTERS,
            "responses": {
                "200": {
                    "description": "Counts, time to mitigate and recover, playbooks, steps,"
                    " recurring keys.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/IncidentStats"}
                        }
                    },
                },
                **_ERRORS,
            },
        }
    },
}
AUDIT_MODELS = (IncidentStats,)

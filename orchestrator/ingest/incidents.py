"""The on-call API under ``/v1/incidents``: manual launch, list, state, timeline and decisions.

Every route is guarded by :class:`~orchestrator.ingest.operators.OperatorGuard`: the caller is the
principal of its bearer token (``ORCHESTRATOR_TOKENS_FILE``), and each route needs a role (viewer
reads; responder launches and aborts; approver approves, denies and fast-tracks). Decisions are
recorded under the principal's name, so the workflow's two-person rule compares principals.
Approve, deny and abort are Temporal updates (orchestrator/client/control.py): the workflow
refuses a decision it cannot take (nothing waits, the two-person rule) before anything is recorded.
"""

from __future__ import annotations

from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from temporalio.client import Client

from orchestrator.audit.store import AuditStore
from orchestrator.client import control as incident_control
from orchestrator.client.launch import launch_signal
from orchestrator.client.queries import incident_state, list_incidents
from orchestrator.client.submission import SignalSubmitter
from orchestrator.domain.catalog import Catalog
from orchestrator.domain.keys import incident_key
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.principals import Principal, Role
from orchestrator.domain.signals import Segment
from orchestrator.errors import NotFoundError, ValidationError
from orchestrator.ingest.incident_models import DecisionRequest, LaunchRequest
from orchestrator.ingest.operators import Handler, OperatorGuard, named_self
from orchestrator.ingest.report_api import render_incident_report, report_format, report_response
from orchestrator.secrets import redact

_log = structlog.get_logger("orchestrator.ingest.incidents")


class IncidentApi:
    def __init__(
        self,
        *,
        guard: OperatorGuard,
        client: Client,
        submitter: SignalSubmitter,
        catalog: Catalog,
        library: PlaybookLibrary,
        audit: AuditStore,
        workflow_id_prefix: str = "incident",
    ) -> None:
        self.guard = guard
        self.client = client
        self.submitter = submitter
        self.catalog = catalog
        self.library = library
        self.audit = audit
        self.workflow_id_prefix = workflow_id_prefix

    async def _launch_request(self, request: Request, principal: Principal) -> LaunchRequest:
        req = await self.guard.parse(request, LaunchRequest, "launch")
        named_self(principal, req.actor, "actor")
        if req.fast_track:
            self.guard.authorize(principal, Role.APPROVER)
        return req

    async def launch(self, request: Request, principal: Principal) -> Response:
        req = await self._launch_request(request, principal)
        try:
            segment = Segment.parse(req.segment) if req.segment else None
        except ValueError as exc:
            raise ValidationError(str(exc), "segment") from None
        labels = {k: v for k, v in (("component", req.component), ("version", req.version)) if v}
        signal = launch_signal(
            self.catalog,
            self.library,
            playbook=req.playbook,
            service=req.service,
            reason=req.reason,
            actor=principal.name,
            slo=req.slo,
            segment=segment,
            source="api",
            labels=labels,
        )
        incident_id = incident_key(signal, self.catalog, self.library, self.workflow_id_prefix)
        result = await incident_control.launch_or_start(
            self.client,
            self.submitter,
            signal,
            self.library.by_name(req.playbook),
            incident_id,
            fast_track=req.fast_track,
        )
        _log.info(
            "manual launch",
            incident_id=result.incident_id,
            playbook=req.playbook,
            by=principal.name,
            fast_track=req.fast_track,
        )
        return JSONResponse(result.model_dump(mode="json"), status_code=202)

    async def list_all(self, request: Request, _: Principal) -> Response:
        service = request.query_params.get("service") or None
        include_closed = request.query_params.get("all", "").lower() in ("1", "true", "yes")
        rows = await list_incidents(self.client, service=service, include_closed=include_closed)
        return JSONResponse({"incidents": [r.model_dump() for r in rows]})

    async def get(self, request: Request, _: Principal) -> Response:
        incident_id = request.path_params["incident_id"]
        state: dict[str, Any] | None = None
        try:
            live = await incident_state(self.client, incident_id)
            # The same redaction the audit store applies: labels and results may carry secrets.
            state = redact(live.model_dump(mode="json"))
        except NotFoundError:
            state = None
        try:
            timeline = [e.model_dump(mode="json") for e in await self.audit.timeline(incident_id)]
        except NotFoundError:
            timeline = []
        if state is None and not timeline:
            raise NotFoundError(f"no incident {incident_id!r}")
        return JSONResponse({"incident_id": incident_id, "state": state, "timeline": timeline})

    async def report(self, request: Request, _: Principal) -> Response:
        incident_id = request.path_params["incident_id"]
        fmt = report_format(request.query_params.get("format"))
        events = await self.audit.timeline(incident_id)
        text = render_incident_report(incident_id, events, self.catalog, fmt)
        return report_response(text, fmt, incident_id)

    async def _decision(self, request: Request, principal: Principal) -> DecisionRequest:
        req = await self.guard.parse(request, DecisionRequest, "decision")
        named_self(principal, req.by, "by")
        return req

    async def approve(self, request: Request, principal: Principal) -> Response:
        req = await self._decision(request, principal)
        ack = await incident_control.approve(
            self.client,
            request.path_params["incident_id"],
            by=principal.name,
            step=req.step,
            reason=req.reason or "",
        )
        return JSONResponse(ack.model_dump(mode="json"))

    async def deny(self, request: Request, principal: Principal) -> Response:
        req = await self._decision(request, principal)
        ack = await incident_control.deny(
            self.client,
            request.path_params["incident_id"],
            by=principal.name,
            step=req.step,
            reason=req.reason or "",
        )
        return JSONResponse(ack.model_dump(mode="json"))

    async def abort(self, request: Request, principal: Principal) -> Response:
        req = await self._decision(request, principal)
        if not req.reason:
            raise ValidationError("an abort needs a reason", "reason")
        ack = await incident_control.abort(
            self.client, request.path_params["incident_id"], by=principal.name, reason=req.reason
        )
        return JSONResponse(ack.model_dump(mode="json"))

    def routes(self) -> list[BaseRoute]:
        route = self.guard.route
        actions: dict[str, tuple[Role, Handler]] = {
            "approve": (Role.APPROVER, self.approve),
            "deny": (Role.APPROVER, self.deny),
            "abort": (Role.RESPONDER, self.abort),
        }
        routes: list[BaseRoute] = [
            Route("/v1/incidents", route(Role.RESPONDER, self.launch), methods=["POST"]),
            Route("/v1/incidents", route(Role.VIEWER, self.list_all), methods=["GET"]),
            Route("/v1/incidents/{incident_id}", route(Role.VIEWER, self.get), methods=["GET"]),
            Route(
                "/v1/incidents/{incident_id}/report",
                route(Role.VIEWER, self.report),
                methods=["GET"],
            ),
        ]
        for action, (role, handler) in actions.items():
            path = f"/v1/incidents/{{incident_id}}/{action}"
            routes.append(Route(path, route(role, handler), methods=["POST"]))
        return routes

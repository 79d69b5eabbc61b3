"""The on-call API under ``/v1/incidents``: manual launch, list, state and timeline.

Guarded by the ``operator`` source's bearer token(s) (``ORCHESTRATOR_INGEST_OPERATOR_TOKEN``).
Approve, deny and abort are Temporal updates (orchestrator/incident_control.py): the workflow
refuses a decision it cannot take (nothing waits, the two-person rule) before anything is recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
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
from orchestrator.config.ingest import IngestSettings
from orchestrator.domain.catalog import Catalog
from orchestrator.domain.keys import incident_key
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.signals import Segment
from orchestrator.errors import (
    NotFoundError,
    OrchestratorError,
    TemporalRefusedError,
    TemporalUnavailableError,
    ValidationError,
)
from orchestrator.ingest import auth
from orchestrator.ingest.incident_models import DecisionRequest, LaunchRequest
from orchestrator.ingest.limits import RejectionError, decode_json, read_body
from orchestrator.ingest.pipeline import rejection_response
from orchestrator.secrets import redact

SOURCE = "operator"
_log = structlog.get_logger("orchestrator.ingest.incidents")
Handler = Callable[[Request], Awaitable[Response]]


def _problems(exc: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
    )


class IncidentApi:
    def __init__(
        self,
        *,
        client: Client,
        submitter: SignalSubmitter,
        catalog: Catalog,
        library: PlaybookLibrary,
        audit: AuditStore,
        settings: IngestSettings,
        workflow_id_prefix: str = "incident",
    ) -> None:
        self.client = client
        self.submitter = submitter
        self.catalog = catalog
        self.library = library
        self.audit = audit
        self.settings = settings
        self.workflow_id_prefix = workflow_id_prefix

    async def _authorized(self, request: Request) -> None:
        source_auth = self.settings.auth_for(SOURCE)
        auth.check_configured(SOURCE, source_auth, self.settings.allow_unauthenticated)
        auth.check_bearer(request.headers, source_auth)

    async def json_body(self, request: Request) -> Any:
        body = await read_body(request, self.settings.max_body_bytes)
        return decode_json(body, self.settings.max_depth)

    def guarded(self, handler: Handler) -> Handler:
        """Authenticate, then map errors: 4xx for bad input, 404, 503 when Temporal is away."""

        async def wrapped(request: Request) -> Response:
            try:
                await self._authorized(request)
                return await handler(request)
            except RejectionError as rejection:
                return rejection_response(rejection)
            except NotFoundError as exc:
                return rejection_response(RejectionError(404, "not_found", str(exc)))
            except ValidationError as exc:
                return rejection_response(RejectionError(422, "invalid", str(exc)))
            except (TemporalUnavailableError, TemporalRefusedError) as exc:
                _log.warning("temporal unavailable", error=type(exc).__name__)
                retry = str(self.settings.retry_after_seconds)
                return rejection_response(
                    RejectionError(
                        503,
                        "unavailable",
                        "Temporal is unreachable; retry later",
                        headers={"Retry-After": retry},
                    )
                )
            except OrchestratorError as exc:
                return rejection_response(RejectionError(422, "invalid", str(exc)))

        return wrapped

    async def launch(self, request: Request) -> Response:
        document = await self.json_body(request)
        try:
            req = LaunchRequest.model_validate(document)
        except pydantic.ValidationError as exc:
            raise ValidationError(_problems(exc), "launch") from None
        try:
            segment = Segment.parse(req.segment) if req.segment else None
        except ValueError as exc:
            raise ValidationError(str(exc), "segment") from None
        signal = launch_signal(
            self.catalog,
            self.library,
            playbook=req.playbook,
            service=req.service,
            reason=req.reason,
            actor=req.actor,
            slo=req.slo,
            segment=segment,
            source="api",
        )
        incident_id = incident_key(signal, self.catalog, self.library, self.workflow_id_prefix)
        result = await incident_control.launch_or_start(
            self.client, self.submitter, signal, self.library.by_name(req.playbook), incident_id
        )
        _log.info("manual launch", incident_id=result.incident_id, playbook=req.playbook)
        return JSONResponse(result.model_dump(mode="json"), status_code=202)

    async def list_all(self, request: Request) -> Response:
        service = request.query_params.get("service") or None
        include_closed = request.query_params.get("all", "").lower() in ("1", "true", "yes")
        rows = await list_incidents(self.client, service=service, include_closed=include_closed)
        return JSONResponse({"incidents": [r.model_dump() for r in rows]})

    async def get(self, request: Request) -> Response:
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

    async def _decision(self, request: Request) -> tuple[str, DecisionRequest]:
        document = await self.json_body(request)
        try:
            return request.path_params["incident_id"], DecisionRequest.model_validate(document)
        except pydantic.ValidationError as exc:
            raise ValidationError(_problems(exc), "decision") from None

    async def approve(self, request: Request) -> Response:
        incident_id, req = await self._decision(request)
        ack = await incident_control.approve(
            self.client, incident_id, by=req.by, step=req.step, reason=req.reason or ""
        )
        return JSONResponse(ack.model_dump(mode="json"))

    async def deny(self, request: Request) -> Response:
        incident_id, req = await self._decision(request)
        ack = await incident_control.deny(
            self.client, incident_id, by=req.by, step=req.step, reason=req.reason or ""
        )
        return JSONResponse(ack.model_dump(mode="json"))

    async def abort(self, request: Request) -> Response:
        incident_id, req = await self._decision(request)
        if not req.reason:
            raise ValidationError("an abort needs a reason", "reason")
        ack = await incident_control.abort(self.client, incident_id, by=req.by, reason=req.reason)
        return JSONResponse(ack.model_dump(mode="json"))

    def routes(self, extra: dict[str, Handler] | None = None) -> list[BaseRoute]:
        """The routes; ``extra`` maps further POST actions under an incident to handlers."""
        routes: list[BaseRoute] = [
            Route("/v1/incidents", self.guarded(self.launch), methods=["POST"]),
            Route("/v1/incidents", self.guarded(self.list_all), methods=["GET"]),
            Route("/v1/incidents/{incident_id}", self.guarded(self.get), methods=["GET"]),
        ]
        extra = {"approve": self.approve, "deny": self.deny, "abort": self.abort, **(extra or {})}
        for action, handler in (extra or {}).items():
            routes.append(
                Route(
                    f"/v1/incidents/{{incident_id}}/{action}",
                    self.guarded(handler),
                    methods=["POST"],
                )
            )
        return routes

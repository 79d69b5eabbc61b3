"""The ingest HTTP service: a Starlette app built by :func:`create_app` in the composition root.

Routes: ``POST /v1/signals/alertmanager``, ``POST /v1/signals/grafana``, ``POST /v1/signals``,
``GET /healthz``, ``GET /readyz``, ``GET /metrics``, ``GET /openapi.json``, ``GET /openapi.yaml``.
Other parts of the service (the ``/v1/incidents`` API) plug in through ``extra_routes`` and
describe themselves through ``extra_openapi_paths``; they find the shared objects on
``app.state`` (``submitter``, ``settings``, ``metrics``, ``seen_signatures``).

A source with an HMAC secret needs ``seen_signatures`` (the replay cache shared by every replica,
:class:`orchestrator.audit.seen.SeenSignatures` in the composition root): without it ``create_app``
raises ConfigError rather than serve signed posts that could be replayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from orchestrator.client.submission import SignalSubmitter
from orchestrator.config.ingest import IngestSettings
from orchestrator.domain.catalog import Catalog
from orchestrator.domain.slo_lookup import SloNames
from orchestrator.ingest import alertmanager, auth, generic, grafana
from orchestrator.ingest.delivery import Parser
from orchestrator.ingest.metrics import CONTENT_TYPE, IngestMetrics
from orchestrator.ingest.openapi import build_openapi, to_yaml
from orchestrator.ingest.pipeline import Clock, SignalEndpoint, utc_now

_log = structlog.get_logger("orchestrator.ingest")


def create_app(
    submitter: SignalSubmitter,
    settings: IngestSettings,
    metrics: IngestMetrics | None = None,
    *,
    catalog: Catalog | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    extra_openapi_paths: Mapping[str, Any] | None = None,
    seen_signatures: auth.SeenSignatureCache | None = None,
    clock: Clock = utc_now,
) -> Starlette:
    """Build the ingest app around a submitter (Temporal-backed in production)."""
    metrics = metrics or IngestMetrics()
    auth.warn_weak_sources(settings, _log)
    slos = SloNames(catalog) if catalog is not None else None
    openapi = build_openapi(extra_openapi_paths)
    openapi_yaml = to_yaml(openapi)

    def endpoint(source: str, parser: Parser) -> Callable[[Request], Awaitable[Response]]:
        return SignalEndpoint(
            source,
            parser,
            submitter=submitter,
            settings=settings,
            metrics=metrics,
            slos=slos,
            seen=seen_signatures,
            clock=clock,
        ).handle

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            ready = await asyncio.wait_for(submitter.ready(), settings.ready_timeout_seconds)
        except Exception as exc:  # a readiness probe answers; it does not crash
            _log.warning("readiness check failed", error=type(exc).__name__)
            ready = False
        if ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    async def metrics_page(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    async def openapi_yaml_page(request: Request) -> Response:
        return Response(openapi_yaml, media_type="text/yaml; charset=utf-8")

    routes: list[BaseRoute] = [
        Route(
            "/v1/signals/alertmanager",
            endpoint(alertmanager.SOURCE, alertmanager.parse),
            methods=["POST"],
        ),
        Route("/v1/signals/grafana", endpoint(grafana.SOURCE, grafana.parse), methods=["POST"]),
        Route("/v1/signals", endpoint(generic.SOURCE, generic.parse), methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/openapi.yaml", openapi_yaml_page, methods=["GET"]),
        *extra_routes,
    ]
    app = Starlette(routes=routes)
    app.state.submitter = submitter
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.catalog = catalog
    app.state.seen_signatures = seen_signatures
    return app

"""The HTTP service: breach-signal ingest plus the on-call API, built from a runtime and served."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator, Mapping

import uvicorn
from starlette.applications import Starlette
from temporalio.client import Client

from orchestrator.audit.seen import open_seen_signatures
from orchestrator.client.submitter import submitter_for
from orchestrator.config.ingest import IngestSettings
from orchestrator.errors import ConfigError
from orchestrator.ingest import IngestMetrics, create_app
from orchestrator.ingest.audit_metrics import AuditMetrics
from orchestrator.ingest.incidents import Handler, IncidentApi
from workers.devserver import port_in_use
from workers.runtime import Runtime


def build_app(
    runtime: Runtime,
    client: Client,
    ingest: IngestSettings,
    decisions: Mapping[str, Handler] | None = None,
) -> Starlette:
    """The ingest + on-call app. ``app.state.audit_metrics.follow()`` keeps incident and action
    metrics current; :class:`ApiServer` runs it."""
    submitter = submitter_for(client, runtime.settings, runtime.catalog, runtime.library)
    metrics = IngestMetrics()
    api = IncidentApi(
        client=client,
        submitter=submitter,
        catalog=runtime.catalog,
        library=runtime.library,
        audit=runtime.audit,
        settings=ingest,
        workflow_id_prefix=runtime.settings.workflow_id_prefix,
    )
    app = create_app(
        submitter,
        ingest,
        metrics,
        catalog=runtime.catalog,
        seen_signatures=open_seen_signatures(
            runtime.settings.effective_audit_url, window_seconds=ingest.timestamp_window_seconds
        ),
        extra_routes=api.routes(dict(decisions or {})),
    )
    app.state.audit_metrics = AuditMetrics(runtime.audit, metrics.registry)
    return app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """The process's own Ctrl-C handling stops the whole stack, this server included."""
        yield


class ApiServer:
    """uvicorn in the current event loop; ``stop()`` ends it gracefully."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._audit_metrics: AuditMetrics | None = getattr(app.state, "audit_metrics", None)
        self._host, self._port = host, port
        self.url = f"http://{host}:{port}"

    async def start(self) -> None:
        if port_in_use(self._port, self._host):
            raise ConfigError(f"port {self._port} on {self._host} is already in use (API)")
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                raise ConfigError(f"the API could not start on {self.url}")
            await asyncio.sleep(0.05)
        if self._audit_metrics is not None:
            self._follower = asyncio.create_task(self._audit_metrics.follow())

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        self._server.should_exit = True
        if self._task is not None:
            await self._task

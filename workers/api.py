"""The HTTP service: breach-signal ingest plus the on-call API, built from a runtime and served."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Generator, Mapping

import uvicorn
from starlette.applications import Starlette
from temporalio.client import Client

from orchestrator.errors import ConfigError
from orchestrator.ingest import create_app
from orchestrator.ingest.incidents import Handler, IncidentApi
from orchestrator.ingest.settings import IngestSettings
from workers.devserver import port_in_use
from workers.runtime import Runtime


def build_app(
    runtime: Runtime,
    client: Client,
    ingest: IngestSettings,
    decisions: Mapping[str, Handler] | None = None,
) -> Starlette:
    submitter = runtime.submitter(client)
    api = IncidentApi(
        client=client,
        submitter=submitter,
        catalog=runtime.catalog,
        library=runtime.library,
        audit=runtime.audit,
        settings=ingest,
    )
    return create_app(
        submitter, ingest, catalog=runtime.catalog, extra_routes=api.routes(dict(decisions or {}))
    )


def ingest_settings() -> IngestSettings:
    return IngestSettings.from_env(os.environ)


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

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task

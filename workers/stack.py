"""The embedded local stack: Temporal dev server, worker, flag and audit stores in one process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass

from temporalio.client import Client

from orchestrator.client.connect import connect
from orchestrator.config.settings import Settings
from orchestrator.errors import ConfigError
from workers.devserver import DevServer, start_dev_server
from workers.runtime import Runtime, build_runtime


@dataclass
class Stack:
    settings: Settings
    server: DevServer
    runtime: Runtime
    client: Client


def _port_of(address: str) -> int:
    host, _, port = address.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        raise ConfigError(
            f"the embedded stack serves on 127.0.0.1; ORCHESTRATOR_TEMPORAL_ADDRESS is {address!r}"
            " (use `orchestrator worker` to run against a remote Temporal)"
        )
    return int(port)


@contextlib.asynccontextmanager
async def embedded_stack(settings: Settings, *, fixed_ports: bool = True) -> AsyncIterator[Stack]:
    """Start the dev server (persistent, in the state folder) and a worker; stop both on exit."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    server = await start_dev_server(
        settings.temporal_db_path,
        port=_port_of(settings.temporal_address) if fixed_ports else None,
        ui_port=settings.temporal_ui_port if fixed_ports else None,
        namespace=settings.temporal_namespace,
    )
    try:
        settings = settings.with_overrides(temporal_address=server.address)
        async with build_runtime(settings) as runtime:
            client = await connect(settings)
            async with runtime.worker(client):
                yield Stack(settings, server, runtime, client)
    finally:
        server.stop()


async def wait_for_stop() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)

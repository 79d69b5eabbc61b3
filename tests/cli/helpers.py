"""Running the `orchestrator` command as a real process, as the CLI tests do."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from tests.ingest.conftest import make_settings
from tests.ingest.operators import principals, token_of
from workers.api import ApiServer, build_app
from workers.devserver import free_port
from workers.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "orchestrator")


@dataclass
class Result:
    code: int
    out: str
    err: str


async def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Result:
    """Run `orchestrator ARGS` with a bare environment (PATH, actor, PYTHONPATH if set)."""
    proc = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            "PATH": "/usr/bin:/bin",
            "ORCHESTRATOR_ACTOR": "cli-test",
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
            **(env or {}),
        },
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


@contextlib.asynccontextmanager
async def api_server(runtime: Runtime, client: Client) -> AsyncIterator[str]:
    """The real HTTP API (uvicorn on a free loopback port) with the test principals; its URL."""
    app = build_app(runtime, client, make_settings(), principals())
    server = ApiServer(app, "127.0.0.1", free_port())
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


def operator_env(url: str, name: str) -> dict[str, str]:
    """The CLI environment for calls to the API at ``url`` as ``name`` (tests/ingest/operators)."""
    return {"ORCHESTRATOR_API_URL": url, "ORCHESTRATOR_TOKEN": token_of(name)}

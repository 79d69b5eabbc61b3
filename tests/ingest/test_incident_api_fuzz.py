"""Property-based fuzz of the on-call API (/v1/incidents) from its OpenAPI description, against
the real Temporal dev server: whatever arrives, never a 5xx but the deliberate 503, never a
secret in the answer, and nothing raises."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from orchestrator.ingest.openapi import build_openapi
from tests.ingest.conftest import make_settings
from tests.ingest.operators import PEOPLE, principals, token_of
from tests.ingest.schema_strategies import ANY_JSON, SchemaStrategies
from workers.api import build_app
from workers.runtime import Runtime

TOKENS = {token_of(name): role for name, role in PEOPLE.items()}
DOCUMENT = build_openapi()
SCHEMAS = SchemaStrategies(DOCUMENT["components"]["schemas"])
NAMES = st.sampled_from(["graceful-fallback", "support-assistant", "language-gap", "nope", ""])


@pytest.fixture
async def http(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a worker: launches into a running incident are updates a worker answers."""
    app = build_app(runtime, temporal_client, make_settings(max_body_bytes=16_384), principals())
    transport = httpx.ASGITransport(app=app)  # re-raises anything the app raises
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
        yield client
    prefix = runtime.settings.workflow_id_prefix
    async for wf in temporal_client.list_workflows(f"WorkflowId STARTS_WITH '{prefix}'"):
        with contextlib.suppress(RPCError):
            await temporal_client.get_workflow_handle(wf.id).terminate("fuzz over")


def _launch_like() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "playbook": st.just("graceful-fallback") | NAMES,
            "service": st.just("support-assistant") | NAMES,
            "reason": st.just("fuzz") | st.text(max_size=20),
        },
        optional={
            "actor": st.sampled_from([*PEOPLE, "fuzzer"]) | st.text(max_size=10),
            "fast_track": st.booleans(),
            "slo": NAMES,
            "segment": st.sampled_from(["language=es", "es", "=", "k=v"]),
        },
    )


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes, dict[str, str]]:
    incident = draw(st.sampled_from(["incident-support-assistant--language-gap", "x", "%2e%2e"]))
    method, path = draw(
        st.sampled_from(
            [
                ("POST", "/v1/incidents"),
                ("GET", "/v1/incidents"),
                ("GET", f"/v1/incidents/{incident}"),
                ("GET", f"/v1/incidents/{incident}/report"),
                ("POST", f"/v1/incidents/{incident}/approve"),
                ("POST", f"/v1/incidents/{incident}/deny"),
                ("POST", f"/v1/incidents/{incident}/abort"),
                ("GET", "/v1/safety"),
                ("POST", "/v1/safety/kill-switch"),
            ]
        )
    )
    kind = draw(st.sampled_from(["schema", "launch", "switch", "json", "bytes"]))
    if kind == "bytes":
        body = draw(st.binary(max_size=200))
    else:
        value = {
            "schema": SCHEMAS.for_schema({"$ref": "#/components/schemas/LaunchRequest"}),
            "launch": _launch_like(),
            "switch": SCHEMAS.for_schema({"$ref": "#/components/schemas/KillSwitchRequest"}),
            "json": ANY_JSON,
        }[kind]
        body = json.dumps(draw(value)).encode()
    token = draw(st.sampled_from([*TOKENS, *TOKENS, "wrong", "am-token-7f3a9c", ""]))
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return method, path, body, headers


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests())
@example(
    request=(
        "POST",
        "/v1/incidents",
        b'{"playbook": "graceful-fallback", "service": "support-assistant", "reason": "r",'
        b' "actor": "maria.oncall"}',
        {
            "content-type": "application/json",
            "authorization": f"Bearer {token_of('maria.oncall')}",
        },
    )
)
async def test_incident_api_never_fails(
    http: httpx.AsyncClient, request: tuple[str, str, bytes, dict[str, str]]
) -> None:
    method, path, body, headers = request
    response = await http.request(method, path, content=body, headers=headers)
    event(f"{method} {path.split('/')[-1]} -> {response.status_code}")
    assert response.status_code < 500, response.text
    token = headers.get("authorization", "").removeprefix("Bearer ")
    if token not in TOKENS:
        assert response.status_code in (401, 404, 405)
    if response.status_code == 403:  # only ever a role below the route's
        assert token in TOKENS and "may not do this" in response.json()["message"]
    for known in TOKENS:
        assert known not in response.text

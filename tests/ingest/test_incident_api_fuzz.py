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

from orchestrator.config.ingest import SourceAuth
from orchestrator.ingest.openapi import build_openapi
from orchestrator.secrets import Secret
from tests.ingest.conftest import make_settings
from tests.ingest.schema_strategies import ANY_JSON, SchemaStrategies
from workers.api import build_app
from workers.runtime import Runtime

OPERATOR = "operator-fuzz-token-5c1e"
DOCUMENT = build_openapi()
SCHEMAS = SchemaStrategies(DOCUMENT["components"]["schemas"])
NAMES = st.sampled_from(["graceful-fallback", "support-assistant", "language-gap", "nope", ""])


@pytest.fixture
async def http(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a worker: launches into a running incident are updates a worker answers."""
    auth = dict(make_settings().auth)
    auth["operator"] = SourceAuth(tokens=(Secret(OPERATOR),))
    app = build_app(runtime, temporal_client, make_settings(auth=auth, max_body_bytes=16_384))
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
            "actor": st.just("fuzzer") | st.text(max_size=10),
        },
        optional={
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
                ("POST", f"/v1/incidents/{incident}/approve"),
                ("POST", f"/v1/incidents/{incident}/abort"),
            ]
        )
    )
    kind = draw(st.sampled_from(["schema", "launch", "json", "bytes"]))
    if kind == "bytes":
        body = draw(st.binary(max_size=200))
    else:
        value = {
            "schema": SCHEMAS.for_schema({"$ref": "#/components/schemas/LaunchRequest"}),
            "launch": _launch_like(),
            "json": ANY_JSON,
        }[kind]
        body = json.dumps(draw(value)).encode()
    token = draw(st.sampled_from([OPERATOR, OPERATOR, "wrong", "am-token-7f3a9c", ""]))
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
        b' "actor": "fuzzer"}',
        {"content-type": "application/json", "authorization": f"Bearer {OPERATOR}"},
    )
)
async def test_incident_api_never_fails(
    http: httpx.AsyncClient, request: tuple[str, str, bytes, dict[str, str]]
) -> None:
    method, path, body, headers = request
    response = await http.request(method, path, content=body, headers=headers)
    event(f"{method} {path.split('/')[-1]} -> {response.status_code}")
    assert response.status_code < 500, response.text
    if headers.get("authorization") != f"Bearer {OPERATOR}":
        assert response.status_code in (401, 404, 405)
    assert OPERATOR not in response.text

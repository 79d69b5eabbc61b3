"""Schema-driven fuzz of the signal endpoints into real workflows (issue 10): 1,000 requests from
the served OpenAPI document (and beyond it: catalog labels, oversized labels, arbitrary JSON and
bytes, right and wrong credentials) through the real submitter to the Temporal dev server, with a
worker running the incidents they open. Never a 5xx; afterwards no workflow is jammed (no
workflow task failed, in any history the fuzz started).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from orchestrator.domain.signal_bounds import MAX_LABEL_VALUE, MAX_LABELS
from orchestrator.ingest import create_app
from tests.ingest.conftest import make_settings, seen_signatures_in, wall_clock
from tests.ingest.samples import ALERTMANAGER_V4, AM_TOKEN, GENERIC_TOKEN, GRAFANA_TOKEN, sample
from tests.ingest.test_fuzz import TOKENS, bodies, headers
from workers.runtime import Runtime

EXAMPLES = 1_000


@pytest.fixture
async def ingest(
    runtime: Runtime, temporal_client: Client, worker: Worker, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        runtime.submitter(temporal_client),
        make_settings(max_body_bytes=256 * 1024, max_alerts=20),
        catalog=runtime.catalog,
        seen_signatures=seen_signatures_in(tmp_path),
        clock=wall_clock,
    )
    transport = httpx.ASGITransport(app=app)  # re-raises anything the app raises
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
        yield client
    prefix = runtime.settings.workflow_id_prefix
    async for listed in temporal_client.list_workflows(f"WorkflowId STARTS_WITH '{prefix}'"):
        with contextlib.suppress(RPCError):
            await temporal_client.get_workflow_handle(listed.id).terminate("fuzz over")


@st.composite
def oversized(draw: st.DrawFn) -> bytes:
    """An Alertmanager delivery naming a catalog SLO whose labels pass a bound."""
    payload = sample(ALERTMANAGER_V4)
    payload["alerts"] = payload["alerts"][:1]
    labels = payload["alerts"][0]["labels"]
    how = draw(st.sampled_from(["value", "count", "total"]))
    if how == "value":
        labels["runbook"] = "x" * draw(st.integers(MAX_LABEL_VALUE + 1, 70_000))
    elif how == "count":
        labels.update({f"l{i}": "v" for i in range(MAX_LABELS + draw(st.integers(0, 5)))})
    else:
        labels.update({f"l{i}": "y" * 2000 for i in range(draw(st.integers(9, 20)))})
    return json.dumps(payload).encode()


SLOS = ["task-success", "ttft-p95", "final-answer-p95", "language-gap", "escalation-success"]


@st.composite
def valid_alerts(draw: st.DrawFn) -> bytes:
    """An Alertmanager delivery the ingest takes: catalog SLOs, any segment value, firing or
    resolved, any start time: each opens, joins or resolves a real incident."""
    payload = sample(ALERTMANAGER_V4)
    template = payload["alerts"][0]
    alerts = []
    for index in range(draw(st.integers(1, 3))):
        alert = json.loads(json.dumps(template))
        alert["labels"]["sloth_slo"] = draw(st.sampled_from(SLOS))
        alert["labels"]["segment"] = "language=" + draw(
            st.sampled_from(["es", "fr", "de"]) | st.text(alphabet="abcdefghij-_.", min_size=1)
        )
        alert["status"] = draw(st.sampled_from(["firing", "firing", "resolved"]))
        alert["annotations"]["observed"] = str(draw(st.floats(0, 1)))
        alert["fingerprint"] = f"{draw(st.integers(0, 2**32)):08x}{index}"
        alert["startsAt"] = f"2026-11-26T09:{draw(st.integers(0, 59)):02d}:03Z"
        alerts.append(alert)
    payload["alerts"] = alerts
    return json.dumps(payload).encode()


Request = tuple[str, bytes, list[tuple[bytes, bytes]]]


@st.composite
def requests(draw: st.DrawFn) -> Request:
    path = draw(st.sampled_from(list(TOKENS)))
    if path == "/v1/signals/alertmanager":
        kind = draw(st.integers(0, 9))
        if kind == 0:
            body = draw(oversized())
        elif kind < 4:
            body = draw(valid_alerts())
            return path, body, [(b"authorization", f"Bearer {AM_TOKEN}".encode())]
        else:
            body = draw(bodies(path))
    else:
        body = draw(bodies(path))
    return path, body, draw(headers(path, body))


def draw_requests() -> list[Request]:
    """EXAMPLES requests, drawn by hypothesis from the strategies above (collected first, then
    sent from the async test, so the worker keeps running while they are checked)."""
    drawn: list[Request] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests())
    def collect(request: Request) -> None:
        drawn.append(request)

    collect()
    return drawn


async def jammed(client: Client, prefix: str) -> tuple[int, dict[str, str]]:
    """How many workflows the prefix names, and those with a failed or retried workflow task."""
    seen, stuck = 0, {}
    async for listed in client.list_workflows(f"WorkflowId STARTS_WITH '{prefix}'"):
        seen += 1
        handle = client.get_workflow_handle(listed.id, run_id=listed.run_id)
        failed = [
            e.workflow_task_failed_event_attributes.failure.message[:200]
            async for e in handle.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        pending = (await handle.describe()).raw_description.pending_workflow_task
        if failed or pending.attempt > 1:
            stuck[listed.id] = "; ".join(failed) or f"workflow task attempt {pending.attempt}"
    return seen, stuck


async def test_a_thousand_fuzzed_deliveries_never_fail_and_jam_nothing(
    ingest: httpx.AsyncClient, runtime: Runtime, temporal_client: Client
) -> None:
    statuses: Counter[int] = Counter()
    for path, body, head in draw_requests():
        response = await ingest.post(path, content=body, headers=head)
        statuses[response.status_code] += 1
        assert response.status_code < 500, (path, body[:300], response.text)
        for secret in (AM_TOKEN, GRAFANA_TOKEN, GENERIC_TOKEN):
            assert secret not in response.text
    assert sum(statuses.values()) == EXAMPLES
    assert statuses[202] > 0 and statuses[422] > 0, statuses
    await asyncio.sleep(3)  # the worker takes up what was signalled last
    seen, stuck = await jammed(temporal_client, runtime.settings.workflow_id_prefix)
    assert seen > 0, "the fuzz started no workflow"
    assert not stuck, stuck
    print(f"fuzz: {dict(sorted(statuses.items()))}; {seen} workflows, none jammed")

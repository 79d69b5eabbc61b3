"""The ingest app in front of the real TemporalSubmitter on the session's Temporal dev server.

No worker runs here: signal-with-start is what the ingest service relies on, and it needs none.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator.domain.signal_bounds import MAX_LABELS
from orchestrator.domain.signals import workflow_id_for
from orchestrator.ingest import IngestMetrics, create_app
from tests.ingest.conftest import make_settings, seen_signatures_in, wall_clock
from tests.ingest.samples import ALERTMANAGER_V4, AM_TOKEN, bearer, body_of, sample
from tests.ingest.storm import incident_keys, run_storm
from workers.runtime import Runtime


async def _runs(client: Client, workflow_id: str) -> int:
    return len([wf async for wf in client.list_workflows(f"WorkflowId = '{workflow_id}'")])


async def _eventually_runs(client: Client, workflow_id: str, expected: int) -> int:
    found = await _runs(client, workflow_id)
    for _ in range(100):  # visibility is eventually consistent
        if found == expected:
            break
        await asyncio.sleep(0.05)
        found = await _runs(client, workflow_id)
    return found


@pytest.fixture
async def real_client(
    runtime: Runtime, temporal_client: Client, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, IngestMetrics]]:
    metrics = IngestMetrics()
    app = create_app(
        runtime.submitter(temporal_client),
        make_settings(),
        metrics,
        catalog=runtime.catalog,
        seen_signatures=seen_signatures_in(tmp_path),
        clock=wall_clock,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        yield client, metrics
    prefix = runtime.settings.workflow_id_prefix
    for service, slo in incident_keys(runtime.catalog):
        handle = temporal_client.get_workflow_handle(workflow_id_for(service, slo, prefix))
        with contextlib.suppress(RPCError):  # not started by this test
            await handle.terminate("test over")


async def test_alertmanager_delivery_through_temporal(
    real_client: tuple[httpx.AsyncClient, IngestMetrics],
    runtime: Runtime,
    temporal_client: Client,
) -> None:
    client, _ = real_client
    assert (await client.get("/readyz")).status_code == 200
    expected = [["accepted", "no-open-incident"], ["accepted", "accepted"]]
    for statuses in expected:  # the second is Alertmanager redelivering the same group
        response = await client.post(
            "/v1/signals/alertmanager", content=body_of(ALERTMANAGER_V4), headers=bearer(AM_TOKEN)
        )
        assert response.status_code == 202, response.text
        # The first resolved started the key's workflow to remember it; the second joins it.
        assert [i["status"] for i in response.json()["incidents"]] == statuses
    prefix = runtime.settings.workflow_id_prefix
    firing = workflow_id_for("support-assistant", "task-success", prefix)
    assert response.json()["incidents"][0]["incident_id"] == firing
    assert await _eventually_runs(temporal_client, firing, 1) == 1
    # The resolved alert started its key's workflow once, to remember it (no worker runs here:
    # tests/workflows/test_occurrences.py shows it opens no incident).
    resolved = workflow_id_for("support-assistant", "ttft-p95", prefix)
    assert await _eventually_runs(temporal_client, resolved, 1) == 1


async def test_small_storm_through_temporal(
    real_client: tuple[httpx.AsyncClient, IngestMetrics],
    runtime: Runtime,
    temporal_client: Client,
) -> None:
    client, metrics = real_client
    keys = incident_keys(runtime.catalog)
    report = await run_storm(client, keys, deliveries=300, concurrency=32)
    assert report.statuses == {202: 300}
    assert report.health_failures == 0
    assert (
        metrics.value(
            "orchestrator_ingest_deliveries_total", source="alertmanager", outcome="accepted"
        )
        == 300
    )
    prefix = runtime.settings.workflow_id_prefix
    for service, slo in keys:
        assert (
            await _eventually_runs(temporal_client, workflow_id_for(service, slo, prefix), 1) == 1
        )


@pytest.mark.parametrize(
    ("labels", "field"),
    [
        ({"runbook": "x" * 70_000}, "labels.runbook"),  # one value of 70 KB
        ({f"l{i}": "v" for i in range(MAX_LABELS + 1)}, "labels"),  # too many
        ({f"l{i}": "y" * 2000 for i in range(12)}, "labels"),  # each fits, together too big
    ],
    ids=["one-huge-value", "too-many", "too-big-in-all"],
)
async def test_a_signal_too_big_for_a_workflow_is_refused_naming_the_field(
    real_client: tuple[httpx.AsyncClient, IngestMetrics],
    runtime: Runtime,
    temporal_client: Client,
    labels: dict[str, str],
    field: str,
) -> None:
    """Issue 10, defect 1: 70 KB of labels used to be accepted (202) and jam the key."""
    client, _ = real_client
    payload = sample(ALERTMANAGER_V4)
    payload["alerts"] = payload["alerts"][:1]
    payload["alerts"][0]["labels"].update(labels)
    response = await client.post(
        "/v1/signals/alertmanager", content=body_of(payload), headers=bearer(AM_TOKEN)
    )
    assert response.status_code == 422, response.text
    [problem] = response.json()["problems"]
    assert problem["message"].startswith(f"{field}: "), problem
    firing = workflow_id_for(
        "support-assistant", "task-success", runtime.settings.workflow_id_prefix
    )
    assert await _runs(temporal_client, firing) == 0, "nothing reached Temporal"
    # The same alert within bounds goes through.
    payload["alerts"][0]["labels"] = sample(ALERTMANAGER_V4)["alerts"][0]["labels"]
    ok = await client.post(
        "/v1/signals/alertmanager", content=body_of(payload), headers=bearer(AM_TOKEN)
    )
    assert ok.status_code == 202, ok.text


async def test_a_delivery_for_a_key_whose_workflow_ended_starts_it_again(
    real_client: tuple[httpx.AsyncClient, IngestMetrics],
    runtime: Runtime,
    temporal_client: Client,
) -> None:
    """The submitter signals a key it reached before without a start request; when that
    workflow has ended meanwhile, the delivery still lands: in a new run of the key."""
    client, _ = real_client
    payload = sample(ALERTMANAGER_V4)
    payload["alerts"] = payload["alerts"][:1]  # the firing one
    firing = workflow_id_for(
        "support-assistant", "task-success", runtime.settings.workflow_id_prefix
    )
    first = await client.post(
        "/v1/signals/alertmanager", content=body_of(payload), headers=bearer(AM_TOKEN)
    )
    assert first.status_code == 202, first.text
    await temporal_client.get_workflow_handle(firing).terminate("ended between two deliveries")
    again = await client.post(
        "/v1/signals/alertmanager", content=body_of(payload), headers=bearer(AM_TOKEN)
    )
    assert again.status_code == 202, again.text
    assert [i["status"] for i in again.json()["incidents"]] == ["accepted"]
    assert await _eventually_runs(temporal_client, firing, 2) == 2
    history = await temporal_client.get_workflow_handle(firing).fetch_history()
    signalled = [
        e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert len(signalled) == 1, "the new run holds the delivery"

"""The on-call API (/v1/incidents) on the real Temporal dev server with a real worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from temporalio.client import Client
from temporalio.worker import Worker

from orchestrator.workflows.types import IncidentPhase
from tests.ingest.conftest import make_settings
from tests.ingest.operators import as_, operator_client, principals
from tests.ingest.samples import bearer
from tests.workflows.helpers import fairness_breach, occurrence_handle, resolved, wait_for
from workers.api import build_app
from workers.runtime import Runtime

ONCALL = as_("maria.oncall")
LEAD = as_("lead.sre")
APPS: dict[int, Starlette] = {}


@pytest.fixture
async def api(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(runtime, temporal_client, make_settings(), principals())
    async with operator_client(app) as client:
        client.headers["X-Test"] = "incident-api"
        APPS[id(client)] = app
        yield client
        APPS.pop(id(client))


async def test_manual_launch_state_and_timeline(
    api: httpx.AsyncClient, runtime: Runtime, temporal_client: Client
) -> None:
    launched = await api.post(
        "/v1/incidents",
        headers=ONCALL,
        json={
            "playbook": "graceful-fallback",
            "service": "support-assistant",
            "slo": "language-gap",
            "segment": "language=es",
            "reason": "Spanish answers degraded after prompt v42",
            "actor": "maria.oncall",
        },
    )
    assert launched.status_code == 202, launched.text
    incident_id = launched.json()["incident_id"]
    assert incident_id.startswith(runtime.settings.workflow_id_prefix)
    await wait_for(temporal_client, incident_id, IncidentPhase.MONITORING)

    listed = await api.get("/v1/incidents", headers=ONCALL)
    assert incident_id in [row["key"] for row in listed.json()["incidents"]]

    kinds: list[str] = []
    for _ in range(100):  # audit events land just after the effects they record
        got = await api.get(f"/v1/incidents/{incident_id}", headers=ONCALL)
        assert got.status_code == 200
        body = got.json()
        kinds = [e["kind"] for e in body["timeline"]]
        if "verification_passed" in kinds:
            break
        await asyncio.sleep(0.1)
    assert body["state"]["launched_by"] == "maria.oncall"
    assert "manual_launch" in kinds
    assert "effect_applied" in kinds

    await runtime.submitter(temporal_client).submit(resolved(fairness_breach()))
    # The workflow completes once its audit events are all recorded.
    await (await occurrence_handle(temporal_client, incident_id)).result()

    # /metrics counts incidents by severity and actions by outcome, from the audit history.
    assert await APPS[id(api)].state.audit_metrics.poll_once() > 0
    metrics = (await api.get("/metrics")).text
    series = {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in metrics.splitlines() if line[:1] != "#")
    }
    # A manual launch carries no figures: impact 1 + high-risk journey 2 = 3, SEV3.
    assert series['orchestrator_incidents_total{severity="SEV3"}'] == 1
    applied = 'orchestrator_actions_total{action="flag.route_segment",outcome="applied"}'
    assert series[applied] >= 1
    verified = 'orchestrator_actions_total{action="flag.verify_segment",outcome="verified"}'
    assert series[verified] == 1
    assert series['orchestrator_incidents_closed_total{kind="incident_resolved"}'] == 1
    # The temporary routing was undone on resolution: counted as undone, not as applied again.
    undone = 'orchestrator_actions_total{action="flag.route_segment",outcome="undone"}'
    assert series[undone] == 1
    # Worker-side figures from the same history: nothing open any more, one first change timed.
    assert series['orchestrator_open_incidents{severity="SEV3"}'] == 0
    assert series['orchestrator_time_to_mitigation_seconds_count{severity="SEV3"}'] == 1
    assert 0 < series['orchestrator_time_to_mitigation_seconds_sum{severity="SEV3"}'] < 60


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), (bearer("wrong"), 401), (bearer("am-token-7f3a9c"), 401)],
)
async def test_incident_api_needs_an_operator_token(
    api: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    assert (await api.get("/v1/incidents", headers=headers)).status_code == status
    refused = await api.post("/v1/incidents", headers=headers, json={})
    assert refused.status_code == status
    assert "test-token" not in refused.text


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"playbook": "nope", "service": "support-assistant", "reason": "r"},
            "unknown playbook 'nope'",
        ),
        (
            {"playbook": "graceful-fallback", "service": "billing", "reason": "r"},
            "unknown service 'billing'",
        ),
        (
            {
                "playbook": "graceful-fallback",
                "service": "support-assistant",
                "reason": "r",
                "segment": "es",
            },
            "key=value",
        ),
        ({"playbook": "graceful-fallback", "service": "support-assistant"}, "reason"),
    ],
)
async def test_bad_launches_are_refused_and_start_nothing(
    api: httpx.AsyncClient,
    runtime: Runtime,
    temporal_client: Client,
    body: dict[str, str],
    fragment: str,
) -> None:
    refused = await api.post("/v1/incidents", headers=ONCALL, json=body)
    assert refused.status_code == 422
    assert fragment in refused.text
    prefix = runtime.settings.workflow_id_prefix
    assert [
        wf async for wf in temporal_client.list_workflows(f"WorkflowId STARTS_WITH '{prefix}'")
    ] == []


async def test_unknown_incident_is_404(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/incidents/incident-nope--nope", headers=ONCALL)
    assert missing.status_code == 404


async def _launch_everyone(api: httpx.AsyncClient, slo: str) -> str:
    """graceful-fallback with no segment: routing everyone needs a person's approval."""
    launched = await api.post(
        "/v1/incidents",
        headers=ONCALL,
        json={
            "playbook": "graceful-fallback",
            "service": "support-assistant",
            "slo": slo,
            "reason": "answers degraded for everyone",
            "actor": "maria.oncall",
        },
    )
    assert launched.status_code == 202, launched.text
    incident_id: str = launched.json()["incident_id"]
    return incident_id


async def test_approve_deny_and_abort_through_the_api(
    api: httpx.AsyncClient, runtime: Runtime, temporal_client: Client
) -> None:
    approved = await _launch_everyone(api, "language-gap")
    waiting = await wait_for(temporal_client, approved, IncidentPhase.AWAITING_APPROVAL)
    assert waiting.pending_approval is not None
    assert waiting.pending_approval.step_id == "route-everyone-to-retrieval"

    wrong_step = await api.post(
        f"/v1/incidents/{approved}/approve",
        headers=LEAD,
        json={"by": "lead.sre", "step": "some-other-step"},
    )
    assert wrong_step.status_code == 422
    ok = await api.post(f"/v1/incidents/{approved}/approve", headers=LEAD, json={"by": "lead.sre"})
    assert ok.status_code == 200, ok.text
    await wait_for(temporal_client, approved, IncidentPhase.MONITORING)
    flag = await runtime.flags.get_flag("support-assistant-answer-mode")
    assert flag.value_of(flag.fallthrough_variation_id) == "retrieval-only"

    denied = await _launch_everyone(api, "task-success")
    await wait_for(temporal_client, denied, IncidentPhase.AWAITING_APPROVAL)
    no = await api.post(
        f"/v1/incidents/{denied}/deny",
        headers=LEAD,
        json={"by": "lead.sre", "reason": "retrieval-only answers are worse today"},
    )
    assert no.status_code == 200, no.text

    no_reason = await api.post(
        f"/v1/incidents/{approved}/abort", headers=LEAD, json={"by": "lead.sre"}
    )
    assert no_reason.status_code == 422
    for incident in (approved, denied):
        stopped = await api.post(
            f"/v1/incidents/{incident}/abort",
            headers=LEAD,
            json={"by": "lead.sre", "reason": "test over"},
        )
        assert stopped.status_code == 200, stopped.text
        await wait_for(temporal_client, incident, IncidentPhase.ABORTED)
        await (await occurrence_handle(temporal_client, incident)).result()  # audit drained
    timeline = (await api.get(f"/v1/incidents/{denied}", headers=ONCALL)).json()
    kinds = [e["kind"] for e in timeline["timeline"]]
    assert "approval_denied" in kinds

    missing = await api.post(
        "/v1/incidents/incident-nope--nope/approve",
        headers=LEAD,
        json={"by": "lead.sre"},
    )
    assert missing.status_code == 404

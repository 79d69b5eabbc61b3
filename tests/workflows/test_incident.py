"""The incident workflow on a real Temporal dev server, real flag store, SDK and audit store.

Timer-heavy paths (hold-down, approvals, recovery timeouts) run on the time-skipping server in
the ``test_playbook_*`` and ``test_policy_*`` modules."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from orchestrator.audit.model import AuditKind, StoredEvent
from orchestrator.client import control as incident_control
from orchestrator.client.occurrences import key_state
from orchestrator.client.submission import SubmitStatus
from orchestrator.errors import CatalogError, ValidationError
from orchestrator.workflows.types import QUERY_STATE, IncidentPhase, IncidentState
from tests.workflows.helpers import (
    fairness_breach,
    occurrence_handle,
    occurrence_of,
    resolved,
    served,
    served_eventually,
    wait_for,
)
from workers.runtime import Runtime


async def test_worked_example_on_a_real_server_routes_rolls_back_freezes_and_aborts(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> None:
    """The worked example on the real dev server (resolution and hold-down run on the
    time-skipping server: tests/workflows/test_playbook_fairness.py)."""
    submitter = runtime.submitter(temporal_client)
    assert await served(runtime, "es") == "assistant"

    result = await submitter.submit(fairness_breach())
    assert result.status is SubmitStatus.ACCEPTED
    state = await wait_for(temporal_client, result.incident_id, IncidentPhase.MONITORING)
    occurrence = await occurrence_of(temporal_client, result.incident_id)
    assert occurrence.startswith(f"{result.incident_id}--"), "each occurrence has its own id"
    assert state.key == result.incident_id

    assert state.severity == "SEV2"
    assert state.playbook == "fairness-language-gap"
    assert {s.id: s.status for s in state.steps if s.status != "running"} == {
        "page-oncall": "skipped",
        "route-segment-to-humans": "done",
        "verify-segment": "done",
        "rollback-prompt": "done",
        "freeze-prompt-releases": "done",
        "open-fairness-review": "done",
    }
    # What users get now, through the real LaunchDarkly SDK reading the flag store.
    assert await served_eventually(runtime, "es", "human-queue") == "human-queue"
    assert await served(runtime, "en") == "assistant"
    assert (await runtime.ops.deploy.state("support-assistant", "prompt")).version.endswith("v41")

    # Visibility: the typed search attributes find it.
    query = (
        f"WorkflowId = '{occurrence}' AND Service = 'support-assistant'"
        " AND Severity = 'SEV2' AND Playbook = 'fairness-language-gap'"
    )
    found = [wf.id async for wf in temporal_client.list_workflows(query)]
    for _ in range(50):
        if found:
            break
        await asyncio.sleep(0.1)
        found = [wf.id async for wf in temporal_client.list_workflows(query)]
    assert found == [occurrence]

    ack = await incident_control.abort(
        temporal_client, result.incident_id, by="maria.oncall", reason="taking over by hand"
    )
    assert ack.outcome == "aborting"
    final = await (await occurrence_handle(temporal_client, occurrence)).result()
    assert final.phase is IncidentPhase.ABORTED
    assert final.aborted_by == "maria.oncall"
    assert "left in place" in (final.error or "")

    timeline = await runtime.audit.timeline(occurrence)
    kinds = [e.kind for e in timeline]
    for kind in (
        AuditKind.SIGNAL_RECEIVED,
        AuditKind.INCIDENT_OPENED,
        AuditKind.SEVERITY_CLASSIFIED,
        AuditKind.PLAYBOOK_SELECTED,
        AuditKind.EFFECT_APPLIED,
        AuditKind.VERIFICATION_PASSED,
        AuditKind.INCIDENT_ABORTED,
    ):
        assert kind in kinds, kind
    assert timeline[-1].actor == "maria.oncall"
    assert "taking over by hand" in timeline[-1].summary
    effect = next(e for e in timeline if e.kind is AuditKind.EFFECT_APPLIED)
    assert effect.data["before"]["rules"] == []
    assert effect.data["after"]["rules"][0]["serves"] == "human-queue"
    assert (await runtime.audit.verify()).ok
    # Aborting leaves the effects in place: a person took over.
    assert await served(runtime, "es") == "human-queue"


async def listed(client: Client, query: str) -> list[str]:
    """The run ids visibility lists for ``query``, once it lists any (it lags the start by a
    moment, more on a busy server): five seconds at most."""
    runs: list[str] = []
    for _ in range(100):
        runs = [wf.run_id async for wf in client.list_workflows(query)]
        if runs:
            return runs
        await asyncio.sleep(0.05)
    return runs


async def test_twenty_concurrent_signals_start_one_incident_and_all_are_recorded(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> None:
    submitter = runtime.submitter(temporal_client)
    signals = [fairness_breach(dedupe_key=f"delivery-{i}") for i in range(20)]
    results = await asyncio.gather(*(submitter.submit(s) for s in signals))

    assert len({r.workflow_id for r in results}) == 1
    assert all(r.status is SubmitStatus.ACCEPTED for r in results)
    key = results[0].incident_id
    runs = await listed(temporal_client, f"WorkflowId = '{key}'")
    assert len(runs) == 1
    incident_id = await occurrence_of(temporal_client, key)
    opened = await listed(temporal_client, f"WorkflowId STARTS_WITH '{key}--'")
    assert len(opened) == 1, "one occurrence for the key"
    state = await wait_for(temporal_client, incident_id, IncidentPhase.MONITORING)
    for _ in range(100):
        if state.signals_received == 20:
            break
        await asyncio.sleep(0.05)
        state = await wait_for(temporal_client, incident_id, IncidentPhase.MONITORING)
    assert state.signals_received == 20

    # A redelivery of one of them is a duplicate, not a 21st signal.
    await submitter.submit(signals[3])
    await submitter.submit(resolved(fairness_breach()))
    await incident_control.abort(temporal_client, incident_id, by="test", reason="done")
    await (await occurrence_handle(temporal_client, incident_id)).result()
    received = [
        e for e in await runtime.audit.timeline(incident_id) if e.kind is AuditKind.SIGNAL_RECEIVED
    ]
    assert sorted(e.data["dedupe_key"] for e in received if e.data["status"] == "firing") == sorted(
        s.dedupe_key for s in signals
    )


async def test_resolved_signal_never_starts_an_incident(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> None:
    submitter = runtime.submitter(temporal_client)
    result = await submitter.submit(resolved(fairness_breach()))
    assert result.status is SubmitStatus.NO_OPEN_INCIDENT
    key = await key_state(temporal_client, result.workflow_id)
    assert key is not None and key.signals == 1 and key.ignored == 1
    assert key.occurrences == [] and key.open is None
    occurrences = [
        wf
        async for wf in temporal_client.list_workflows(
            f"WorkflowId STARTS_WITH '{result.workflow_id}--'"
        )
    ]
    assert occurrences == []
    await temporal_client.get_workflow_handle(result.workflow_id).terminate("test over")


async def test_manual_launch_is_recorded_with_who_and_why(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> None:
    submitter = runtime.submitter(temporal_client)
    signal = fairness_breach(
        source="cli",
        actor="maria.oncall",
        playbook="graceful-fallback",
        reason="Spanish CSAT dropped after prompt v42",
        observed=None,
        burn_rate=None,
    )
    result = await submitter.submit(signal)
    state = await wait_for(temporal_client, result.incident_id, IncidentPhase.MONITORING)
    assert state.launched_by == "maria.oncall"
    launch: list[StoredEvent] = []
    for _ in range(100):  # audit events land just after the phase they record
        events = await runtime.audit.timeline(state.incident_id)
        launch = [e for e in events if e.kind is AuditKind.MANUAL_LAUNCH]
        if launch:
            break
        await asyncio.sleep(0.05)
    assert launch and launch[0].actor == "maria.oncall"
    assert "prompt v42" in launch[0].summary
    await incident_control.abort(temporal_client, result.incident_id, by="maria.oncall", reason="x")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"service": "no-such-service"}, CatalogError),
        ({"slo": "no-such-slo"}, CatalogError),
        ({"dimension": "latency"}, CatalogError),
        ({"playbook": "no-such-playbook", "actor": "x"}, ValidationError),
    ],
)
async def test_bad_signals_start_nothing(
    runtime: Runtime, temporal_client: Client, changes: dict[str, object], error: type[Exception]
) -> None:
    submitter = runtime.submitter(temporal_client)
    with pytest.raises(error):
        await submitter.submit(fairness_breach(**changes))
    prefix = runtime.settings.workflow_id_prefix
    runs = [wf async for wf in temporal_client.list_workflows(f"WorkflowId STARTS_WITH '{prefix}'")]
    assert runs == []


async def test_one_alert_resolving_does_not_clear_another_still_firing(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> None:
    """Sloth's page and ticket alerts for one SLO: the page resolving leaves the ticket firing."""
    submitter = runtime.submitter(temporal_client)
    page = fairness_breach(labels={"sloth_severity": "page"}, dedupe_key="page-firing")
    ticket = fairness_breach(labels={"sloth_severity": "ticket"}, dedupe_key="ticket-firing")
    result = await submitter.submit(page)
    await submitter.submit(ticket)
    await wait_for(temporal_client, result.incident_id, IncidentPhase.MONITORING)

    await submitter.submit(resolved(page))
    handle = await occurrence_handle(temporal_client, result.incident_id)
    for _ in range(100):
        state = await handle.query(QUERY_STATE, result_type=IncidentState)
        if state.signals_received == 3:
            break
        await asyncio.sleep(0.05)
    assert state.signals_received == 3
    assert state.firing, "the ticket alert still fires"
    assert state.phase is IncidentPhase.MONITORING

    await submitter.submit(resolved(ticket))
    final = await handle.result()
    assert final.phase is IncidentPhase.RESOLVED

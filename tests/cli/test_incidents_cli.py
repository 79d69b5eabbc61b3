"""`orchestrator incidents` and `status` (no id) as a real process: the audit store's incidents
joined with the session's real Temporal dev server, where one incident is running."""

from __future__ import annotations

import json

from temporalio.client import Client
from temporalio.worker import Worker

from orchestrator.domain.signals import BreachSignal, Segment
from orchestrator.workflows.types import IncidentPhase
from tests.audit.factories import T0, incident_history
from tests.cli.helpers import cli
from tests.workflows.helpers import occurrence_of, wait_for
from workers.runtime import Runtime

OLD = "incident-support-assistant--language-gap@language=es--20261127-093000"


async def test_running_incidents_get_their_live_phase_and_old_ones_come_from_the_audit(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> None:
    for event in incident_history(OLD, T0, slo="language-gap"):
        await runtime.audit.append(event)
    signal = BreachSignal(
        service="support-assistant",
        slo="language-gap",
        dimension="fairness",
        segment=Segment(key="language", value="es"),
        observed=7.4,
        burn_rate=9.2,
        source="test",
    )
    key = (await runtime.submitter(temporal_client).submit(signal)).incident_id
    live = await wait_for(temporal_client, key, IncidentPhase.MONITORING)
    occurrence = await occurrence_of(temporal_client, key)
    settings = runtime.settings
    common = ["--state-dir", str(settings.state_dir)]
    env = {
        "ORCHESTRATOR_TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host,
        "ORCHESTRATOR_WORKFLOW_ID_PREFIX": settings.workflow_id_prefix,
    }

    got = await cli(*common, "incidents", "--limit", "10000", "--format", "jsonl", env=env)
    assert got.code == 0 and got.err == "", got.err
    rows = {r["incident_id"]: r for r in map(json.loads, got.out.splitlines())}
    running = rows[occurrence]
    assert (running["state"], running["phase"], running["running"]) == ("open", "monitoring", True)
    assert running["playbook"] == live.playbook and running["severity"] == "SEV2"
    assert running["key"] == key and running["events"] > 0
    old = rows[OLD]
    assert (old["state"], old["phase"], old["running"], old["events"]) == (
        "resolved",
        None,
        False,
        len(incident_history(OLD, T0)),
    )

    opened = await cli(*common, "status", "--json", env=env)
    assert opened.code == 0, opened.err
    listed = {r["incident_id"] for r in json.loads(opened.out)}
    assert occurrence in listed and OLD not in listed

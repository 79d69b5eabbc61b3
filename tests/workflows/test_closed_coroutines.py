"""A closed coroutine of workflow code issues no command (the replay nondeterminism of CI).

A worker that drops a run without evicting it (it stopped with the run cached: the CLI tests'
workers do) leaves the run's coroutines suspended. The garbage collector closes them later
(``GeneratorExit`` at the await), in whichever thread collects: often one running another
workflow's task. A ``finally`` that set the phase there upserted search attributes into *that*
workflow: its history then held an upsert its own code never issued (or its replay issued one its
history does not hold), and a query replaying it failed with ``UpsertWorkflowSearchAttributesMachine
does not handle HistoryEvent(id: 9, ActivityTaskScheduled)``. Only whole-suite runs met it: the
suspended runs come from tests that run before tests/workflows.

Here a probe workflow builds an incident's helpers, drives each waiting coroutine to its wait and
closes it, as the collector does, and counts the phase upserts its own history holds: the wait's
own upsert, and nothing from the close. The probe runs on the dev server, not the session's
time-skipping server: the approval wait schedules its notice activity before it waits, and the
time-skipping server holds time still for an activity left scheduled by a run that then completed
(nothing polls the probe's queue again), so every later test's timer would wait in real time.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from orchestrator.domain.actions import WaitForRecoveryArgs
from orchestrator.domain.gate import WAIT_FOR_RECOVERY as WAIT
from orchestrator.domain.playbook import Step
from orchestrator.domain.policy import ApprovalRule
from orchestrator.workflows.approvals import ApprovalDesk
from orchestrator.workflows.auditing import Auditor
from orchestrator.workflows.live import Live
from orchestrator.workflows.steps import StepRunner
from orchestrator.workflows.types import SA_STATE, IncidentInput, IncidentState
from workers.runtime import Runtime

Wait = Literal["recovery", "approval"]


class ProbeInput(BaseModel):
    incident: IncidentInput
    wait: Wait


@workflow.defn(name="closed-coroutine-probe", sandboxed=False)
class ClosedCoroutineProbe:
    @workflow.run
    async def run(self, inp: ProbeInput) -> str:
        incident = inp.incident
        state = IncidentState(
            incident_id=incident.incident_id,
            service=incident.service.name,
            slo=incident.slo.name,
        )
        live = Live(incident, state, Auditor(state))
        if inp.wait == "recovery":
            args = WaitForRecoveryArgs(timeout_seconds=600)
            step = Step(id="wait", action=WAIT, args=args.model_dump())
            waiting = StepRunner(live).wait_for_recovery(step, args)
        else:
            pin = {"component": "prompt", "version": "known-good", "reason": "probe"}
            step = Step(id="rollback", action="deploy.pin_version", args=pin)
            waiting = ApprovalDesk(live).obtain(
                step,
                ApprovalRule(timeout_seconds=600, on_timeout="escalate"),
                {},
                playbook="probe",
                destructive=True,
                hold_down_seconds=0,
            )
        waiting.send(None)  # runs to its wait (the phase's upsert), then yields
        waiting.close()  # what the garbage collector does to a dropped run's coroutine
        return state.phase.value


async def phase_upserts(env: WorkflowEnvironment, workflow_id: str) -> list[str]:
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    phases = []
    for event in history.events:
        if event.HasField("upsert_workflow_search_attributes_event_attributes"):
            attrs = event.upsert_workflow_search_attributes_event_attributes
            field = attrs.search_attributes.indexed_fields.get(SA_STATE.name)
            if field is not None:
                phases.append(field.data.decode())
    return phases


async def probe(env: WorkflowEnvironment, runtime: Runtime, wait: Wait) -> tuple[str, list[str]]:
    catalog = runtime.catalog
    service = catalog.service("support-assistant")
    incident = IncidentInput(
        incident_id=f"probe-{uuid.uuid4().hex[:10]}",
        service=service,
        slo=service.slo("language-gap"),
        candidates=(),
    )
    queue = f"probe-{uuid.uuid4().hex[:10]}"
    async with Worker(env.client, task_queue=queue, workflows=[ClosedCoroutineProbe]):
        run = env.client.execute_workflow(
            ClosedCoroutineProbe.run,
            ProbeInput(incident=incident, wait=wait),
            id=incident.incident_id,
            task_queue=queue,
        )
        phase = await asyncio.wait_for(run, timeout=60)  # a failing task would retry forever
    return phase, await phase_upserts(env, incident.incident_id)


async def test_a_closed_recovery_wait_issues_no_upsert(
    temporal_env: WorkflowEnvironment, runtime: Runtime
) -> None:
    phase, upserts = await probe(temporal_env, runtime, "recovery")
    assert upserts == ['"monitoring"']  # the wait's own; before the fix also '"mitigating"'
    assert phase == "monitoring"


async def test_a_closed_approval_wait_issues_no_upsert(
    temporal_env: WorkflowEnvironment, runtime: Runtime
) -> None:
    phase, upserts = await probe(temporal_env, runtime, "approval")
    assert upserts == ['"awaiting-approval"']  # before the fix also '"mitigating"'
    assert phase == "awaiting-approval"

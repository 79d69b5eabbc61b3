"""Determinism: histories of incidents that went through every policy path replay cleanly."""

from __future__ import annotations

import importlib
import pkgutil

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import orchestrator.workflows
from orchestrator.workflows.first import PATCH_FIRST_CHANGE
from orchestrator.workflows.first_gated import PATCH_GATED_FIRST
from orchestrator.workflows.patches import PATCH_ROLLUP, ROLLED_UP
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.harness import Harness
from tests.workflows.helpers import patch_id
from tests.workflows.signals import SPANISH, breach, recovered
from workers.runtime import WORKFLOWS, workflow_runner


async def test_escalated_approved_resolved_incident_replays(harness: Harness) -> None:
    inc = await harness.submit(breach("task-success", segment=SPANISH, observed=0.874, burn=6.3))
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(breach("task-success", observed=0.80, burn=16.0))  # SEV1: re-plan
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.approve(inc, "ana.sre")
    await harness.until(inc, IncidentPhase.MONITORING, step="route-everyone-to-humans")
    await harness.skip(901)  # the fallback's 15 minutes; the SEV1 rollback asks again
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.deny(inc, "ben.lead")
    await harness.until(inc, IncidentPhase.MONITORING, step="open-review")
    await harness.submit(recovered("task-success"))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED

    history = await harness.client.get_workflow_handle(inc).fetch_history()
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        data_converter=pydantic_data_converter,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


def patch_markers(history: WorkflowHistory) -> list[str]:
    """The ids of the patch markers in a history, in order."""
    return [patch for event in history.events if (patch := patch_id(event)) is not None]


async def test_a_new_incident_records_one_patch_marker_per_run(harness: Harness) -> None:
    """A new run has every change made before the rollup from one marker: its first task, the one
    before the first mitigating change, no longer carries 13 markers (and 13 search-attribute
    upserts). Runs started before keep a marker per change (tests/replay's stored histories).
    A change made since has its own marker: the key's first change (``first-change-in-key``),
    asking the safety ledger in its activity (``first-change-gated``)."""
    inc = await harness.submit(breach("task-success", segment=SPANISH, observed=0.874, burn=6.3))
    await harness.until(inc, IncidentPhase.MONITORING)
    key = (await harness.key(inc)).key
    history = await harness.client.get_workflow_handle(key).fetch_history()
    assert patch_markers(history) == [PATCH_ROLLUP, PATCH_FIRST_CHANGE, PATCH_GATED_FIRST]
    history = await harness.client.get_workflow_handle(inc).fetch_history()
    assert patch_markers(history) == [PATCH_ROLLUP]


def test_the_rollup_names_the_patches_the_workflow_code_asks_for() -> None:
    """Every id in the rollup is a patch the workflow code defines (``PATCH_*``): one misspelt
    would be neither rolled up for new runs nor, for those, asked for by its own marker."""
    defined = set()
    for info in pkgutil.iter_modules(orchestrator.workflows.__path__):
        module = importlib.import_module(f"orchestrator.workflows.{info.name}")
        defined |= {v for k, v in vars(module).items() if k.startswith("PATCH_")}
    assert not ROLLED_UP - (defined - {PATCH_ROLLUP}), "not a patch the code defines"

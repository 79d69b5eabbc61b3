"""The embedded stack (`orchestrator up`): stopping it and starting it again loses nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowQueryFailedError

from orchestrator.audit.model import AuditKind
from orchestrator.config.settings import Settings
from orchestrator.workflows.types import QUERY_STATE, IncidentPhase, IncidentState
from tests.workflows.helpers import (
    fairness_breach,
    occurrence_handle,
    patch_id,
    resolved,
    served_eventually,
    wait_for,
)
from workers.stack import embedded_stack

ROOT = Path(__file__).resolve().parents[2]


async def test_incident_waiting_across_a_full_stack_restart_continues(tmp_path: Path) -> None:
    settings = Settings(
        state_dir=tmp_path / "state",
        catalog_path=ROOT / "catalog" / "catalog.yaml",
        playbooks_path=ROOT / "playbooks",
        sdk_poll_interval=0.1,
    )
    async with embedded_stack(settings, fixed_ports=False) as stack:
        submitter = stack.runtime.submitter(stack.client)
        result = await submitter.submit(fairness_breach())
        await wait_for(stack.client, result.incident_id, IncidentPhase.MONITORING)
        first_server = stack.server
    assert first_server.process.poll() is not None, "the dev server must be stopped"
    assert settings.temporal_db_path.exists()

    async with embedded_stack(settings, fixed_ports=False) as stack:
        handle = await occurrence_handle(stack.client, result.incident_id)
        waiting = await query_or_explain(handle)
        assert waiting.phase is IncidentPhase.MONITORING
        # The flag store survived too: Spanish users still get the human queue.
        assert await served_eventually(stack.runtime, "es", "human-queue") == "human-queue"
        await stack.runtime.submitter(stack.client).submit(resolved(fairness_breach()))
        final = await handle.result()
        assert final.phase is IncidentPhase.RESOLVED
        timeline = await stack.runtime.audit.timeline(result.incident_id)
    effects = [e for e in timeline if e.kind is AuditKind.EFFECT_APPLIED]
    applied = [e.data.get("step") for e in effects if not e.summary.startswith("undone")]
    assert "route-segment-to-humans" in applied
    assert len(applied) == len(set(applied)), f"an effect was applied twice: {applied}"
    # Resolution undid the temporary routing once, after the restart.
    assert [e.data.get("step") for e in effects if e.summary.startswith("undone")] == [
        "route-segment-to-humans"
    ]
    assert timeline[-1].kind is AuditKind.INCIDENT_RESOLVED


async def query_or_explain(handle: WorkflowHandle[Any, IncidentState]) -> IncidentState:
    """The state query; when it fails, the failure carries the history's outline (what the
    replay met), so a rare failure on CI can be read without reproducing it."""
    try:
        state: IncidentState = await handle.query(QUERY_STATE, result_type=IncidentState)
    except WorkflowQueryFailedError as exc:
        history = await handle.fetch_history()
        outline = []
        for event in history.events:
            kind = event.WhichOneof("attributes") or "?"
            patch = patch_id(event)
            detail = f"({patch})" if patch else ""
            outline.append(f"{event.event_id}:{kind.removesuffix('_event_attributes')}{detail}")
        raise AssertionError(f"{exc}; history: {' '.join(outline)}") from exc
    return state

"""The embedded stack (`orchestrator up`): stopping it and starting it again loses nothing."""

from __future__ import annotations

from pathlib import Path

from orchestrator.audit.model import AuditKind
from orchestrator.settings import Settings
from orchestrator.workflows.types import QUERY_STATE, IncidentPhase, IncidentState
from tests.workflows.helpers import fairness_breach, resolved, served_eventually, wait_for
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
        handle = stack.client.get_workflow_handle(result.incident_id, result_type=IncidentState)
        waiting: IncidentState = await handle.query(QUERY_STATE, result_type=IncidentState)
        assert waiting.phase is IncidentPhase.MONITORING
        # The flag store survived too: Spanish users still get the human queue.
        assert await served_eventually(stack.runtime, "es", "human-queue") == "human-queue"
        await stack.runtime.submitter(stack.client).submit(resolved(fairness_breach()))
        final = await handle.result()
        assert final.phase is IncidentPhase.RESOLVED
        timeline = await stack.runtime.audit.timeline(result.incident_id)
    assert [e.kind for e in timeline].count(AuditKind.EFFECT_APPLIED) == 1
    assert timeline[-1].kind is AuditKind.INCIDENT_RESOLVED

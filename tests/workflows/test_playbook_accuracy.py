"""accuracy-task-success on the time-skipping server, through every path.

SEV3 for a segment: the fallback, 15 minutes for it to work, then the model rollback and freeze.
SEV1 for everyone: sending everyone to the human queue waits for approval (proceeds after 10 min).
"""

from __future__ import annotations

from orchestrator.audit.model import AuditKind
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.conftest import HarnessFactory
from tests.workflows.faults import refusing_deploy
from tests.workflows.harness import Harness
from tests.workflows.signals import SPANISH, breach, recovered

SLO = "task-success"
FLAG = "support-assistant-answer-mode"
SEGMENT_SEV3 = {"segment": SPANISH, "observed": 0.874, "burn": 6.3}
EVERYONE_SEV1 = {"observed": 0.80, "burn": 16.0}
KNOWN_GOOD = "assistant-model-2026-10-02"


async def everyone_gets(harness: Harness, value: str) -> object:
    return await harness.served_eventually(FLAG, "orchestrator-probe", "any-user", value)


async def test_success_fallback_then_rollback(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **SEGMENT_SEV3))
    state = await harness.until(inc, IncidentPhase.MONITORING)
    assert (state.severity, state.steps[-1].id) == ("SEV3", "give-fallback-time")
    assert await harness.served_eventually(FLAG, "language", "es", "human-queue") == "human-queue"
    assert await harness.version("model") != KNOWN_GOOD  # the fallback gets its chance first
    await harness.skip(901)
    await harness.until(inc, IncidentPhase.MONITORING, step="open-review")
    assert await harness.version("model") == KNOWN_GOOD
    assert await harness.frozen("model")
    await harness.submit(recovered(SLO))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    assert await harness.served_eventually(FLAG, "language", "es", "assistant") == "assistant"
    assert await harness.version("model") == KNOWN_GOOD
    [review] = await harness.reviews()
    assert review.evidence["versions_changed"][0]["component"] == "model"


async def test_approval_granted(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **EVERYONE_SEV1))
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.pending_approval is not None
    assert state.pending_approval.step_id == "route-everyone-to-humans"
    assert await harness.served(FLAG, "orchestrator-probe", "any-user") == "assistant"
    await harness.approve(inc, "ana.sre")
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await everyone_gets(harness, "human-queue") == "human-queue"
    await harness.submit(recovered(SLO))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    assert await everyone_gets(harness, "assistant") == "assistant"  # temporary: undone


async def test_approval_denied(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **EVERYONE_SEV1))
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.deny(inc, "ana.sre")
    state = await harness.until(inc, IncidentPhase.MONITORING)
    steps = {s.id: s for s in state.steps}
    assert steps["route-everyone-to-humans"].detail == "denied by ana.sre: not run"
    assert steps["verify-segment"].status == "skipped"
    assert await harness.served(FLAG, "orchestrator-probe", "any-user") == "assistant"
    await harness.submit(recovered(SLO))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED


async def test_approval_timed_out_proceeds(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **EVERYONE_SEV1))
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.skip(601)
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await everyone_gets(harness, "human-queue") == "human-queue"
    notes = [e.summary for e in await harness.events(inc, AuditKind.NOTE)]
    assert "no decision on route-everyone-to-humans within 600s: the playbook says proceed" in notes


async def test_step_failing_stops_and_pages(make_harness: HarnessFactory) -> None:
    async with make_harness(wrap_ops=refusing_deploy) as harness:
        inc = await harness.submit(breach(SLO, **SEGMENT_SEV3))
        await harness.until(inc, IncidentPhase.MONITORING)
        await harness.skip(901)
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.FAILED
        assert "rollback-model failed: deployment API: 403" in (final.error or "")
        assert await harness.served(FLAG, "language", "es") == "human-queue"  # kept
        assert not await harness.frozen("model")  # never reached
        assert "failed" in await harness.page_purposes()


async def test_resolved_mid_run_skips_the_rollback(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **SEGMENT_SEV3))
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(recovered(SLO))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    steps = {s.id: s for s in final.steps}
    assert steps["rollback-model"].status == "skipped"
    assert steps["freeze-model-releases"].status == "skipped"
    assert steps["open-review"].status == "done"
    assert await harness.version("model") != KNOWN_GOOD
    assert await harness.served_eventually(FLAG, "language", "es", "assistant") == "assistant"


async def test_escalation_mid_run_asks_before_routing_everyone(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **SEGMENT_SEV3))
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(breach(SLO, **EVERYONE_SEV1))
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.severities == ["SEV3", "SEV1"]
    assert state.pending_approval is not None
    assert state.pending_approval.step_id == "route-everyone-to-humans"
    assert "page-oncall" in await harness.page_purposes()
    assert await harness.applied(inc, "route-segment-to-humans") == 1
    [escalated] = await harness.events(inc, AuditKind.ESCALATED)
    assert "severity SEV3 -> SEV1" in escalated.summary

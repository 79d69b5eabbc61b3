"""latency-ttft and latency-final-answer on the time-skipping server, through every path."""

from __future__ import annotations

import pytest

from orchestrator.audit.model import AuditKind
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.conftest import HarnessFactory
from tests.workflows.faults import refusing_deploy, refusing_tickets
from tests.workflows.harness import Harness
from tests.workflows.signals import breach, recovered

CONTEXT = "support-assistant-context-size"
POST = "support-assistant-post-processing"
EU = "region=eu"


# -- latency-ttft: reduce context (stopgap), 10 minutes, then scale inference (approved) --------

TTFT = "ttft-p95"
TTFT_SEV3 = {"segment": EU, "observed": 900.0, "burn": 2.0}
TTFT_SEV2 = {"observed": 900.0, "burn": 2.0}  # everyone
TTFT_SEV1 = {"observed": 1300.0, "burn": 16.0}


async def at_scale_approval(harness: Harness, **signal: object) -> str:
    inc = await harness.submit(breach(TTFT, **signal))
    await harness.until(inc, IncidentPhase.MONITORING)  # giving the smaller context 10 minutes
    await harness.skip(601)
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.pending_approval is not None
    assert state.pending_approval.step_id == "scale-inference"
    return inc


async def test_ttft_success(harness: Harness) -> None:
    inc = await at_scale_approval(harness, **TTFT_SEV3)
    assert await harness.served_eventually(CONTEXT, "region", "eu", "reduced") == "reduced"
    assert await harness.served(CONTEXT, "region", "us") == "full"
    await harness.approve(inc, "ana.sre")
    await harness.until(inc, IncidentPhase.MONITORING, step="open-review")
    assert await harness.replicas("model") == 4
    await harness.submit(recovered(TTFT))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    # Both stopgaps were temporary: undone, newest first.
    assert await harness.served_eventually(CONTEXT, "region", "eu", "full") == "full"
    assert await harness.replicas("model") == 1
    undos = [
        e.data["step"]
        for e in await harness.events(inc, AuditKind.EFFECT_APPLIED)
        if e.data.get("undo") is True
    ]
    assert undos == ["scale-inference", "reduce-context-for-segment"]


async def test_ttft_approval_granted_is_a_person_s_decision(harness: Harness) -> None:
    inc = await at_scale_approval(harness, **TTFT_SEV2)
    assert await harness.served_eventually(CONTEXT, "k", "v", "reduced") == "reduced"
    ack = await harness.approve(inc, "ana.sre", step="scale-inference")
    assert ack.outcome == "granted"
    await harness.until(inc, IncidentPhase.MONITORING, step="open-review")
    assert await harness.replicas("model") == 4
    [granted] = await harness.events(inc, AuditKind.APPROVAL_GRANTED)
    assert granted.actor == "ana.sre"


async def test_ttft_approval_denied(harness: Harness) -> None:
    inc = await at_scale_approval(harness, **TTFT_SEV2)
    await harness.deny(inc, "ana.sre")
    state = await harness.until(inc, IncidentPhase.MONITORING, step="open-review")
    assert next(s for s in state.steps if s.id == "scale-inference").status == "skipped"
    assert await harness.replicas("model") == 1


async def test_ttft_approval_timed_out_proceeds(harness: Harness) -> None:
    inc = await at_scale_approval(harness, **TTFT_SEV2)
    await harness.skip(601)
    await harness.until(inc, IncidentPhase.MONITORING, step="open-review")
    assert await harness.replicas("model") == 4


async def test_ttft_step_failing_compensates_and_pages(make_harness: HarnessFactory) -> None:
    async with make_harness(wrap_ops=refusing_deploy) as harness:
        inc = await at_scale_approval(harness, **TTFT_SEV2)
        await harness.approve(inc, "ana.sre")
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.FAILED
        assert "quota exceeded" in (final.error or "")
        assert "undid 1 of 1 earlier effects" in (final.error or "")
        # compensate: true — the reduced context is not kept silently.
        assert await harness.served_eventually(CONTEXT, "k", "v", "full") == "full"
        assert await harness.undone(inc, "reduce-context-for-everyone")
        assert "failed" in await harness.page_purposes()


async def test_ttft_resolved_mid_run(harness: Harness) -> None:
    inc = await at_scale_approval(harness, **TTFT_SEV2)
    await harness.submit(recovered(TTFT))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    scale = next(s for s in final.steps if s.id == "scale-inference")
    assert scale.detail == "resolved while waiting for approval: not started"
    assert await harness.replicas("model") == 1
    assert await harness.served_eventually(CONTEXT, "k", "v", "full") == "full"


async def test_ttft_escalation_mid_run(harness: Harness) -> None:
    inc = await harness.submit(breach(TTFT, **TTFT_SEV3))
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(breach(TTFT, **TTFT_SEV1))
    state = await harness.until(
        inc, IncidentPhase.MONITORING, step="verify-reduced-context", runs=2
    )
    assert state.severities == ["SEV3", "SEV1"]
    assert "page-oncall" in await harness.page_purposes()
    assert await harness.applied(inc, "reduce-context-for-segment") == 1
    assert await harness.applied(inc, "reduce-context-for-everyone") == 1  # SEV1: everyone
    assert await harness.served_eventually(CONTEXT, "region", "us", "reduced") == "reduced"


# -- latency-final-answer: pause non-essential post-processing ---------------------------------

FINAL = "final-answer-p95"
FINAL_SEV3 = {"segment": EU, "observed": 4000.0, "burn": 2.0}
FINAL_SEV2 = {"observed": 4000.0, "burn": 2.0}  # everyone: needs approval
FINAL_SEV1 = {"observed": 6000.0, "burn": 16.0}


async def test_final_answer_success(harness: Harness) -> None:
    inc = await harness.submit(breach(FINAL, **FINAL_SEV3))
    state = await harness.until(inc, IncidentPhase.MONITORING)
    assert state.playbook == "latency-final-answer"
    assert await harness.served_eventually(POST, "region", "eu", "essential-only") == (
        "essential-only"
    )
    assert await harness.served(POST, "region", "us") == "full"
    await harness.submit(recovered(FINAL))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    assert await harness.served_eventually(POST, "region", "eu", "full") == "full"


@pytest.mark.parametrize("decision", ["approve", "deny", "timeout"])
async def test_final_answer_approval(harness: Harness, decision: str) -> None:
    inc = await harness.submit(breach(FINAL, **FINAL_SEV2))
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.pending_approval is not None
    assert state.pending_approval.step_id == "pause-post-processing-for-everyone"
    if decision == "approve":
        await harness.approve(inc, "ana.sre")
    elif decision == "deny":
        await harness.deny(inc, "ana.sre")
    else:
        await harness.skip(601)  # the playbook says proceed
    state = await harness.until(inc, IncidentPhase.MONITORING)
    expected = "full" if decision == "deny" else "essential-only"
    assert await harness.served_eventually(POST, "k", "v", expected) == expected
    verify = next(s for s in state.steps if s.id == "verify-post-processing")
    assert verify.status == ("skipped" if decision == "deny" else "done")
    await harness.submit(recovered(FINAL))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    assert await harness.served_eventually(POST, "k", "v", "full") == "full"


async def test_final_answer_step_failing(make_harness: HarnessFactory) -> None:
    async with make_harness(wrap_ops=refusing_tickets) as harness:
        inc = await harness.submit(breach(FINAL, **FINAL_SEV2))
        await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
        await harness.approve(inc, "ana.sre")
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.FAILED
        assert "open-review failed: ticket system refused" in (final.error or "")
        assert await harness.served(POST, "k", "v") == "essential-only"  # compensate: false
        assert "failed" in await harness.page_purposes()


async def test_final_answer_resolved_mid_run(harness: Harness) -> None:
    inc = await harness.submit(breach(FINAL, **FINAL_SEV2))
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.submit(recovered(FINAL))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    assert await harness.served(POST, "k", "v") == "full"
    assert next(s for s in final.steps if s.id == "verify-post-processing").status == "skipped"


async def test_final_answer_escalation_mid_run(harness: Harness) -> None:
    inc = await harness.submit(breach(FINAL, **FINAL_SEV3))
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(breach(FINAL, **FINAL_SEV1))
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.severities == ["SEV3", "SEV1"]
    assert state.pending_approval is not None
    assert state.pending_approval.step_id == "pause-post-processing-for-everyone"
    assert "page-oncall" in await harness.page_purposes()
    assert await harness.applied(inc, "pause-post-processing-for-segment") == 1

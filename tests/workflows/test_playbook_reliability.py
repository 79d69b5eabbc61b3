"""reliability-escalation-success on the time-skipping server, through every path.

Hand-offs to humans fail, so the fallback itself is broken: page, freeze hand-off router releases,
and roll the router back, which two people must approve (the incident was started by automation).
"""

from __future__ import annotations

from orchestrator.audit.model import AuditKind
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.conftest import HarnessFactory
from tests.workflows.faults import refusing_deploy
from tests.workflows.harness import Harness
from tests.workflows.signals import breach, recovered

SLO = "escalation-success"
SEV2 = {"observed": 0.97, "burn": 2.0}
SEV1 = {"observed": 0.90, "burn": 16.0}
ROUTER = "handoff-router"
KNOWN_GOOD = "handoff-router-2026-11-10"


async def awaiting_two(harness: Harness, **signal: object) -> str:
    inc = await harness.submit(breach(SLO, **(signal or SEV2)))
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.pending_approval is not None
    assert (state.pending_approval.step_id, state.pending_approval.needed) == ("rollback-router", 2)
    assert await harness.frozen(ROUTER)  # frozen before the rollback is even asked for
    return inc


async def approve_twice(harness: Harness, inc: str) -> None:
    assert (await harness.approve(inc, "ana.sre")).outcome == "waiting"
    assert (await harness.approve(inc, "ben.lead")).outcome == "granted"


async def test_success(harness: Harness) -> None:
    inc = await awaiting_two(harness)
    assert (await harness.page_purposes())[0] == "page-oncall"  # a person first, at once
    await approve_twice(harness, inc)
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version(ROUTER) == KNOWN_GOOD
    await harness.submit(recovered(SLO))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    # Nothing here is temporary: the rollback and the freeze stay for the review to lift.
    assert await harness.version(ROUTER) == KNOWN_GOOD
    assert await harness.frozen(ROUTER)
    [review] = await harness.reviews()
    assert review.evidence["versions_changed"][0]["after"] == KNOWN_GOOD
    assert review.evidence["freezes"][0]["component"] == ROUTER


async def test_approval_granted_records_both_people(harness: Harness) -> None:
    inc = await awaiting_two(harness)
    await approve_twice(harness, inc)
    await harness.until(inc, IncidentPhase.MONITORING)
    granted = await harness.events(inc, AuditKind.APPROVAL_GRANTED)
    assert [(e.actor, e.data["approvals"]) for e in granted] == [
        ("ana.sre", ["ana.sre"]),
        ("ben.lead", ["ana.sre", "ben.lead"]),
    ]


async def test_approval_denied_by_either_person(harness: Harness) -> None:
    inc = await awaiting_two(harness)
    await harness.approve(inc, "ana.sre")
    assert (await harness.deny(inc, "ben.lead")).outcome == "denied"
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version(ROUTER) == "handoff-router-2026-11-24"
    assert (await harness.step(inc, "open-integrity-review")).status == "done"


async def test_approval_timed_out_escalates(harness: Harness) -> None:
    inc = await awaiting_two(harness)
    await harness.skip(901)
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.pending_approval is not None and state.pending_approval.escalated
    assert "approval-timeout/reliability-escalation-success/rollback-router" in (
        await harness.page_purposes()
    )
    await approve_twice(harness, inc)
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version(ROUTER) == KNOWN_GOOD


async def test_step_failing_lifts_the_freeze_and_pages(make_harness: HarnessFactory) -> None:
    async with make_harness(wrap_ops=refusing_deploy) as harness:
        inc = await awaiting_two(harness)
        await approve_twice(harness, inc)
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.FAILED
        assert "rollback-router failed" in (final.error or "")
        assert not await harness.frozen(ROUTER)  # compensated: the freeze is lifted
        assert await harness.undone(inc, "freeze-router-releases")
        assert "failed" in await harness.page_purposes()


async def test_resolved_mid_run(harness: Harness) -> None:
    inc = await awaiting_two(harness)
    await harness.submit(recovered(SLO))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    assert await harness.version(ROUTER) == "handoff-router-2026-11-24"
    assert (await harness.step(inc, "rollback-router")).status == "skipped"


async def test_escalation_mid_run_pages_again_and_asks_again(harness: Harness) -> None:
    inc = await awaiting_two(harness)
    await harness.submit(breach(SLO, **SEV1))
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL, step="page-oncall", runs=2)
    assert state.severities == ["SEV2", "SEV1"]
    assert (await harness.page_purposes()).count("page-oncall") == 2  # a new observed value
    assert await harness.applied(inc, "freeze-router-releases") == 1
    assert await harness.approve(inc, "ana.sre")

"""The building blocks on-call launches by name, on the time-skipping server, through every path:
graceful-fallback (Playbook B) and rollback-and-freeze (Playbook A)."""

from __future__ import annotations

import pytest

from orchestrator.audit.model import AuditKind
from orchestrator.providers.flags import FlagProvider
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.conftest import HarnessFactory
from tests.workflows.faults import RefusingFlag, refusing_deploy
from tests.workflows.harness import Harness
from tests.workflows.signals import SPANISH, breach, launched, recovered

ANSWER = "support-assistant-answer-mode"
HANDOFF = "support-assistant-handoff-threshold"


# -- graceful-fallback --------------------------------------------------------------------------


def fallback(**fields: object) -> object:
    return launched("graceful-fallback", "task-success", reason="CSAT dropped", **fields)


async def test_fallback_success_for_a_segment(harness: Harness) -> None:
    inc = await harness.submit(fallback(segment=SPANISH))
    state = await harness.until(inc, IncidentPhase.MONITORING)
    assert (state.playbook, state.launched_by) == ("graceful-fallback", "maria.oncall")
    assert await harness.served_eventually(ANSWER, "language", "es", "human-queue") == (
        "human-queue"
    )
    await harness.submit(recovered("task-success"))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    assert await harness.served_eventually(ANSWER, "language", "es", "assistant") == "assistant"
    [launch] = await harness.events(inc, AuditKind.MANUAL_LAUNCH)
    assert launch.actor == "maria.oncall"


@pytest.mark.parametrize("decision", ["approve", "deny", "timeout"])
async def test_fallback_for_everyone_is_approved(harness: Harness, decision: str) -> None:
    inc = await harness.submit(fallback())
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.pending_approval is not None
    assert state.pending_approval.step_id == "route-everyone-to-retrieval"
    if decision == "approve":  # one-person rule: the launcher may approve her own step
        assert (await harness.approve(inc, "maria.oncall")).outcome == "granted"
    elif decision == "deny":
        await harness.deny(inc, "ana.sre")
    else:
        await harness.skip(601)  # proceed
    state = await harness.until(inc, IncidentPhase.MONITORING)
    applied = decision != "deny"
    answer = "retrieval-only" if applied else "assistant"
    assert await harness.served_eventually(ANSWER, "k", "v", answer) == answer
    handoff = "lowered" if applied else "standard"
    assert await harness.served_eventually(HANDOFF, "k", "v", handoff) == handoff
    verify = next(s for s in state.steps if s.id == "verify-everyone")
    assert verify.status == ("done" if applied else "skipped")
    await harness.submit(recovered("task-success"))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    assert await harness.served_eventually(ANSWER, "k", "v", "assistant") == "assistant"
    assert await harness.served_eventually(HANDOFF, "k", "v", "standard") == "standard"


async def test_fallback_step_failing_undoes_the_half_fallback(
    make_harness: HarnessFactory,
) -> None:
    def refuse_handoff(flags: FlagProvider) -> FlagProvider:
        return RefusingFlag(flags, HANDOFF)

    async with make_harness(wrap_flags=refuse_handoff) as harness:
        inc = await harness.submit(fallback())
        await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
        await harness.approve(inc, "ana.sre")
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.FAILED
        assert "hand-off-earlier failed: 403" in (final.error or "")
        # All or nothing: retrieval-only for everyone is undone (compensation), a person paged.
        assert await harness.undone(inc, "route-everyone-to-retrieval")
        assert await harness.served_eventually(ANSWER, "k", "v", "assistant") == "assistant"
        assert "failed" in await harness.page_purposes()


async def test_fallback_resolved_mid_run(harness: Harness) -> None:
    inc = await harness.submit(fallback())
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.submit(recovered("task-success"))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    assert await harness.served(ANSWER, "k", "v") == "assistant"


async def test_fallback_escalation_mid_run(harness: Harness) -> None:
    inc = await harness.submit(fallback(segment=SPANISH))
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(breach("task-success", observed=0.80, burn=16.0))  # SEV1, everyone
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    # A launched playbook stays the one in charge; the stronger breach re-plans it.
    assert state.playbooks_run == ["graceful-fallback", "graceful-fallback"]
    assert state.severities == ["SEV3", "SEV1"]
    assert state.pending_approval is not None
    assert state.pending_approval.launcher == "maria.oncall"
    assert await harness.applied(inc, "route-segment-to-humans") == 1


# -- rollback-and-freeze -------------------------------------------------------------------------


def rollback(**fields: object) -> object:
    labels = fields.pop("labels", {"component": "prompt"})
    return launched(
        "rollback-and-freeze", "language-gap", reason="prompt v42 is bad", labels=labels, **fields
    )


async def test_rollback_success(harness: Harness) -> None:
    inc = await harness.submit(rollback())
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert await harness.frozen("prompt")  # nothing ships over the rollback
    await harness.approve(inc, "maria.oncall")
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version("prompt") == "answer-prompt-v41"
    await harness.submit(recovered("language-gap"))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    assert await harness.version("prompt") == "answer-prompt-v41"
    assert await harness.frozen("prompt")


async def test_rollback_to_the_previous_version_approved(harness: Harness) -> None:
    labels = {"component": "retrieval", "version": "previous"}
    inc = await harness.submit(rollback(labels=labels))
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.approve(inc, "ana.sre")
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version("retrieval") == "kb-index-2026-11-18"
    [granted] = await harness.events(inc, AuditKind.APPROVAL_GRANTED)
    assert granted.actor == "ana.sre"


async def test_rollback_denied(harness: Harness) -> None:
    inc = await harness.submit(rollback())
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.deny(inc, "ana.sre")
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version("prompt") == "answer-prompt-v42"
    assert len(await harness.reviews()) == 1


async def test_rollback_approval_timed_out_escalates(harness: Harness) -> None:
    inc = await harness.submit(rollback())
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.skip(901)
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert "approval-timeout/rollback-and-freeze/rollback" in await harness.page_purposes()
    await harness.approve(inc, "maria.oncall")
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version("prompt") == "answer-prompt-v41"


async def test_rollback_step_failing_lifts_the_freeze(make_harness: HarnessFactory) -> None:
    async with make_harness(wrap_ops=refusing_deploy) as harness:
        inc = await harness.submit(rollback())
        await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
        await harness.approve(inc, "maria.oncall")
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.FAILED
        assert not await harness.frozen("prompt")
        assert "failed" in await harness.page_purposes()


async def test_rollback_resolved_mid_run(harness: Harness) -> None:
    inc = await harness.submit(rollback())
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.submit(recovered("language-gap"))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    assert await harness.version("prompt") == "answer-prompt-v42"


async def test_rollback_escalation_mid_run(harness: Harness) -> None:
    inc = await harness.submit(rollback())
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.submit(breach("language-gap", observed=7.4, burn=16.0))  # SEV1
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL, step="page-oncall", runs=2)
    assert state.severities == ["SEV3", "SEV1"]
    assert "page-oncall" in await harness.page_purposes()
    assert await harness.applied(inc, "freeze-releases") == 1

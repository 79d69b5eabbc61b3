"""What a step does with each class of provider failure (issue 10, defects 6 and 7), on the
time-skipping server with the real LaunchDarkly REST adapter and SDK against the local stand-in.

Before: a 405 (the environment requires approval) and a 400 were plain permanent failures, a 429
with a long Retry-After was waited out without bound, and a context the SDK refuses (a reserved
attribute name) was retried 8 times before the step failed.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from orchestrator.config.settings import Settings
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.conftest import HarnessFactory
from tests.workflows.harness import Harness
from tests.workflows.helpers import occurrence_of
from tests.workflows.ld_stack import ENV, LdStack, launchdarkly_harness
from tests.workflows.signals import SPANISH, breach

FLAG = "support-assistant-answer-mode"
STEP = "route-segment-to-humans"
WORKED_EXAMPLE = {"segment": SPANISH, "observed": 7.4, "burn": 9.2}  # SEV2, no approval asked


async def open_incident(h: Harness, **changes: object) -> str:
    signal = breach("language-gap", **{**WORKED_EXAMPLE, **changes})  # type: ignore[arg-type]
    return await occurrence_of(h.client, await h.submit(signal))


def flag_requests(ld: LdStack) -> list[str]:
    return [m for m, path, _ in ld.fake.requests if path.endswith(f"/{FLAG}")]


async def waits_for_a_person_then_runs(ld: LdStack, inc: str, words: str) -> None:
    """The step waits for approval with the provider's words; approving runs it again."""
    h = ld.harness
    state = await h.until(inc, IncidentPhase.AWAITING_APPROVAL)
    pending = state.pending_approval
    assert pending is not None and pending.step_id == STEP
    assert words in pending.reason, pending.reason
    approval = f"approval/fairness-language-gap/{STEP}"
    assert approval in await h.paged(approval), "paged at once"
    assert await h.served(FLAG, "language", "es") == "assistant", "nothing changed yet"
    ld.fake.approval_required.clear()
    await h.approve(inc, "ana.sre")
    await h.until(inc, IncidentPhase.MONITORING)
    assert await h.served_eventually(FLAG, "language", "es", "human-queue") == "human-queue"
    assert (await h.step(inc, STEP)).status == "done"


async def test_an_environment_requiring_approval_makes_the_step_wait_for_a_person(
    make_harness: HarnessFactory, settings: Settings
) -> None:
    async with launchdarkly_harness(make_harness, settings) as ld:
        ld.fake.approval_required.add(ENV)
        inc = await open_incident(ld.harness)
        await ld.harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
        assert flag_requests(ld).count("PATCH") == 1, "a 405 is not retried"
        await waits_for_a_person_then_runs(ld, inc, "HTTP 405")


async def test_a_rate_limit_longer_than_the_cap_waits_for_a_person(
    make_harness: HarnessFactory, settings: Settings
) -> None:
    async with launchdarkly_harness(make_harness, settings) as ld:
        ld.fake.fail_next(429, message="Rate limited", headers={"Retry-After": "3600"})
        inc = await open_incident(ld.harness)
        await waits_for_a_person_then_runs(ld, inc, "longer than the 60s cap")


async def test_a_refusal_fails_the_step_at_once_and_pages(
    make_harness: HarnessFactory, settings: Settings
) -> None:
    async with launchdarkly_harness(make_harness, settings) as ld:
        h = ld.harness
        ld.fake.fail_next(403, message="Access to the requested resource was denied")
        inc = await open_incident(h)
        final = await h.result(inc)
        assert final.phase is IncidentPhase.FAILED
        assert "HTTP 403" in (final.error or "") and f"'{FLAG}' (support/{ENV})" in (
            final.error or ""
        )
        assert flag_requests(ld) == ["GET"], "tried once, not retried"
        assert "failed" in await h.page_purposes()


async def test_a_reserved_attribute_fails_verification_once_not_eight_times(
    harness: Harness,
) -> None:
    h = harness
    inc = await open_incident(h, segment="kind=es")
    final = await h.result(inc)
    assert final.phase is IncidentPhase.FAILED
    assert "reserved context attribute names" in (final.error or ""), final.error
    attempts = [
        event.activity_task_started_event_attributes.attempt
        async for event in h.client.get_workflow_handle(inc).fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert attempts and max(attempts) == 1, attempts

"""The key's first flag change asks the safety ledger in its own activity (issue 15): allowed, it
changes the flag and returns the answer; refused or unanswered, it changes nothing and fails for
good with the answer in its details. Run in Temporal's activity environment against the real
SQLite ledger and the local flag store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.activities.flags import FlagActivities
from orchestrator.activities.gated import GatedChanges
from orchestrator.activities.safety import SafetyActivities
from orchestrator.activities.safety_ledger import SharedSafetyLedger, open_safety_ledger
from orchestrator.activities.types import ACTION_REFUSED, FlagChangeInput, GatedFlagChangeInput
from orchestrator.domain.ops_models import ActionRequest, Authorization
from orchestrator.domain.policy_limits import BreakerLimit, SafetyLimits
from orchestrator.errors import AuditError
from orchestrator.providers.local_flags import LocalFlagStore
from tests.providers.conftest import ANSWER_MODE

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ENV = ActivityEnvironment()
ROUTE = "flag.route_segment"


@dataclass
class Stack:
    gated: GatedChanges
    ledger: SharedSafetyLedger
    flags: LocalFlagStore


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    flags = LocalFlagStore(tmp_path / "state.json", tmp_path / "sdk.json")
    flags.ensure_flags([ANSWER_MODE])
    ledger = open_safety_ledger(f"sqlite:///{tmp_path / 'audit.db'}")
    limits = SafetyLimits(actions={ROUTE: BreakerLimit(max_actions=1, window_seconds=3600)})
    safety = SafetyActivities(ledger, limits, clock=lambda: T0)
    acts = FlagActivities(flags, evaluator=None)  # type: ignore[arg-type]  # not evaluated here
    try:
        yield Stack(GatedChanges(acts, safety), ledger, flags)
    finally:
        await ledger.close()


def change(incident: str, language: str) -> GatedFlagChangeInput:
    return GatedFlagChangeInput(
        change=FlagChangeInput(
            incident_id=incident,
            step_key=f"{incident}/route",
            flag=ANSWER_MODE.key,
            kind="route_segment",
            variation="human-queue",
            ref=f"orchestrator-route-{incident}",
            attribute="language",
            values=(language,),
            comment=f"incident {incident}",
        ),
        request=ActionRequest(
            key=f"{incident}/route", service="support-assistant", action=ROUTE, automated=True
        ),
    )


async def refused(stack: Stack, inp: GatedFlagChangeInput) -> Authorization:
    with pytest.raises(ApplicationError) as caught:
        await ENV.run(stack.gated.apply_gated_flag_change, inp)
    assert caught.value.type == ACTION_REFUSED and caught.value.non_retryable
    return Authorization.model_validate(caught.value.details[0])


async def test_allowed_it_changes_the_flag_and_a_retry_counts_once(stack: Stack) -> None:
    made = await ENV.run(stack.gated.apply_gated_flag_change, change("inc-1", "es"))
    assert made.authorization.allowed and made.authorization.reason == "allowed"
    assert made.result.changed
    again = await ENV.run(stack.gated.apply_gated_flag_change, change("inc-1", "es"))
    assert again.authorization.reason == "recorded-before"  # the same key: counted once
    assert not again.result.changed  # in place already: nothing written twice
    assert len((await stack.flags.get_flag(ANSWER_MODE.key)).rules) == 1


async def test_refused_by_the_breaker_or_the_kill_switch_it_changes_nothing(stack: Stack) -> None:
    await ENV.run(stack.gated.apply_gated_flag_change, change("inc-1", "es"))
    version = (await stack.flags.get_flag(ANSWER_MODE.key)).version
    breaker = await refused(stack, change("inc-2", "fr"))  # one an hour, taken by inc-1
    assert (breaker.allowed, breaker.reason) == (False, "circuit-breaker")
    await stack.ledger.set_kill_switch(True, by="maria", reason="bad deploy day", now=T0)
    switch = await refused(stack, change("inc-3", "de"))
    assert (switch.allowed, switch.reason) == (False, "kill-switch")
    assert "maria" in switch.detail
    assert (await stack.flags.get_flag(ANSWER_MODE.key)).version == version


async def test_a_ledger_that_cannot_answer_is_a_no(stack: Stack) -> None:
    await stack.ledger.close()  # its store refuses every question from here
    answer = await refused(stack, change("inc-1", "es"))
    assert not answer.allowed
    assert answer.detail.startswith("the safety ledger did not answer")
    assert (await stack.flags.get_flag(ANSWER_MODE.key)).rules == ()


class UnreachableLedger:
    """A ledger whose database is away, its error naming the connection (fault injection)."""

    async def authorize(self, *_: object, **__: object) -> Authorization:
        raise AuditError("cannot connect to postgresql://orch:s3cretpw@db:5432/audit")


async def test_the_refusal_of_an_unreachable_ledger_carries_no_secret(tmp_path: Path) -> None:
    flags = LocalFlagStore(tmp_path / "state.json", tmp_path / "sdk.json")
    flags.ensure_flags([ANSWER_MODE])
    safety = SafetyActivities(UnreachableLedger(), SafetyLimits())  # type: ignore[arg-type]
    gated = GatedChanges(FlagActivities(flags, evaluator=None), safety)  # type: ignore[arg-type]
    with pytest.raises(ApplicationError) as caught:
        await ENV.run(gated.apply_gated_flag_change, change("inc-1", "es"))
    answer = Authorization.model_validate(caught.value.details[0])
    assert "s3cretpw" not in answer.detail and "s3cretpw" not in caught.value.message
    assert "AuditError" in answer.detail and "[redacted]" in answer.detail
    assert (await flags.get_flag(ANSWER_MODE.key)).rules == ()

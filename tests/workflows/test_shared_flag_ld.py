"""Two incidents change the same flag, on LaunchDarkly (the fake one, through the real REST adapter
and the real server SDK), on the time-skipping server.

A fairness breach (language-gap) and an accuracy breach (task-success), both for Spanish speakers,
both route ``language=es`` to the human queue on support-assistant-answer-mode. They share one
targeting rule (the holdings ledger): the first to resolve leaves it in place for the other, the
last to resolve removes it. English speakers are served the assistant throughout.
"""

from __future__ import annotations

import asyncio
from typing import Any

from orchestrator.audit.factory import open_holding_store
from orchestrator.audit.model import AuditKind
from orchestrator.config.settings import Settings
from orchestrator.domain.holdings import Holding
from orchestrator.domain.signals import BreachSignal
from orchestrator.workflows.types import IncidentPhase, IncidentState
from tests.workflows.conftest import HarnessFactory
from tests.workflows.harness import Harness
from tests.workflows.helpers import occurrence_of
from tests.workflows.ld_stack import LdStack, launchdarkly_harness
from tests.workflows.signals import SPANISH, breach, recovered

FLAG = "support-assistant-answer-mode"
ROUTE = "route-segment-to-humans"
HOLD_DOWN = 15  # both playbooks' resolution.hold_down_seconds


async def open_incident(h: Harness, signal: BreachSignal) -> str:
    """Submit a firing signal; the id of the occurrence it opened (Harness.submit may answer
    with the key's id when it asks before the key's workflow has started the occurrence)."""
    return await occurrence_of(h.client, await h.submit(signal))


async def served(h: Harness, language: str, expect: str) -> object:
    """What the LaunchDarkly SDK (streaming from the fake) serves a user speaking ``language``."""
    return await h.served_eventually(FLAG, "language", language, expect)


async def assert_serving(h: Harness, es: str, steady: float = 0.0) -> None:
    """es users get ``es`` (and keep getting it for ``steady`` seconds); en users the assistant."""
    assert await served(h, "es", es) == es
    loop = asyncio.get_running_loop()
    until = loop.time() + steady
    while loop.time() < until:
        assert await h.served(FLAG, "language", "es") == es
        await asyncio.sleep(0.05)
    assert await h.served(FLAG, "language", "en") == "assistant"


async def holders(settings: Settings, target: str) -> list[str] | None:
    """Who holds ``target`` in the holdings ledger (None: nothing is held)."""
    if not target:
        return None
    store = open_holding_store(settings.effective_audit_url)
    try:
        stored = await store.get(target)
    finally:
        await store.close()
    return None if stored is None else [h.id for h in Holding.model_validate(stored.body).holders]


async def resolve(h: Harness, incident: str, slo: str) -> IncidentState:
    """Send the resolution, let exactly the hold-down pass (so no other incident's timer fires
    meanwhile), and return the workflow's result."""
    await h.submit(recovered(slo))
    await h.until(incident, IncidentPhase.HOLDING_DOWN)
    await h.skip(HOLD_DOWN + 1)
    # What is left (the undo activity, the last audit writes) needs no timer: wait for the result
    # without unlocking time skipping, so the other incident's timers stay where they are.
    handle = h.client.get_workflow_handle(incident, result_type=IncidentState)
    return await asyncio.wait_for(handle.result(), timeout=60)


def rule_instructions(stack: LdStack) -> tuple[list[tuple[dict[str, Any], str]], ...]:
    sent = stack.instructions(FLAG)
    added = [(i, c) for i, c in sent if i["kind"] == "addRule"]
    removed = [(i, c) for i, c in sent if i["kind"] == "removeRule"]
    return added, removed


async def test_two_incidents_share_one_rule_and_the_last_to_leave_removes_it(
    make_harness: HarnessFactory, settings: Settings
) -> None:
    async with launchdarkly_harness(make_harness, settings) as stack:
        h = stack.harness
        await assert_serving(h, es="assistant")

        # 1. The fairness incident (the worked example, SEV2) routes es to the human queue: it
        # adds the rule.
        fairness = await open_incident(
            h, breach("language-gap", segment=SPANISH, observed=7.4, burn=9.2)
        )
        state = await h.until(fairness, IncidentPhase.MONITORING)
        assert (state.playbook, state.severity) == ("fairness-language-gap", "SEV2")
        await assert_serving(h, es="human-queue")
        [rule] = stack.flag(FLAG).rules
        assert rule.clauses[0].attribute == "language" and rule.clauses[0].values == ("es",)
        assert stack.flag(FLAG).value_of(rule.variation_id) == "human-queue"

        # 2. An accuracy incident (SEV3) for the same segment needs the same routing: it joins
        # the rule, adds none.
        accuracy = await open_incident(
            h, breach("task-success", segment=SPANISH, observed=0.874, burn=6.3)
        )
        state = await h.until(accuracy, IncidentPhase.MONITORING)
        assert (state.playbook, state.severity) == ("accuracy-task-success", "SEV3")
        assert (await h.step(accuracy, ROUTE)).status == "done"
        assert [r.id for r in stack.flag(FLAG).rules] == [rule.id]
        await assert_serving(h, es="human-queue")
        added, removed = rule_instructions(stack)
        assert len(added) == 1 and removed == []
        [undo] = [e.undo for e in state.effects if e.step_id == ROUTE]
        target = (undo.holding if undo else None) or ""
        ledger = [await holders(settings, target)]  # checked last: the effects come first

        # 3. The fairness incident resolves: the rule stays, the accuracy incident still needs it.
        first = await resolve(h, fairness, "language-gap")
        assert first.phase is IncidentPhase.RESOLVED
        assert await h.undone(fairness, ROUTE), "the first incident left the rule (its undo)"
        assert (await h.state(accuracy)).phase is IncidentPhase.MONITORING
        await assert_serving(h, es="human-queue", steady=1.0)
        assert [r.id for r in stack.flag(FLAG).rules] == [rule.id]
        assert rule_instructions(stack)[1] == [], "nothing removed while another incident holds it"
        ledger.append(await holders(settings, target))

        # 4. The accuracy incident resolves: the last holder removes the rule.
        second = await resolve(h, accuracy, "task-success")
        assert second.phase is IncidentPhase.RESOLVED
        assert await h.undone(accuracy, ROUTE)
        await assert_serving(h, es="assistant")
        assert stack.flag(FLAG).rules == ()
        ledger.append(await holders(settings, target))

        # The fake's patch log: the rule went in once, for es, and came out once, by the last.
        added, removed = rule_instructions(stack)
        assert len(added) == 1, added
        [(add, add_comment)] = added
        assert [c["values"] for c in add["clauses"]] == [["es"]]
        assert [c["attribute"] for c in add["clauses"]] == ["language"]
        assert fairness in add_comment
        assert len(removed) == 1, removed
        [(remove, remove_comment)] = removed
        assert remove["ruleId"] == rule.id
        assert accuracy in remove_comment
        kinds = {i["kind"] for i, _ in stack.instructions(FLAG)}
        assert kinds <= {"addRule", "removeRule", "turnFlagOn"}, kinds
        for incident in (fairness, accuracy):
            assert AuditKind.INCIDENT_RESOLVED in await h.kinds(incident)

        # The holdings ledger, stage by stage: both held the one rule, then one, then none.
        assert target, "the route step's undo leaves a held change"
        assert ledger == [
            [f"{fairness}/{ROUTE}", f"{accuracy}/{ROUTE}"],
            [f"{accuracy}/{ROUTE}"],
            None,
        ]

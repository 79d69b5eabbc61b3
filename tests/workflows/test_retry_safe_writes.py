"""Held changes whose write went through while its activity did not, on the time-skipping server.

A worker can die after the provider took a pin, a scale or a flag change and before Temporal heard
the activity complete; Temporal then runs the activity again against a target that already shows
the change. And a person can change a flag between the read a change was planned on and its write.
Each test asserts what users and on-call rely on: what the LaunchDarkly SDK (file source) serves,
the version and replica count the deployment provider runs, the release freeze.
"""

from __future__ import annotations

import dataclasses

from orchestrator.audit.model import AuditKind
from orchestrator.domain.flags import AddRule, Clause, FlagState, Instruction, RemoveRule
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.policy_effects import EffectRecord
from orchestrator.domain.signals import BreachSignal
from orchestrator.providers.flags import FlagProvider
from orchestrator.providers.local_flags import LocalFlagStore
from orchestrator.providers.local_ops import OpsProviders
from orchestrator.workflows.types import IncidentPhase, IncidentState
from tests.workflows.conftest import HarnessFactory
from tests.workflows.faults import (
    DeployDiesAfterWrite,
    FlagDiesAfterWrite,
    PersonEditsFirst,
    RefusingTickets,
)
from tests.workflows.harness import SERVICE, Harness
from tests.workflows.helpers import occurrence_of
from tests.workflows.signals import SPANISH, breach, launched, recovered
from tests.workflows.stopgaps import HOLD_PROMPT, RAN_BEFORE_IT, SERVED_BEFORE
from workers.runtime import OpsWrapper

ANSWER = "support-assistant-answer-mode"
CONTEXT = "support-assistant-context-size"
TTFT = "ttft-p95"
TTFT_EVERYONE = {"observed": 900.0, "burn": 2.0}  # SEV2, no segment: the default changes


def effect(state: IncidentState, step: str) -> EffectRecord:
    [found] = [e for e in state.effects if e.step_id == step]
    return found


def dying_deploy(
    *, pin: bool = False, scale: bool = False, refuse_reviews: bool = False
) -> tuple[list[DeployDiesAfterWrite], OpsWrapper]:
    """An ops wrapper whose deployment provider dies after its first pin (or scale), and the
    list the provider it built lands in (to check the fault happened)."""
    built: list[DeployDiesAfterWrite] = []

    def wrap(ops: OpsProviders) -> OpsProviders:
        deploy = DeployDiesAfterWrite(ops.deploy, pin=pin, scale=scale)
        built.append(deploy)
        tickets = RefusingTickets(ops.tickets) if refuse_reviews else ops.tickets
        return dataclasses.replace(ops, deploy=deploy, tickets=tickets)

    return built, wrap


async def open_incident(
    harness: Harness, signal: BreachSignal, library: PlaybookLibrary | None = None
) -> str:
    """Submit a firing signal; the id of the occurrence it opened. (Harness.submit can answer
    with the key's id when its query lands between the key counting the signal and opening the
    occurrence; audit timelines are per occurrence.)"""
    return await occurrence_of(harness.client, await harness.submit(signal, library))


async def prompt_served(harness: Harness) -> tuple[str, ...]:
    """Every prompt version the provider has served, oldest first, the current one last."""
    state = await harness.local.deploy.state(SERVICE, "prompt")
    return (*state.history, state.version)


# -- 5: a retried pin re-reads "previous" -------------------------------------------------------


async def test_retried_pin_of_previous_pins_what_served_before_and_compensation_restores_it(
    make_harness: HarnessFactory,
) -> None:
    """Defect 5, "a retried pin re-reads previous": rollback-and-freeze pins the prompt's
    ``previous``; the pin is written, the worker dies, Temporal retries the activity. The retry
    must not read ``previous`` again (after the pin it is the bad version, v42): the prompt stays
    on v41, and when the rollback is undone (here: compensation, the review step failing for
    good) v42, what served before the incident, serves again."""
    built, wrap = dying_deploy(pin=True, refuse_reviews=True)
    async with make_harness(wrap_ops=wrap) as harness:
        start = await harness.local.deploy.state(SERVICE, "prompt")
        assert (start.version, start.previous) == (SERVED_BEFORE, RAN_BEFORE_IT)
        labels = {"component": "prompt", "version": "previous"}
        inc = await open_incident(
            harness,
            launched("rollback-and-freeze", "language-gap", reason="v42 is bad", labels=labels),
        )
        await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
        await harness.approve(inc, "maria.oncall")
        final = await harness.result(inc)

        assert final.phase is IncidentPhase.FAILED  # the review was refused: compensation
        assert built[0].died == {"pin"}  # the pin was written, then its activity retried
        # v42 served, then the provider's previous (v41) for the incident, then v42 again: never
        # a roll forward to v42 by the retry, never a "restore" to v41 by the undo.
        assert await prompt_served(harness) == (
            RAN_BEFORE_IT,
            SERVED_BEFORE,
            RAN_BEFORE_IT,
            SERVED_BEFORE,
        )
        rollback = [s for s in final.steps if s.id == "rollback"][-1]
        assert rollback.status == "done"
        assert rollback.result["version_after"] == RAN_BEFORE_IT
        assert await harness.undone(inc, "rollback")
        assert not await harness.frozen("prompt")


async def held_pin_through_a_retry(
    harness: Harness, built: list[DeployDiesAfterWrite], version: str
) -> None:
    """Launch the temporary pin, check it holds through the retry, resolve, check it is undone."""
    library = PlaybookLibrary(playbooks=(*harness.runtime.library.playbooks, HOLD_PROMPT))
    signal = launched("hold-prompt-version", "language-gap", labels={"version": version})
    inc = await open_incident(harness, signal, library)
    state = await harness.until(inc, IncidentPhase.MONITORING, step="rollback")
    assert await harness.version("prompt") == RAN_BEFORE_IT
    assert built[0].died == {"pin"}  # the pin was written, then its activity retried
    undo = effect(state, "rollback").undo
    assert undo is not None and undo.restore == SERVED_BEFORE

    await harness.submit(recovered("language-gap"))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    assert await harness.version("prompt") == SERVED_BEFORE
    assert effect(final, "rollback").undone
    assert await harness.undone(inc, "rollback")
    assert await prompt_served(harness) == (
        RAN_BEFORE_IT,
        SERVED_BEFORE,
        RAN_BEFORE_IT,
        SERVED_BEFORE,
    )


async def test_retried_temporary_pin_of_previous_is_undone_to_what_served_before(
    make_harness: HarnessFactory,
) -> None:
    """Defect 5, "a retried pin re-reads previous", on the resolution path: a temporary pin of
    ``previous`` written, the worker dead, the activity retried. During the incident the prompt
    is the provider's previous at the start (v41); once the SLO has recovered the undo brings
    back v42, what served before the incident (not v41, not anything else)."""
    built, wrap = dying_deploy(pin=True)
    async with make_harness(wrap_ops=wrap) as harness:
        await held_pin_through_a_retry(harness, built, "previous")


# -- 6: a retried write whose completion was lost keeps its undo --------------------------------


async def test_retried_pin_of_known_good_keeps_its_undo(make_harness: HarnessFactory) -> None:
    """Defect 6, "a retried pin loses its undo record when the write succeeded and the
    completion did not": the retry finds known-good (v41) serving already, changes nothing, and
    must still record the undo; after recovery v42 serves again."""
    built, wrap = dying_deploy(pin=True)
    async with make_harness(wrap_ops=wrap) as harness:
        await held_pin_through_a_retry(harness, built, "known-good")


async def test_retried_set_default_keeps_its_undo(make_harness: HarnessFactory) -> None:
    """Defect 6, "a retried set-default loses its undo record when the write succeeded and the
    completion did not": latency-ttft serves everyone the reduced context; the flag change is
    applied, the worker dies, the retry finds nothing to change. The undo must be recorded all
    the same: after recovery everyone gets the full context again."""
    built: list[FlagDiesAfterWrite] = []

    def wrap(flags: FlagProvider) -> FlagProvider:
        built.append(FlagDiesAfterWrite(flags, CONTEXT))
        return built[0]

    async with make_harness(wrap_flags=wrap) as harness:
        assert await harness.served(CONTEXT, "k", "v") == "full"
        inc = await open_incident(harness, breach(TTFT, **TTFT_EVERYONE))
        state = await harness.until(inc, IncidentPhase.MONITORING, step="verify-reduced-context")
        assert (await harness.step(inc, "reduce-context-for-everyone")).status == "done"
        assert await harness.served_eventually(CONTEXT, "k", "v", "reduced") == "reduced"
        assert built[0].died  # the change was applied, then its activity retried
        undo = effect(state, "reduce-context-for-everyone").undo
        assert undo is not None and undo.restore == "full"

        await harness.submit(recovered(TTFT))
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.RESOLVED
        assert await harness.served_eventually(CONTEXT, "k", "v", "full") == "full"
        assert effect(final, "reduce-context-for-everyone").undone
        assert await harness.undone(inc, "reduce-context-for-everyone")


async def test_retried_scale_keeps_its_undo(make_harness: HarnessFactory) -> None:
    """Defect 6, "a retried scale loses its undo record when the write succeeded and the
    completion did not": latency-ttft scales the model to 4 replicas; the scale is written, the
    worker dies, the retry finds 4 running. The undo must be recorded all the same: after
    recovery the model runs 1 replica again."""
    built, wrap = dying_deploy(scale=True)
    async with make_harness(wrap_ops=wrap) as harness:
        assert await harness.replicas("model") == 1
        inc = await open_incident(harness, breach(TTFT, **TTFT_EVERYONE))
        await harness.until(inc, IncidentPhase.MONITORING)  # the smaller context's 10 minutes
        await harness.skip(601)
        await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
        await harness.approve(inc, "ana.sre", step="scale-inference")
        state = await harness.until(inc, IncidentPhase.MONITORING, step="open-review")
        assert (await harness.step(inc, "scale-inference")).status == "done"
        assert await harness.replicas("model") == 4
        assert built[0].died == {"scale"}  # the scale was written, then its activity retried
        undo = effect(state, "scale-inference").undo
        assert undo is not None and undo.restore == "1"

        await harness.submit(recovered(TTFT))
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.RESOLVED
        assert await harness.replicas("model") == 1
        assert effect(final, "scale-inference").undone
        assert await harness.undone(inc, "scale-inference")


# -- 8: plan and apply guarded by the flag's version ---------------------------------------------

PERSON_RULE = "person-enterprise"
PERSON_RULE_NOW = "person-enterprise-and-business"


def plans(*values: str) -> tuple[Clause, ...]:
    return (Clause(context_kind="user", attribute="plan", values=values),)


class PersonWidensTheirRule(PersonEditsFirst):
    """A person replaces their rule (enterprise customers get retrieval-only answers) with a
    wider one (enterprise and business) just before the incident's first write to the flag."""

    def edit(self, state: FlagState) -> list[Instruction]:
        old = state.rule_by_ref(PERSON_RULE)
        assert old is not None
        widened = AddRule(
            clauses=plans("enterprise", "business"),
            variation_id=state.variation_id_for("retrieval-only"),
            ref=PERSON_RULE_NOW,
        )
        return [RemoveRule(rule_id=old.id), widened]


async def test_route_planned_on_a_flag_a_person_changed_meanwhile_is_planned_again(
    make_harness: HarnessFactory,
) -> None:
    """Defect 8, "plan and apply are not guarded by a version": the Spanish-speakers rule is
    planned (first, before the person's enterprise rule), then a person replaces that rule before
    the write. The write must hit a version conflict, read again and plan again: the step
    succeeds (no failure, permanent or not), Spanish speakers get the human queue, and the
    person's new rule stays in force, during the incident and after its undo."""
    built: list[PersonWidensTheirRule] = []

    def wrap(flags: FlagProvider) -> FlagProvider:
        built.append(PersonWidensTheirRule(flags, ANSWER))
        return built[0]

    async with make_harness(wrap_flags=wrap) as harness:
        settings = harness.runtime.settings
        person = LocalFlagStore(settings.flag_state_path, settings.flag_sdk_path)
        flag = await person.get_flag(ANSWER)
        rule = AddRule(
            clauses=plans("enterprise"),
            variation_id=flag.variation_id_for("retrieval-only"),
            ref=PERSON_RULE,
        )
        await person.apply(ANSWER, [rule], "a person, last week")
        assert await harness.served_eventually(ANSWER, "plan", "enterprise", "retrieval-only") == (
            "retrieval-only"
        )

        inc = await open_incident(
            harness, breach("language-gap", segment=SPANISH, observed=7.4, burn=9.2)
        )
        state = await harness.until(inc, IncidentPhase.MONITORING)
        assert built[0].edited  # the person's change landed between plan and write
        route = await harness.step(inc, "route-segment-to-humans")
        assert route.status == "done"
        assert route.result["conflicts"] == 1
        assert not [s for s in state.steps if s.status == "failed"]
        assert await harness.events(inc, AuditKind.STEP_FAILED) == []
        assert await harness.served_eventually(ANSWER, "language", "es", "human-queue") == (
            "human-queue"
        )
        assert await harness.served(ANSWER, "language", "en") == "assistant"
        assert await harness.served(ANSWER, "plan", "business") == "retrieval-only"
        refs = [r.ref for r in (await person.get_flag(ANSWER)).rules]
        assert refs[-1] == PERSON_RULE_NOW and PERSON_RULE not in refs

        await harness.submit(recovered("language-gap"))
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.RESOLVED
        assert await harness.served_eventually(ANSWER, "language", "es", "assistant") == (
            "assistant"
        )
        assert await harness.served(ANSWER, "plan", "business") == "retrieval-only"
        assert await harness.served(ANSWER, "plan", "enterprise") == "retrieval-only"
        after = await person.get_flag(ANSWER)
        assert [(r.ref, r.clauses) for r in after.rules] == [
            (PERSON_RULE_NOW, plans("enterprise", "business"))
        ]

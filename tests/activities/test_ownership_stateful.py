"""Shared ownership of temporary changes, as a state machine over the real activities.

Three incidents (occurrences ``occ-A``, ``occ-B``, ``occ-C``, each with two steps per change, so
holders such as ``occ-A/route`` and ``occ-A/route-again``) apply and undo held changes on the SAME
targets of the support assistant:

- ``route``: route ``language=es`` to ``human-queue`` on ``support-assistant-answer-mode``;
- ``default``: make ``essential-only`` the default of ``support-assistant-post-processing``;
- ``pin_prompt`` / ``pin_model``: pin the prompt to ``answer-prompt-v41`` / the model to its
  known-good version (explicitly, or as ``previous``);
- ``scale``: scale the model (each holder its own replica count; the most anyone needs runs);
- ``freeze``: freeze prompt releases.

Each example runs the activities in Temporal's activity environment against the local flag store,
deployments and freezes of a fresh state folder, and a fresh SQLite holdings database, through
wrappers that can fail one write (before it is made, or after it is made and before the activity
completes) and let a person change an unrelated flag rule between an activity's read and write.

Rules: ``apply``; ``undo`` (``release_change``), by a holder or by one that never joined or has
left; ``retry_after_lost_completion`` (the same activity again: the write happened, Temporal never
heard); ``crash_between_write_and_completion`` (one write fails, optionally another incident acts
and the lease runs out, then Temporal retries until it completes); and the person's changes.

After every step: while a target has an open holder, its change is in place, as the providers
serve it (the rule and what ``es`` is served, the default, the version, the replicas, an active
freeze) and the ledger names exactly the open holders over the baseline from before the first;
once every holder has left, the target is back to its state from before the first holder (rules
and fallthrough as the person left them, version, replicas, no active freeze) and no holding
remains. An undo by a holder that is not open changes nothing at all, and so does a retry.

The machine found four package bugs, all fixed; each has its own test at the end (a crashed
undo of a scale others still hold lower, a held freeze set again for a new holder or a step run
again, a pin to ``previous`` joining a dead release, another holder leaving a scale while a crashed
undo still owed its re-apply).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.activities.changes import ChangeActivities, Targets
from orchestrator.activities.deploy import DeployActivities
from orchestrator.activities.flags import FlagActivities, held_flag_change
from orchestrator.activities.holdings import Holdings
from orchestrator.activities.ops_types import (
    FreezeInput,
    PinInput,
    ReleaseInput,
    ReleaseResult,
    ScaleInput,
)
from orchestrator.activities.releases import ReleaseActivities
from orchestrator.activities.types import FlagChangeInput
from orchestrator.audit.holdings_sqlite import SqliteHoldingStore
from orchestrator.config.files import load_catalog
from orchestrator.domain.actions import PREVIOUS
from orchestrator.domain.flag_plans import plan_remove_rule, plan_route_segment
from orchestrator.domain.holdings import (
    LEASE,
    ON,
    Holding,
    HoldKind,
    holder_id,
    holding_target,
    shared_ref,
)
from orchestrator.domain.ops_models import FreezeRequest
from orchestrator.providers.local_flags import LocalFlagStore
from orchestrator.providers.local_ops import local_ops
from tests.activities.ownership_helpers import (
    Clock,
    Crash,
    Faults,
    FaultyDeployments,
    FaultyFlags,
    FaultyFreezes,
    FaultyStore,
    InjectedFault,
    NoEvaluator,
    Snapshot,
    rule_shapes,
    served,
    snapshot,
)

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "catalog" / "catalog.yaml")
SVC = "support-assistant"
SERVICE = next(s for s in CATALOG.services if s.name == SVC)
COMPONENTS = tuple((SVC, name) for name in SERVICE.versions)
ANSWER_MODE = "support-assistant-answer-mode"
POST_PROCESSING = "support-assistant-post-processing"
PROMPT_FIX = "answer-prompt-v41"
MODEL_FIX = SERVICE.versions["model"].known_good
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ENV = ActivityEnvironment()
SHM = Path("/dev/shm")  # fsync is free there: the providers fsync every write
PERSON_REF = "person-de-rule"
PERSON_SERVES = {ANSWER_MODE: "retrieval-only", POST_PROCESSING: "full"}

Change = Literal["route", "default", "pin_prompt", "pin_model", "scale", "freeze"]
CHANGES: tuple[Change, ...] = ("route", "default", "pin_prompt", "pin_model", "scale", "freeze")
KIND: dict[Change, HoldKind] = {
    "route": "flag_rule",
    "default": "flag_default",
    "pin_prompt": "version",
    "pin_model": "version",
    "scale": "replicas",
    "freeze": "freeze",
}
STEP: dict[Change, str] = {
    "route": "route",
    "default": "post-processing",
    "pin_prompt": "rollback-prompt",
    "pin_model": "rollback-model",
    "scale": "scale-model",
    "freeze": "freeze-prompt",
}
OCCURRENCES = ("occ-A", "occ-B", "occ-C")
WISHES: dict[Change, tuple[str, ...]] = {
    "route": ("",),
    "default": ("",),
    "pin_prompt": (PROMPT_FIX, PREVIOUS),
    "pin_model": (MODEL_FIX, PREVIOUS),
    "scale": ("1", "2", "3", "5"),
    "freeze": ("",),
}
"""What a holder may ask for (PREVIOUS resolves to the fix: the version before the current)."""
BASELINE: dict[Change, str] = {
    "route": "",
    "default": "full",
    "pin_prompt": SERVICE.versions["prompt"].current,
    "pin_model": SERVICE.versions["model"].current,
    "scale": "1",
    "freeze": "",
}
"""Each target as the ledger sees it before any holder (the catalog's seed state)."""


@dataclass(frozen=True, order=True)
class Who:
    """One holder: an occurrence's step holding one change."""

    occurrence: str
    step: str
    change: Change

    @property
    def id(self) -> str:
        return holder_id(self.occurrence, self.step)


HOLDERS = tuple(
    Who(occurrence, step, change)
    for change in CHANGES
    for occurrence in OCCURRENCES
    for step in (STEP[change], f"{STEP[change]}-again")
)
Input = FlagChangeInput | PinInput | ScaleInput | FreezeInput


def apply_input(who: Who, wish: str) -> Input:
    """The activity input the step of ``who`` sends (the same on every retry)."""
    change, holder = who.change, who.id
    if change in ("route", "default"):
        route = change == "route"
        return FlagChangeInput(
            incident_id=who.occurrence,
            step_key=holder,
            flag=ANSWER_MODE if route else POST_PROCESSING,
            kind="route_segment" if route else "set_default",
            variation="human-queue" if route else "essential-only",
            ref=holder,
            attribute="language" if route else None,
            values=("es",) if route else (),
            comment=f"{holder}: mitigation",
            holder=holder,
        )
    if change in ("pin_prompt", "pin_model"):
        component = "prompt" if change == "pin_prompt" else "model"
        return PinInput(service=SVC, component=component, version=wish, ref=holder, holder=holder)
    if change == "scale":
        return ScaleInput(
            service=SVC, component="model", replicas=int(wish), ref=holder, holder=holder
        )
    request = FreezeRequest(
        id=f"{who.occurrence}/prompt-regression/{who.step}",
        service=SVC,
        component="prompt",
        reason="prompt regression",
        owner="cx-ai-platform",
        until=T0 + timedelta(days=7),
        created_by=f"orchestrator ({who.occurrence})",
    )
    return FreezeInput(request=request, holder=holder)


def wanted(change: Change, wish: str) -> str:
    """What a holder with ``wish`` needs in place, as the ledger stores it."""
    return {
        "route": ON,
        "default": "essential-only",
        "pin_prompt": PROMPT_FIX,
        "pin_model": MODEL_FIX,
        "scale": wish,
        "freeze": ON,
    }[change]


def _route_target() -> str:
    route = apply_input(HOLDERS[0], "")
    assert isinstance(route, FlagChangeInput)
    return held_flag_change(route)[1]


TARGET: dict[Change, str] = {
    "route": _route_target(),
    "default": holding_target("flag_default", POST_PROCESSING),
    "pin_prompt": holding_target("version", SVC, "prompt"),
    "pin_model": holding_target("version", SVC, "model"),
    "scale": holding_target("replicas", SVC, "model"),
    "freeze": holding_target("freeze", SVC, "prompt"),
}
ROUTE_REF = shared_ref(TARGET["route"])


def note(what: str) -> None:
    """A statistics event (``--hypothesis-show-statistics``), when run by hypothesis."""
    if currently_in_test_context():
        event(what)


def injected(exc: BaseException) -> bool:
    """Whether ``exc`` is (caused by) an injected fault, and one Temporal would retry."""
    if isinstance(exc, ApplicationError) and exc.non_retryable:
        return False
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, InjectedFault):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True)
class Op:
    """One activity a step runs: ``apply`` (with its input) or ``undo``."""

    who: Who
    kind: Literal["apply", "undo"]
    wish: str = ""
    inp: Input | None = None


class Ownership(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ownership-", dir=SHM if SHM.is_dir() else None))
        self.runner = asyncio.Runner()
        self.clock = Clock(T0)
        self.faults = Faults()
        self.flags = LocalFlagStore(self.dir / "flags" / "state.json", self.dir / "sdk.json")
        self.flags.ensure_flags(SERVICE.flags)
        ops = local_ops(self.dir)
        ops.deploy.ensure_components(CATALOG)
        self.deploy, self.freezes = ops.deploy, ops.freezes
        self.store = SqliteHoldingStore(self.dir / "audit.db", clock=self.clock)
        flags = FaultyFlags(self.flags, self.faults)
        deploy = FaultyDeployments(self.deploy, self.faults)
        freezes = FaultyFreezes(self.freezes, self.faults)
        holdings = Holdings(FaultyStore(self.store, self.faults), clock=self.clock)
        self.flag_acts = FlagActivities(flags, NoEvaluator(), holdings)
        self.deploy_acts = DeployActivities(deploy, holdings)
        self.release_acts = ReleaseActivities(freezes, clock=self.clock, holdings=holdings)
        self.change_acts = ChangeActivities(
            holdings, Targets(flags, deploy, freezes, clock=self.clock)
        )
        # the model: who holds what (in join order), and each step's last activity
        self.open: dict[Change, dict[Who, str]] = {change: {} for change in CHANGES}
        self.last: dict[Who, Op] = {}
        self.holding: dict[Who, str] = {}
        """The held change each apply reported (what its undo names)."""
        self.person: set[str] = set()
        """The flags the person's unrelated rule is in."""
        self.initial = self.run(self.snapshot())

    def teardown(self) -> None:
        try:
            self.runner.run(self.store.close())
        finally:
            self.runner.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- running activities -------------------------------------------------------------------

    def run(self, work: Awaitable[T]) -> T:
        return self.runner.run(_awaited(work))

    async def snapshot(self) -> Snapshot:
        return await snapshot(self.flags, self.deploy, COMPONENTS, self.freezes, self.store)

    def plan(self, who: Who, wish: str) -> Op:
        """What the step of ``who`` runs next: its apply, or once it holds, its undo."""
        if who in self.open[who.change]:
            return Op(who, "undo")
        return Op(who, "apply", wish, apply_input(who, wish))

    async def attempt(self, op: Op) -> str:
        """One attempt of the activity: the holding it reports (apply) or the outcome (undo)."""
        if op.kind == "undo":
            return (await self.release(op.who)).outcome
        inp = op.inp
        if isinstance(inp, FlagChangeInput):
            return (await ENV.run(self.flag_acts.apply_flag_change, inp)).holding
        if isinstance(inp, PinInput):
            return (await ENV.run(self.deploy_acts.pin_component_version, inp)).holding
        if isinstance(inp, ScaleInput):
            return (await ENV.run(self.deploy_acts.scale_component, inp)).holding
        assert isinstance(inp, FreezeInput)
        frozen = await ENV.run(self.release_acts.freeze_releases, inp)
        assert frozen.active, f"{op.who.id}: {frozen.detail}"
        return frozen.holding

    async def release(self, who: Who) -> ReleaseResult:
        inp = ReleaseInput(
            target=self.holding.get(who, TARGET[who.change]),
            holder=who.id,
            comment=f"{who.id}: resolved",
        )
        return await ENV.run(self.change_acts.release_change, inp)

    async def completed(self, op: Op) -> str:
        """Temporal's retries, until the attempt completes: another holder's claim or release in
        flight (HoldingBusy) waits its lease out."""
        for _ in range(8):
            try:
                return await self.attempt(op)
            except ApplicationError as exc:
                if exc.non_retryable or exc.type != "HoldingBusy":
                    raise
                note("waited out another holder's lease")
                self.clock.advance(LEASE + timedelta(seconds=1))
        raise AssertionError(f"{op.who.id}: {op.kind} stayed busy")

    def done(self, op: Op, reported: str) -> None:
        """The model after ``op`` completed."""
        who = op.who
        self.last[who] = op
        if op.kind == "undo":
            self.open[who.change].pop(who, None)
            return
        assert reported == TARGET[who.change], (who.id, reported)
        self.holding[who] = reported
        self.open[who.change][who] = wanted(who.change, op.wish)

    async def person_changes_rule(self, flag: str, first: bool) -> None:
        """A person adds (or removes again) a rule of their own, for ``country=de``."""
        state = await self.flags.get_flag(flag)
        if flag in self.person:
            instructions = plan_remove_rule(state, ref=PERSON_REF)
            self.person.discard(flag)
        else:
            instructions = plan_route_segment(
                state,
                ref=PERSON_REF,
                context_kind="user",
                attribute="country",
                values=("de",),
                variation=PERSON_SERVES[flag],
                first=first,
            )
            self.person.add(flag)
        await self.flags.apply(flag, instructions, "a person", expect_version=state.version)

    def draw_op(self, data: st.DataObject, *, besides: Who | None = None) -> Op:
        """Any step's next activity; with ``besides``, mostly another holder of its target."""
        choices = [w for w in HOLDERS if w != besides]
        if besides is not None and data.draw(st.booleans(), label="same target"):
            choices = [w for w in choices if w.change == besides.change]
        holding = [w for w in choices if w in self.open[w.change]]
        if holding and bool(data.draw(st.booleans(), label="a holder")):
            choices = holding
        who = data.draw(st.sampled_from(choices), label="holder")
        return self.plan(who, data.draw(st.sampled_from(WISHES[who.change]), label="wish"))

    def step(self, op: Op) -> None:
        """Run ``op`` as one step that completes at once, and check what it reports."""
        who = op.who
        if op.kind == "apply":
            self.done(op, self.run(self.attempt(op)))
            return
        others = [w for w in self.open[who.change] if w != who]
        before = self.run(self.snapshot())
        result = self.run(self.release(who))
        note(f"undo: {result.outcome}")
        if who in self.open[who.change]:
            assert result.outcome == ("kept" if others else "released"), result
            assert result.holders_left == len(others), result
        else:
            assert result.outcome == "gone", result
            after = self.run(self.snapshot())
            assert after == before, f"{who.id} never held {who.change} or left it: {result}"
        self.done(op, result.outcome)

    # -- rules --------------------------------------------------------------------------------

    @rule(data=st.data())
    def apply(self, data: st.DataObject) -> None:
        who = data.draw(st.sampled_from(HOLDERS), label="holder")
        if who not in self.open[who.change]:
            op = self.plan(who, data.draw(st.sampled_from(WISHES[who.change]), label="wish"))
            self.step(op)

    @rule(data=st.data())
    def undo(self, data: st.DataObject) -> None:
        """By a holder, or by one that never joined or left already: then nothing changes."""
        choices = [w for w in HOLDERS if w in self.open[w.change]]
        if not choices or not data.draw(st.booleans(), label="a holder"):
            choices = list(HOLDERS)
        self.step(Op(data.draw(st.sampled_from(choices), label="holder"), "undo"))

    @precondition(lambda self: bool(self.last))
    @rule(data=st.data())
    def retry_after_lost_completion(self, data: st.DataObject) -> None:
        """The step's last activity again: it ran, but Temporal never heard it complete."""
        op = self.last[data.draw(st.sampled_from(sorted(self.last)), label="holder")]
        before = self.run(self.snapshot())
        reported = self.run(self.attempt(op))
        after = self.run(self.snapshot())
        assert reported == (TARGET[op.who.change] if op.kind == "apply" else "gone"), reported
        assert after == before, f"retry of {op.who.id}'s {op.kind} changed something"

    @rule(
        data=st.data(),
        at=st.integers(1, 4),
        after=st.booleans(),
        meanwhile=st.booleans(),
        late=st.booleans(),
    )
    def crash_between_write_and_completion(
        self, data: st.DataObject, at: int, after: bool, meanwhile: bool, late: bool
    ) -> None:
        """The ``at``-th write of an activity fails (after it was made, with ``after``); maybe
        another step runs (``meanwhile``) and the lease runs out (``late``); then Temporal
        retries the activity until it completes."""
        op = self.draw_op(data)
        self.faults.arm(Crash(at, after))
        failure: Exception | None = None
        try:
            self.run(self.attempt(op))  # fewer writes than ``at``: just a lost completion
        except Exception as exc:
            failure = exc
        finally:
            self.faults.disarm()
        note(f"crash of an {op.kind}: {'failed' if self.faults.fired else 'no such write'}")
        if failure is not None:
            assert injected(failure), f"{op.who.id}: {op.kind} failed on its own: {failure!r}"
        if meanwhile:
            other = self.draw_op(data, besides=op.who)
            self.done(other, self.run(self.completed(other)))
        if late:
            self.clock.advance(LEASE + timedelta(seconds=1))
        self.done(op, self.run(self.completed(op)))

    @rule(flag=st.sampled_from([ANSWER_MODE, POST_PROCESSING]), first=st.booleans())
    def person_changes_an_unrelated_rule(self, flag: str, first: bool) -> None:
        self.run(self.person_changes_rule(flag, first))

    @rule(data=st.data(), flag=st.sampled_from([ANSWER_MODE, POST_PROCESSING]), first=st.booleans())
    def person_changes_a_rule_during_an_activity(
        self, data: st.DataObject, flag: str, first: bool
    ) -> None:
        """The person's write lands between the activity's read of the flag and its write."""
        op = self.draw_op(data)
        self.faults.interject = lambda: self.person_changes_rule(flag, first)
        try:
            self.step(op)
            if self.faults.interject is None:
                note("a person's flag change landed mid-activity")
        finally:
            self.faults.interject = None

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def held_changes_are_in_place_and_released_ones_are_back(self) -> None:
        self.run(self.check_targets())

    @invariant()
    def the_ledger_names_the_open_holders(self) -> None:
        self.run(self.check_ledger())

    async def check_targets(self) -> None:
        answer = await self.flags.get_flag(ANSWER_MODE)
        post = await self.flags.get_flag(POST_PROCESSING)
        for state in (answer, post):
            assert state.on, state.key
            mine = (
                {(PERSON_REF, "user.country in de", PERSON_SERVES[state.key])}
                if state.key in self.person
                else set()
            )
            others = {s for s in rule_shapes(state) if s[0] != ROUTE_REF}
            assert others == mine, f"{state.key}: rules {others}, expected {mine}"
        routes = [r for r in answer.rules if r.ref == ROUTE_REF]
        if self.open["route"]:
            assert len(routes) == 1, f"the held route rule is there {len(routes)} times"
            assert served(answer, language="es") == "human-queue"
        else:
            assert routes == [], "the route rule outlived its holders"
            assert served(answer, language="es") == "assistant"
        assert served(answer, language="fr") == "assistant"
        assert served(answer, country="de") == (
            "retrieval-only" if ANSWER_MODE in self.person else "assistant"
        )
        default = post.value_of(post.fallthrough_variation_id)
        assert default == ("essential-only" if self.open["default"] else "full"), default

        prompt = await self.deploy.state(SVC, "prompt")
        model = await self.deploy.state(SVC, "model")
        expect_prompt = PROMPT_FIX if self.open["pin_prompt"] else BASELINE["pin_prompt"]
        assert prompt.version == expect_prompt, (prompt.version, self.open["pin_prompt"])
        expect_model = MODEL_FIX if self.open["pin_model"] else BASELINE["pin_model"]
        assert model.version == expect_model, (model.version, self.open["pin_model"])
        needs = [int(wish) for wish in self.open["scale"].values()]
        expect_replicas = max(needs) if needs else int(BASELINE["scale"])
        assert model.replicas == expect_replicas, (model.replicas, self.open["scale"])
        for service, name in COMPONENTS:
            if name not in ("prompt", "model"):
                key = f"{service}/{name}"
                assert await self.deploy.state(service, name) == self.initial.components[key]

        active = await self.freezes.active(SVC, "prompt", self.clock())
        if self.open["freeze"]:
            assert len(active) == 1, f"{len(active)} freezes in force: {active}"
        else:
            assert active == [], f"freezes in force with no holder: {active}"
        assert await self.freezes.active(SVC, None, self.clock()) == active

    async def check_ledger(self) -> None:
        rows = {row.target: row for row in await self.store.all()}
        for change in CHANGES:
            row = rows.pop(TARGET[change], None)
            holders = {who.id: desired for who, desired in self.open[change].items()}
            if not holders:
                assert row is None, f"{change}: a holding outlived its holders: {row}"
                continue
            assert row is not None, f"{change}: no holding for {sorted(holders)}"
            holding = Holding.model_validate(row.body)
            assert holding.phase == "held" and holding.kind == KIND[change], holding
            assert {h.id: h.desired for h in holding.holders} == holders, holding
            assert holding.baseline == BASELINE[change], holding
        assert not rows, f"holdings nobody asked for: {sorted(rows)}"


async def _awaited(work: Awaitable[T]) -> T:
    return await work


Ownership.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestOwnership = Ownership.TestCase


# -- the package bugs the machine found, each fixed, each kept as a test ------------------------


def two_holders(change: Change) -> tuple[Who, Who]:
    """``occ-A/<step>`` and ``occ-B/<step>`` of ``change``."""
    a, b = (Who(occurrence, STEP[change], change) for occurrence in OCCURRENCES[:2])
    return a, b


def die_once(machine: Ownership, op: Op, crash: Crash) -> None:
    """One attempt of ``op`` that dies at ``crash`` (Temporal will retry it)."""
    machine.faults.arm(crash)
    try:
        with pytest.raises(Exception) as died:
            machine.run(machine.attempt(op))
        assert injected(died.value), died.value
    finally:
        machine.faults.disarm()


def complete(machine: Ownership, op: Op) -> None:
    """Temporal's retries of ``op`` until it completes, and the model after it."""
    machine.done(op, machine.run(machine.completed(op)))


def check(machine: Ownership) -> None:
    machine.held_changes_are_in_place_and_released_ones_are_back()
    machine.the_ledger_names_the_open_holders()


def test_a_crashed_undo_still_brings_a_scale_down_to_what_the_others_need() -> None:
    machine = Ownership()
    try:
        a, b = two_holders("scale")
        machine.step(machine.plan(a, "2"))
        machine.step(machine.plan(b, "5"))
        undo = Op(b, "undo")
        die_once(machine, undo, Crash(at=1, after=True))  # the ledger swap lands, then it dies
        complete(machine, undo)  # the retry finds occ-B gone: "not held"
        check(machine)  # the model runs 5 replicas; occ-A needs 2: "(5, {occ-A...: '2'})"
    finally:
        machine.teardown()


@pytest.mark.parametrize(
    "how",
    [
        "dead release taken over",
        "the same step again",
    ],
)
def test_a_held_freeze_is_in_force_for_every_new_holder(how: str) -> None:
    machine = Ownership()
    try:
        a, b = two_holders("freeze")
        machine.step(machine.plan(a, ""))
        if how == "dead release taken over":
            # occ-A's undo lifts the freeze and dies before deleting the holding; occ-B's apply
            # waits the release's lease out and joins the holding, whose request is occ-A's
            undo = Op(a, "undo")
            die_once(machine, undo, Crash(at=2, after=True))
            complete(machine, machine.plan(b, ""))  # was: FreezeResult.active is False
            complete(machine, undo)  # the retry finds occ-A gone: occ-B finished its release
        else:  # a workflow reset re-runs the step: same holder, same freeze id
            machine.step(Op(a, "undo"))
            machine.step(machine.plan(a, ""))  # FreezeResult.active is False
        check(machine)
    finally:
        machine.teardown()


def test_a_pin_to_previous_joining_a_dead_release_pins_the_fix() -> None:
    machine = Ownership()
    try:
        a, b = two_holders("pin_prompt")
        machine.step(machine.plan(a, PREVIOUS))
        undo = Op(a, "undo")
        die_once(machine, undo, Crash(at=1, after=True))  # marked releasing; the worker dies
        complete(machine, machine.plan(b, PREVIOUS))  # joins once the release's lease ran out
        complete(machine, undo)
        check(machine)  # the prompt serves answer-prompt-v42 (the baseline) for occ-A's rollback
    finally:
        machine.teardown()


@pytest.mark.parametrize("last", [True, False], ids=["the last holder", "another holder"])
def test_a_holder_leaving_while_a_crashed_undo_owes_its_re_apply_restores_the_scale(
    last: bool,
) -> None:
    """A 5-replica holder's undo stores the holding without it (its re-apply owed: 5 -> what the
    others need) and dies; before its retry another holder leaves. That leave compared the target
    with what the holders needed once the crashed one had left, not with the 5 still in place, and
    left the scale alone ("changed since by someone else"); the retry then found nothing owed."""
    machine = Ownership()
    try:
        a, b = two_holders("scale")
        c = Who(OCCURRENCES[2], STEP["scale"], "scale")
        machine.step(machine.plan(a, "1"))
        if last:  # occ-A (1) and occ-B (5); occ-A leaves last: back to the baseline, 1
            crashed, leaving = b, a
        else:  # occ-A (1), occ-B (2) and occ-C (5); occ-B leaves: 1, what occ-A needs
            machine.step(machine.plan(b, "2"))
            crashed, leaving = c, b
        machine.step(machine.plan(crashed, "5"))
        undo = Op(crashed, "undo")
        die_once(machine, undo, Crash(at=1, after=True))  # the ledger swap lands, then it dies
        complete(machine, Op(leaving, "undo"))
        complete(machine, undo)  # the retry finds its holder gone
        check(machine)  # was: (5, {}) / (5, {occ-A's: '1'})
    finally:
        machine.teardown()


def test_the_shrunk_sequence_of_a_crashed_re_apply_and_the_last_holder_leaving() -> None:
    """As the machine found it (its two route applies left out: they touch no replicas)."""
    machine = Ownership()
    try:
        first = Who("occ-A", "scale-model", "scale")
        again = Who("occ-A", "scale-model-again", "scale")
        machine.step(machine.plan(first, "2"))
        machine.step(machine.plan(again, "1"))
        undo = Op(first, "undo")
        die_once(machine, undo, Crash(at=2, after=False))  # the ledger swap, not the 2 -> 1
        complete(machine, Op(again, "undo"))  # meanwhile, the last holder: was "left as it is"
        complete(machine, undo)
        check(machine)  # was: (2, {})
    finally:
        machine.teardown()

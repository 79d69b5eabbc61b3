"""Flag writes carry the flag's version: a stale one is a conflict, and write_planned re-plans."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from temporalio.exceptions import ApplicationError

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.activities.flag_writes import PlannedWrite, write_planned
from orchestrator.domain.flag_plans import plan_route_segment
from orchestrator.domain.flags import (
    AddRule,
    AddTargets,
    FlagState,
    Instruction,
    RemoveRule,
    TurnFlagOff,
)
from orchestrator.errors import FlagConflictError, FlagProviderError
from orchestrator.providers.flags import FlagProvider
from orchestrator.providers.launchdarkly import (
    LaunchDarklyBadRequestError,
    LaunchDarklyFlagProvider,
)
from orchestrator.providers.local_flags import LocalFlagStore
from tests.providers.conftest import ENV
from tests.providers.fake_launchdarkly import FakeLaunchDarkly
from tests.providers.flag_backends import KEY, Change, other_rule, route_es
from tests.providers.passthrough import PassThroughFlags


def target(n: int) -> Change:
    """A person in the UI adding one individual target."""

    def plan(state: FlagState) -> list[Instruction]:
        return [
            AddTargets(values=(f"agent-{n}",), variation_id=state.variation_id_for("assistant"))
        ]

    return plan


class Interfering(PassThroughFlags):
    """A FlagProvider whose reads are followed, before the caller can patch, by another writer's
    change (through ``other``, a second client of the same store)."""

    def __init__(self, inner: FlagProvider, other: FlagProvider, changes: list[Change]) -> None:
        super().__init__(inner)
        self._other = other
        self.changes = changes
        self.applied: list[int | None] = []  # expect_version of each apply that got through

    async def get_flag(self, key: str) -> FlagState:
        state = await self.inner.get_flag(key)
        if self.changes:
            await self._other.apply(key, self.changes.pop(0)(state), "someone else")
        return state

    async def write(
        self, key: str, do: Callable[[], Awaitable[FlagState]], expect_version: int | None
    ) -> FlagState:
        after = await do()
        self.applied.append(expect_version)
        return after


class Ignoring(PassThroughFlags):
    """Answers every write with the state before it (an effect that did not take)."""

    async def write(
        self, key: str, do: Callable[[], Awaitable[FlagState]], expect_version: int | None
    ) -> FlagState:
        return await self.inner.get_flag(key)


# -- the providers ------------------------------------------------------------------------------


async def test_local_store_refuses_a_stale_version_and_writes_nothing(
    store: LocalFlagStore,
) -> None:
    read = await store.get_flag(KEY)
    assert read.version == 1
    await store.apply(KEY, [TurnFlagOff()], "someone else", expect_version=1)
    state_bytes, sdk_bytes = store.state_path.read_bytes(), store.sdk_path.read_bytes()
    sdk_mtime = store.sdk_path.stat().st_mtime_ns
    with pytest.raises(FlagConflictError, match=r"version 2.*not 1") as caught:
        await store.apply(KEY, route_es(read), "stale plan", expect_version=read.version)
    assert caught.value.retryable is True
    assert (caught.value.expected_version, caught.value.current_version) == (1, 2)
    assert store.state_path.read_bytes() == state_bytes
    assert store.sdk_path.read_bytes() == sdk_bytes
    assert store.sdk_path.stat().st_mtime_ns == sdk_mtime
    now = await store.get_flag(KEY)
    assert (now.version, now.on, now.rules) == (2, False, ())


async def test_local_store_applies_at_the_expected_version(store: LocalFlagStore) -> None:
    after = await store.apply(KEY, route_es(await store.get_flag(KEY)), "c", expect_version=1)
    assert after.version == 2 and after.rule_by_ref("es-fallback") is not None
    assert await store.get_flag(KEY) == after


async def test_launchdarkly_stale_version_is_a_conflict_and_sends_no_patch(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    read = await ld.get_flag(KEY)
    fake_ld.change(KEY, [TurnFlagOff()], ENV)  # a person in the UI
    unchanged = fake_ld.flags[ENV][KEY]
    with pytest.raises(FlagConflictError, match="version 2, not 1") as caught:
        await ld.apply(KEY, route_es(read), "stale plan", expect_version=read.version)
    assert caught.value.retryable is True
    assert fake_ld.flags[ENV][KEY] == unchanged
    assert [m for m, _, _ in fake_ld.requests].count("PATCH") == 0
    activity_error = permanent_or_retryable(caught.value)
    assert (activity_error.type, activity_error.non_retryable) == ("FlagConflictError", False)


async def test_launchdarkly_patch_at_the_expected_version(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    after = await ld.apply(KEY, route_es(await ld.get_flag(KEY)), "c", expect_version=1)
    assert after.version == 2 and after == fake_ld.flags[ENV][KEY]


async def test_launchdarkly_409_is_a_conflict(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    fake_ld.fail_next(409, message="conflicts with a concurrent API request")
    with pytest.raises(FlagConflictError, match="HTTP 409") as caught:
        await ld.apply(KEY, [TurnFlagOff()], "c")
    assert caught.value.retryable is True
    assert fake_ld.flags[ENV][KEY].on is True


async def test_launchdarkly_400_from_a_change_in_the_window_is_a_conflict(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    """The change lands between the version check and the PATCH, and breaks the plan (its
    ``beforeRuleId`` is gone): the 400 is a conflict, because the flag moved."""
    old = fake_ld.change(KEY, other_rule("old", "fr")(fake_ld.flags[ENV][KEY]), ENV).rules[0]
    read = await ld.get_flag(KEY)
    plan = route_es(read)
    assert isinstance(plan[0], AddRule) and plan[0].before_rule_id == old.id

    def remove_old(env: str, key: str) -> None:
        fake_ld.before_patch = None
        fake_ld.change(key, [RemoveRule(rule_id=old.id)], env)

    fake_ld.before_patch = remove_old
    with pytest.raises(FlagConflictError, match="unknown beforeRuleId") as caught:
        await ld.apply(KEY, plan, "c", expect_version=read.version)
    assert isinstance(caught.value.__cause__, LaunchDarklyBadRequestError)
    assert (caught.value.expected_version, caught.value.current_version) == (2, 3)
    assert fake_ld.flags[ENV][KEY].rules == ()


async def test_launchdarkly_400_on_an_unchanged_flag_stays_permanent(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    bad = AddRule(clauses=(), variation_id=fake_ld.flags[ENV][KEY].variation_id_for("assistant"))
    with pytest.raises(LaunchDarklyBadRequestError, match="HTTP 400") as caught:
        await ld.apply(KEY, [bad], "bad", expect_version=1)
    assert not isinstance(caught.value, FlagConflictError)
    assert caught.value.retryable is False


# -- write_planned ------------------------------------------------------------------------------


async def test_write_planned_replans_after_a_concurrent_change_and_keeps_it(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    mine, other = backends
    provider = Interfering(mine, other, [other_rule("other-incident", "fr")])
    write = await write_planned(provider, KEY, route_es, "incident 42: route es")
    assert isinstance(write, PlannedWrite)
    assert write.conflicts == 1
    assert write.before.version == 2  # the final plan was made against the other's change
    assert write.after.version == 3
    assert provider.applied == [2]  # the first apply (at version 1) was refused
    final = await mine.get_flag(KEY)
    assert final == write.after
    assert [r.ref for r in final.rules] == ["es-fallback", "other-incident"]  # nothing lost
    assert final.value_of(final.rules[0].variation_id) == "human-queue"


async def test_write_planned_replan_may_find_nothing_left_to_do(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    mine, other = backends
    provider = Interfering(mine, other, [route_es])  # another incident routes es the same way
    write = await write_planned(provider, KEY, route_es, "incident 42: route es")
    assert (write.conflicts, write.instructions) == (1, [])
    assert write.before == write.after == await mine.get_flag(KEY)
    assert write.after.version == 2
    assert provider.applied == []


async def test_write_planned_gives_up_after_attempts_conflicts(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    mine, other = backends
    provider = Interfering(mine, other, [target(n) for n in range(10)])
    with pytest.raises(FlagConflictError, match="3 attempts") as caught:
        await write_planned(provider, KEY, route_es, "incident 42", attempts=3)
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, FlagConflictError)
    final = await mine.get_flag(KEY)
    assert final.rule_by_ref("es-fallback") is None  # nothing of ours was written
    assert final.targets[0].values == ("agent-0", "agent-1", "agent-2")  # all of theirs were
    assert final.version == 4
    assert provider.applied == []


async def test_concurrent_writes_to_one_flag_take_turns(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    """Eight incidents of one worker routing a segment each on the same flag at once: none of
    them plans against a flag another one is changing, so none has to plan again."""

    def route(n: int) -> Change:
        return lambda state: plan_route_segment(
            state,
            ref=f"incident-{n}",
            context_kind="user",
            attribute="language",
            values=[f"l{n}"],
            variation="human-queue",
        )

    writes = await asyncio.gather(*(write_planned(ld, KEY, route(n), f"{n}") for n in range(8)))
    assert [w.conflicts for w in writes] == [0] * 8
    final = fake_ld.flags[ENV][KEY]
    assert sorted(r.ref or "" for r in final.rules) == sorted(f"incident-{n}" for n in range(8))


async def test_write_planned_with_nothing_to_do_writes_nothing(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    mine, _ = backends
    first = await write_planned(mine, KEY, route_es, "route es")
    assert first.instructions and first.after.version == 2
    again = await write_planned(mine, KEY, route_es, "route es")
    assert (again.instructions, again.conflicts, again.after) == ([], 0, first.after)


async def test_write_planned_raises_not_verified_when_the_write_did_not_take(
    store: LocalFlagStore,
) -> None:
    with pytest.raises(ApplicationError, match="still needs 1 instruction") as caught:
        await write_planned(Ignoring(store), KEY, route_es, "route es")
    assert caught.value.type == "EffectNotVerified" and not caught.value.non_retryable


async def test_write_planned_race_inside_the_launchdarkly_window(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    """A change between the adapter's version check and its PATCH that breaks the plan: the
    400 is a conflict, write_planned plans again and gets through."""
    old = fake_ld.change(KEY, other_rule("old", "fr")(fake_ld.flags[ENV][KEY]), ENV).rules[0]

    def remove_old(env: str, key: str) -> None:
        fake_ld.before_patch = None
        fake_ld.change(key, [RemoveRule(rule_id=old.id)], env)

    fake_ld.before_patch = remove_old
    write = await write_planned(ld, KEY, route_es, "incident 42: route es")
    assert write.conflicts == 1
    assert [r.ref for r in write.after.rules] == ["es-fallback"]
    assert write.after == fake_ld.flags[ENV][KEY]


async def test_write_planned_lets_permanent_errors_through(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    fake_ld.fail_next(403)
    with pytest.raises(FlagProviderError, match="HTTP 403") as caught:
        await write_planned(ld, KEY, route_es, "route es")
    assert caught.value.retryable is False

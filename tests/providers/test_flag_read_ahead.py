"""A read started ahead of a flag write spares the write its own read, and is never planned from
once it may be stale (orchestrator/activities/flag_writes.py: read_ahead)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from orchestrator.activities.flag_writes import read_ahead, write_planned
from orchestrator.domain.flag_plans import plan_remove_rule
from orchestrator.domain.flags import FlagState
from orchestrator.errors import FlagProviderError
from orchestrator.providers.flags import FlagProvider
from tests.providers.flag_backends import KEY, other_rule, route, route_es
from tests.providers.passthrough import PassThroughFlags

route_fr = route("other-incident", "fr", "retrieval-only")
"""Another incident of this worker routing its own segment."""


class Counting(PassThroughFlags):
    """Counts reads; fails the first ``failing`` of them; holds every write until ``release``."""

    def __init__(self, inner: FlagProvider, failing: int = 0) -> None:
        super().__init__(inner)
        self.reads = 0
        self.failing = failing
        self.release: asyncio.Event | None = None
        self.writing = asyncio.Event()

    async def get_flag(self, key: str) -> FlagState:
        self.reads += 1
        if self.failing:
            self.failing -= 1
            raise FlagProviderError("HTTP 503 from the flag service", retryable=True)
        return await self.inner.get_flag(key)

    async def write(self, key, do, expect_version):  # type: ignore[no-untyped-def]
        self.writing.set()
        if self.release is not None:
            await self.release.wait()
        return await do()


async def test_the_write_plans_from_the_read_ahead_and_reads_no_more(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    mine, _ = backends
    provider = Counting(mine)
    ahead = read_ahead(provider, KEY)
    assert ahead is not None
    write = await write_planned(provider, KEY, route_es, "route es", ahead=ahead)
    assert (provider.reads, write.conflicts) == (1, 0)
    assert write.before.version == 1
    assert [r.ref for r in (await mine.get_flag(KEY)).rules] == ["es-fallback"]


async def test_a_read_ahead_older_than_a_write_of_this_process_is_read_again(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    """Planned from, it would be a certain conflict (the version moved on): it is dropped and
    the flag read again, so the write goes through at once and keeps the other change."""
    mine, _ = backends
    provider = Counting(mine)
    ahead = read_ahead(provider, KEY)
    assert ahead is not None
    await write_planned(provider, KEY, route_fr, "another incident: route fr")
    write = await write_planned(provider, KEY, route_es, "route es", ahead=ahead)
    assert write.conflicts == 0
    assert write.before.version == 2  # the state after the other write, not the read ahead
    assert provider.reads == 3  # ahead, the other write's, and this write's own
    rules = [r.ref for r in (await mine.get_flag(KEY)).rules]
    assert sorted(r or "" for r in rules) == ["es-fallback", "other-incident"]


async def test_a_change_elsewhere_after_the_read_ahead_meets_the_version_check(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    """Another process (or a person) changed the flag after the read: the patch carries the
    version read, is refused, and the write plans again from a new read."""
    mine, other = backends
    ahead = read_ahead(mine, KEY)
    assert ahead is not None
    await asyncio.sleep(0.05)  # the read is done
    await other.apply(KEY, other_rule("someone-else", "de")(await other.get_flag(KEY)), "else")
    write = await write_planned(mine, KEY, route_es, "route es", ahead=ahead)
    assert write.conflicts == 1
    rules = [r.ref for r in (await mine.get_flag(KEY)).rules]
    assert sorted(r or "" for r in rules) == ["es-fallback", "someone-else"]


async def test_no_read_ahead_while_a_write_of_this_process_is_at_the_flag(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    mine, _ = backends
    provider = Counting(mine)
    provider.release = asyncio.Event()
    first = asyncio.create_task(write_planned(provider, KEY, route_es, "route es"))
    await provider.writing.wait()
    assert read_ahead(provider, KEY) is None  # it would be stale by its turn
    provider.release.set()
    await first
    assert read_ahead(provider, KEY) is not None


async def test_a_failed_read_ahead_fails_the_write_as_its_own_read_would(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    """The provider refused the read (a 429, a 403): the write fails with that error and does
    not ask it again at once (the activity's retry policy decides when)."""
    mine, _ = backends
    provider = Counting(mine, failing=1)
    ahead = read_ahead(provider, KEY)
    assert ahead is not None
    with pytest.raises(FlagProviderError, match="HTTP 503"):
        await write_planned(provider, KEY, route_es, "route es", ahead=ahead)
    assert provider.reads == 1
    assert (await mine.get_flag(KEY)).rules == ()


async def test_nothing_to_do_by_the_read_ahead_is_checked_by_a_read_now(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    """The read ahead saw the rule in place; before this write's turn, its last other holder
    (another worker) took it away. No patch would meet the version check, so the empty plan is
    checked by a read made now: the rule is put back, not reported in place while it is gone."""
    mine, other = backends
    await write_planned(other, KEY, route_es, "incident 41: route es")
    ahead = read_ahead(mine, KEY)
    assert ahead is not None
    await asyncio.sleep(0.05)  # the read is done: it shows the rule
    await write_planned(other, KEY, lambda s: plan_remove_rule(s, ref="es-fallback"), "41 ends")
    write = await write_planned(mine, KEY, route_es, "incident 42: route es", ahead=ahead)
    assert write.instructions, "the rule was gone: it had to be written again"
    assert [r.ref for r in (await mine.get_flag(KEY)).rules] == ["es-fallback"]


async def test_an_unused_read_ahead_finishes_and_its_failure_is_taken(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    """The caller failed before its write (the holding was busy): the read is left to finish
    (a request cancelled in flight costs its connection) and its failure is taken, so asyncio
    logs no 'Task exception was never retrieved'."""
    mine, _ = backends
    loop = asyncio.get_running_loop()
    logged: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: logged.append(context))
    try:
        ahead = read_ahead(Counting(mine, failing=1), KEY)
        assert ahead is not None
        ahead.close()
        await asyncio.sleep(0.05)  # the read fails after the close
        del ahead
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert logged == []

"""A read started ahead of a flag write spares the write its own read, and is never planned from
once it may be stale (orchestrator/activities/flag_writes.py: read_ahead)."""

from __future__ import annotations

import asyncio

from orchestrator.activities.flag_writes import read_ahead, write_planned
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


async def test_a_failed_read_ahead_leaves_the_write_to_read_for_itself(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    mine, _ = backends
    provider = Counting(mine, failing=1)
    ahead = read_ahead(provider, KEY)
    assert ahead is not None
    write = await write_planned(provider, KEY, route_es, "route es", ahead=ahead)
    assert (provider.reads, write.conflicts, write.after.version) == (2, 0, 2)


async def test_an_unused_read_ahead_is_stopped_and_its_failure_taken(
    backends: tuple[FlagProvider, FlagProvider],
) -> None:
    """The caller failed before its write (the holding could not be claimed): closing the read
    leaves no task behind and no 'exception was never retrieved' for asyncio to log."""
    mine, _ = backends
    provider = Counting(mine, failing=1)
    ahead = read_ahead(provider, KEY)
    assert ahead is not None
    await asyncio.sleep(0.05)  # the read has failed
    ahead.close()
    pending = read_ahead(Counting(mine), KEY)
    assert pending is not None
    pending.close()  # still running: cancelled
    await asyncio.sleep(0)
    assert pending._read.cancelled()
    assert ahead._read.done() and ahead._read.exception() is not None

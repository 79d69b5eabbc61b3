"""Versioned flag writes: read, plan, patch with the version read; on a conflict, plan again.

A flag can change between the read a plan is made from and the patch (another incident, a person
in the LaunchDarkly UI). Every write therefore carries the version it was planned against
(``expect_version``); a :class:`~orchestrator.errors.FlagConflictError` means the flag moved, and
:func:`write_planned` reads it again and plans again: the new plan may be different, or empty
(someone did it already). A conflict means another write succeeded, so retrying makes progress;
after ``attempts`` conflicts in a row it gives up with FlagConflictError, which
:func:`~orchestrator.activities.errors.permanent_or_retryable` turns into a retryable activity
error (Temporal tries the whole activity again later).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.activities.errors import not_verified
from orchestrator.domain.flags import FlagState, Instruction
from orchestrator.errors import FlagConflictError
from orchestrator.providers.flags import FlagProvider


@dataclass(frozen=True)
class PlannedWrite:
    """What :func:`write_planned` did."""

    before: FlagState
    """The state the final plan was made against."""
    after: FlagState
    """The state after the write (``before`` when there was nothing to do)."""
    instructions: list[Instruction]
    """What was applied; ``[]`` when the flag was at the goal already."""
    conflicts: int
    """How many times the flag changed under a plan before this one went through."""


async def write_planned(
    provider: FlagProvider,
    flag: str,
    plan: Callable[[FlagState], list[Instruction]],
    comment: str,
    *,
    attempts: int = 5,
    ahead: ReadAhead | None = None,
) -> PlannedWrite:
    """Bring ``flag`` to what ``plan`` wants, guarded by the flag's version.

    The first plan is made against ``ahead`` when it is still as fresh as a read made now (see
    :func:`read_ahead`), else against a read. Raises FlagConflictError after ``attempts``
    conflicts, ``not_verified`` when the state the provider returns still needs instructions,
    and lets provider errors (FlagProviderError) and planning errors (FlagRuleError) through for
    the caller to map.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    writer = _writer(provider, flag)
    async with writer.lock:
        known = await ahead.state() if ahead is not None else None
        return await _write(provider, flag, plan, comment, attempts, known, writer)


@dataclass
class _Writer:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    writes: int = 0
    """Writes this process has made to the flag (through :func:`write_planned`)."""


_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, str], _Writer]] = (
    weakref.WeakKeyDictionary()
)


def _writer(provider: FlagProvider, flag: str) -> _Writer:
    """One versioned write at a time per flag (and provider) in this process: concurrent incidents
    writing one flag take turns instead of changing it under each other's plans, each conflict
    costing two reads and a re-plan, and five in a row a retried activity (100 incidents routing
    segments of one flag at once waited up to 100 s for their rule; issue 15). Writers in other
    processes still meet the version check."""
    writers = _WRITERS.setdefault(asyncio.get_running_loop(), {})
    return writers.setdefault((id(provider), flag), _Writer())


class ReadAhead:
    """A read of a flag started before the write that will use it, while its caller does
    something else first (claims the holding): see :func:`read_ahead`."""

    def __init__(self, provider: FlagProvider, flag: str, writer: _Writer) -> None:
        self._writer = writer
        self._mark = writer.writes
        self._read = asyncio.ensure_future(provider.get_flag(flag))

    async def state(self) -> FlagState | None:
        """The state read, if no write of this process came since it started (None when one
        did: the write reads again). A read that failed fails the write as its own read would
        have: a provider that answered 429 or 403 is not asked again at once."""
        fresh = self._writer.writes == self._mark
        try:
            state = await self._read
        except Exception:
            if fresh:
                raise
            return None
        return state if fresh else None

    def close(self) -> None:
        """Drop the read if nobody took it (the caller failed before its write: the holding was
        busy); harmless after :meth:`state`. It is left to finish, not cancelled: a request
        cancelled in flight costs its pooled connection, and a new one for the next attempt."""
        self._read.add_done_callback(_taken)


def _taken(read: asyncio.Future[FlagState]) -> None:
    """Take a read's error, if it failed unused: asyncio would log it as never retrieved."""
    if not read.cancelled():
        read.exception()


def read_ahead(provider: FlagProvider, flag: str) -> ReadAhead | None:
    """Start reading ``flag`` now for a write to come, unless a write of this process is at the
    flag (a read then would be stale by the time the write's turn comes, and one more request
    for the provider): None then. A patch planned from it carries the version read, so a flag
    changed meanwhile is a conflict, read and planned again; a plan from it that finds nothing
    to do is checked by a read made then (no patch would check it). It saves the read's round
    trip on the way to a first change (about 3 ms against a local LaunchDarkly,
    docs/BENCHMARKS.md)."""
    writer = _writer(provider, flag)
    return None if writer.lock.locked() else ReadAhead(provider, flag, writer)


async def _write(
    provider: FlagProvider,
    flag: str,
    plan: Callable[[FlagState], list[Instruction]],
    comment: str,
    attempts: int,
    known: FlagState | None,
    writer: _Writer,
) -> PlannedWrite:
    conflicts = 0
    last: FlagConflictError | None = None
    for _ in range(attempts):
        before = known or await provider.get_flag(flag)
        instructions = plan(before)
        if not instructions and known is not None:
            # "nothing to do" said by a read from before the caller's claim: no patch will meet
            # the version check, and another holder may have taken the change away meanwhile
            before = await provider.get_flag(flag)
            instructions = plan(before)
        known = None
        if not instructions:
            return PlannedWrite(before=before, after=before, instructions=[], conflicts=conflicts)
        try:
            after = await provider.apply(flag, instructions, comment, expect_version=before.version)
        except FlagConflictError as exc:
            conflicts, last = conflicts + 1, exc
            continue
        finally:
            writer.writes += 1  # a read-ahead taken before this attempt is stale
        remaining = plan(after)
        if remaining:
            kinds = ", ".join(i.kind for i in remaining)
            raise not_verified(
                f"flag {flag!r}: version {after.version} after the write still needs"
                f" {len(remaining)} instruction(s) ({kinds})"
            )
        return PlannedWrite(
            before=before, after=after, instructions=instructions, conflicts=conflicts
        )
    raise FlagConflictError(
        f"flag {flag!r} changed under every plan ({attempts} attempts in a row); last: {last}",
        expected_version=last.expected_version if last else None,
        current_version=last.current_version if last else None,
    ) from last

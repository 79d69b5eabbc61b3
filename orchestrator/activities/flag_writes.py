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
from dataclasses import dataclass

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
) -> PlannedWrite:
    """Bring ``flag`` to what ``plan`` wants, guarded by the flag's version.

    Raises FlagConflictError after ``attempts`` conflicts, ``not_verified`` when the state the
    provider returns still needs instructions, and lets provider errors (FlagProviderError) and
    planning errors (FlagRuleError) through for the caller to map.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    async with _writer(provider, flag):
        return await _write(provider, flag, plan, comment, attempts)


_Locks = dict[tuple[int, str], asyncio.Lock]
_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Locks] = weakref.WeakKeyDictionary()


def _writer(provider: FlagProvider, flag: str) -> asyncio.Lock:
    """One versioned write at a time per flag (and provider) in this process: concurrent incidents
    writing one flag take turns instead of changing it under each other's plans, each conflict
    costing two reads and a re-plan, and five in a row a retried activity (100 incidents routing
    segments of one flag at once waited up to 100 s for their rule; issue 15). Writers in other
    processes still meet the version check."""
    locks = _WRITERS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault((id(provider), flag), asyncio.Lock())


async def _write(
    provider: FlagProvider,
    flag: str,
    plan: Callable[[FlagState], list[Instruction]],
    comment: str,
    attempts: int,
) -> PlannedWrite:
    conflicts = 0
    last: FlagConflictError | None = None
    for _ in range(attempts):
        before = await provider.get_flag(flag)
        instructions = plan(before)
        if not instructions:
            return PlannedWrite(before=before, after=before, instructions=[], conflicts=conflicts)
        try:
            after = await provider.apply(flag, instructions, comment, expect_version=before.version)
        except FlagConflictError as exc:
            conflicts, last = conflicts + 1, exc
            continue
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

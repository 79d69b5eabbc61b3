"""The holdings ledger, as activities use it: join a temporary change, leave it, and the one
activity that releases a held change (the undo of every temporary step).

The decisions are :mod:`orchestrator.domain.holdings`; this module runs them against the shared
compare-and-swap store (the audit database), retrying a lost swap with the holding read again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from orchestrator.audit.holdings import HoldingStore, StoredHolding
from orchestrator.domain.holdings import (
    Holder,
    Holding,
    HoldKind,
    captured,
    joined,
    plan_join,
    plan_leave,
)

SWAP_ATTEMPTS = 20
Clock = Callable[[], datetime]
Read = Callable[[Holding | None], Awaitable[tuple[str, str]]]
"""Reads the target now: (baseline, desired). Called once per claim or join, never on a retry
that finds its holder stored."""
Known = tuple[str, str]
"""(baseline, desired) known without reading the target (a rule of its own, a freeze: nothing
there before the change): a claim is then stored in one write, there being nothing to read
between the claim and its capture."""
Revert = Callable[[Holding], Awaitable[str]]
Reapply = Callable[[str, Holding], Awaitable[str]]


def utc_now() -> datetime:
    return datetime.now(UTC)


def busy(holding: Holding) -> ApplicationError:
    """Retryable: another holder's claim or release of the same change is in flight. Expected
    when incidents share a change (two routing one segment the same way at once), so benign: the
    SDK logs the attempt at DEBUG, not as a WARNING with a traceback on every worker's console.
    A store that stays contended (below) is not expected, and is logged as any failure."""
    return ApplicationError(
        f"{holding.target} is being {'claimed' if holding.phase == 'capturing' else 'released'}"
        f" by {holding.owner}; retrying",
        type="HoldingBusy",
        category=ApplicationErrorCategory.BENIGN,
    )


def _knowing(pair: Known) -> Read:
    async def read(_current: Holding | None) -> tuple[str, str]:
        return pair

    return read


def _load(stored: StoredHolding | None) -> tuple[Holding | None, int]:
    if stored is None:
        return None, 0
    return Holding.model_validate(stored.body), stored.version


def _body(holding: Holding) -> dict[str, Any]:
    return holding.model_dump(mode="json")


@dataclass(frozen=True)
class Left:
    """How leaving went: ``gone`` (nothing was held by this holder: a retry, or never joined),
    ``kept`` (others still hold it), ``released`` (last holder: reverted to the baseline)."""

    kind: Literal["gone", "kept", "released"]
    detail: str
    holding: Holding | None = None


class Holdings:
    def __init__(self, store: HoldingStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def get(self, target: str) -> Holding | None:
        return _load(await self._store.get(target))[0]

    async def join(
        self,
        target: str,
        kind: HoldKind,
        holder: str,
        read: Read | Known,
        spec: dict[str, Any] | None = None,
        finish: Revert | None = None,
    ) -> Holding:
        """Make ``holder`` a holder of ``target`` (idempotent), with the baseline stored before
        anything is written. Returns the holding to bring the target to (its ``effective``)."""
        known, fetch = (read, _knowing(read)) if isinstance(read, tuple) else (None, read)
        # A known baseline is first claimed on the guess that nobody holds the target (the usual
        # first change), without reading it: the store creates a row only where none is, so this
        # is the compare-and-swap a read of nothing leads to; a row there fails it, and the next
        # pass reads and decides.
        guess = known is not None
        for _ in range(SWAP_ATTEMPTS + guess):
            current, version = (None, 0) if guess else _load(await self._store.get(target))
            guess = False
            now = self._clock()
            step = plan_join(current, target=target, kind=kind, holder=holder, now=now, spec=spec)
            if step.kind == "held" and step.holding is not None:
                return step.holding
            if step.kind == "wait" and step.holding is not None:
                raise busy(step.holding)
            assert step.holding is not None
            if step.kind == "finish":
                await self._finish(target, step.holding, version, finish)
                continue
            if step.kind == "claim" and known is not None:  # one write: nothing to read
                final = captured(
                    step.holding, known[0], Holder(id=holder, desired=known[1], since=now)
                )
                if await self._store.put(target, _body(final), expect_version=version):
                    return final
                continue
            if step.kind == "claim":
                claim = await self._store.put(target, _body(step.holding), expect_version=version)
                if claim is None:
                    continue
                baseline, desired = await fetch(None)
                first = Holder(id=holder, desired=desired, since=now)
                final = captured(step.holding, baseline, first)
                if await self._store.put(target, _body(final), expect_version=claim.version):
                    return final
                continue
            _, desired = await fetch(step.holding)
            final = joined(step.holding, Holder(id=holder, desired=desired, since=now))
            if await self._store.put(target, _body(final), expect_version=version):
                return final
        raise ApplicationError(f"{target}: the holdings store stayed contended", type="HoldingBusy")

    async def _finish(
        self, target: str, release: Holding, version: int, revert: Revert | None
    ) -> None:
        """Complete a release whose owner died: revert, then delete (as that owner would)."""
        if revert is None:
            raise busy(release)
        stored = await self._store.put(target, _body(release), expect_version=version)
        if stored is None:
            return
        await revert(release)
        await self._store.delete(target, expect_version=stored.version)

    async def _settle(self, target: str, holding: Holding, version: int, reapply: Reapply) -> str:
        """Do the re-apply a leaver owes (``pending_from``), then clear it."""
        detail = await reapply(holding.pending_from, holding)
        settled = holding.model_copy(update={"pending_from": ""})
        await self._store.put(target, _body(settled), expect_version=version)
        return detail

    async def leave(
        self,
        target: str,
        holder: str,
        revert: Revert,
        reapply: Reapply,
        owed: Reapply | None = None,
    ) -> Left:
        """Remove ``holder``; the last one out reverts (``revert``) and deletes the holding; a
        holder leaving others behind re-applies what they still want if it moved (``reapply``
        gets what was in place and the holding as it stays). A re-apply another leaver still
        owes (it died after storing its leave) is done first, with ``owed`` (default
        ``reapply``), so that what this holder compares with is what is in place."""
        for _ in range(SWAP_ATTEMPTS):
            current, version = _load(await self._store.get(target))
            step = plan_leave(current, holder=holder, now=self._clock())
            if step.kind == "gone":
                detail = f"{target}: not held by {holder} (released already)"
                if current is not None and current.phase == "held" and current.pending_from:
                    detail += "; " + await self._settle(target, current, version, reapply)
                    return Left("kept", detail, current)
                return Left("gone", detail)
            assert step.holding is not None
            if step.kind == "wait":
                raise busy(step.holding)
            if step.kind == "settle":
                await self._settle(target, step.holding, version, owed or reapply)
                continue
            if step.kind == "drop":
                if await self._store.delete(target, expect_version=version):
                    return Left("gone", f"{target}: claim dropped before anything was written")
                continue
            stored = await self._store.put(target, _body(step.holding), expect_version=version)
            if stored is None:
                continue
            if step.kind == "leave":
                kept = step.holding
                detail = f"{target}: still held by {len(kept.holders)} other(s)"
                if kept.pending_from:
                    detail += "; " + await self._settle(target, kept, stored.version, reapply)
                return Left("kept", detail, kept)
            detail = await revert(step.holding)
            await self._store.delete(target, expect_version=stored.version)
            return Left("released", detail, step.holding)
        raise ApplicationError(f"{target}: the holdings store stayed contended", type="HoldingBusy")

"""Release-freeze activities: set a freeze and lift it, each verified by reading it back."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from temporalio import activity

from orchestrator.activities.changes import Targets
from orchestrator.activities.errors import not_verified, permanent, permanent_or_retryable
from orchestrator.activities.holdings import Holdings
from orchestrator.activities.made import found_in_place
from orchestrator.activities.ops_types import (
    FREEZE_RELEASES,
    LIFT_FREEZE,
    FreezeInput,
    FreezeResult,
    LiftInput,
    LiftResult,
)
from orchestrator.domain.holdings import ON, Holding, holding_target
from orchestrator.domain.ops_models import FreezeRequest
from orchestrator.errors import NotFoundError, ProviderError
from orchestrator.providers.releases import ReleaseFreezes


def utc_now() -> datetime:
    return datetime.now(UTC)


class ReleaseActivities:
    def __init__(
        self,
        freezes: ReleaseFreezes,
        clock: Callable[[], datetime] = utc_now,
        holdings: Holdings | None = None,
    ) -> None:
        self._freezes = freezes
        self._clock = clock
        self._holdings = holdings

    async def _unused(self, freeze_id: str) -> str:
        """``freeze_id``, or with a suffix when a freeze of that id exists already (lifted: a
        freeze id is never set twice)."""
        candidate, n = freeze_id, 1
        while await self._freezes.get(candidate) is not None:
            n += 1
            candidate = f"{freeze_id}-{n}"
        return candidate

    async def _held(self, inp: FreezeInput) -> tuple[FreezeRequest, str]:
        """Join the component's held freeze: the first holder's request sets it; later holders
        share it, and the last to leave lifts it."""
        if self._holdings is None:
            raise permanent("held freezes need the holdings store (the audit database)")
        req = inp.request
        target = holding_target("freeze", req.service, req.component)
        # One freeze per holding: a later holding (after this one was lifted) sets a new one.
        generation = self._clock().strftime("%Y%m%dT%H%M%S.%f")
        base = req.id if len(req.id) <= 160 else hashlib.sha256(req.id.encode()).hexdigest()[:32]
        fresh = req.model_copy(update={"id": await self._unused(f"{base}@{generation}")})
        spec = {"freeze_id": fresh.id, "request": fresh.model_dump(mode="json")}
        targets = Targets(freezes=self._freezes, clock=self._clock)

        async def finish(dead: Holding) -> str:
            return await targets.revert(dead, f"{inp.holder}: finishing a release")

        # no freeze of this holding's before it: nothing to read for the baseline
        holding = await self._holdings.join(target, "freeze", inp.holder, ("", ON), spec, finish)
        return FreezeRequest.model_validate(holding.spec["request"]), target

    @activity.defn(name=FREEZE_RELEASES)
    async def freeze_releases(self, inp: FreezeInput) -> FreezeResult:
        req = inp.request
        now = self._clock()
        target = ""
        try:
            if inp.holder:
                req, target = await self._held(inp)
            freeze = await self._freezes.freeze(req, now)
            active = [f.id for f in await self._freezes.active(req.service, req.component, now)]
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
        if freeze.id not in active:
            return FreezeResult(
                freeze=freeze,
                active=False,
                detail=f"freeze {freeze.id} of {req.component} is not in force (lifted or expired)",
                holding=target,
            )
        until = freeze.until.isoformat(timespec="seconds") if freeze.until else "lifted by hand"
        return FreezeResult(
            freeze=freeze,
            active=True,
            detail=f"releases of {req.component} frozen until {until}; owner {req.owner}"
            + found_in_place(freeze.created_at, now),
            holding=target,
        )

    @activity.defn(name=LIFT_FREEZE)
    async def lift_freeze(self, inp: LiftInput) -> LiftResult:
        now = self._clock()
        try:
            freeze = await self._freezes.lift(inp.freeze_id, by=inp.by, reason=inp.reason, now=now)
        except NotFoundError as exc:
            raise permanent(str(exc)) from exc
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
        if freeze.active_at(now):
            raise not_verified(f"freeze {freeze.id} is still in force")
        return LiftResult(
            freeze=freeze, detail=f"freeze of {freeze.component} lifted by {freeze.lifted_by}"
        )

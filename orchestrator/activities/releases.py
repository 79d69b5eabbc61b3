"""Release-freeze activities: set a freeze and lift it, each verified by reading it back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from temporalio import activity

from orchestrator.activities.errors import not_verified, permanent, permanent_or_retryable
from orchestrator.activities.ops_types import (
    FREEZE_RELEASES,
    LIFT_FREEZE,
    FreezeInput,
    FreezeResult,
    LiftInput,
    LiftResult,
)
from orchestrator.errors import NotFoundError, ProviderError
from orchestrator.providers.releases import ReleaseFreezes


def utc_now() -> datetime:
    return datetime.now(UTC)


class ReleaseActivities:
    def __init__(self, freezes: ReleaseFreezes, clock: Callable[[], datetime] = utc_now) -> None:
        self._freezes = freezes
        self._clock = clock

    @activity.defn(name=FREEZE_RELEASES)
    async def freeze_releases(self, inp: FreezeInput) -> FreezeResult:
        req = inp.request
        now = self._clock()
        try:
            freeze = await self._freezes.freeze(req, now)
            active = [f.id for f in await self._freezes.active(req.service, req.component, now)]
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
        if freeze.id not in active:
            return FreezeResult(
                freeze=freeze,
                active=False,
                detail=f"freeze {freeze.id} of {req.component} is not in force (lifted or expired)",
            )
        until = freeze.until.isoformat(timespec="seconds") if freeze.until else "lifted by hand"
        return FreezeResult(
            freeze=freeze,
            active=True,
            detail=f"releases of {req.component} frozen until {until}; owner {req.owner}",
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

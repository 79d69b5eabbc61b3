"""Held changes: each kind of temporary change as a value to read and set, and the one activity
that releases a holder (the undo of every temporary step).

Every kind is seen as one string value, so joining, leaving and reverting are the same for all:

- ``flag_rule``: ``on`` while the shared segment rule is in the flag, ``""`` when it is not;
- ``flag_default``: the variation served to everyone else (the fallthrough);
- ``version``: the version a component serves; ``replicas``: how many replicas it runs;
- ``freeze``: ``on`` while the shared release freeze is in force.

Reverting compares and sets: the baseline comes back only while the target still shows what the
orchestrator put there, so a person's later change is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from temporalio import activity

from orchestrator.activities.errors import not_verified, permanent, permanent_or_retryable
from orchestrator.activities.flag_writes import write_planned
from orchestrator.activities.holdings import Holdings
from orchestrator.activities.ops_types import RELEASE_CHANGE, ReleaseInput, ReleaseResult
from orchestrator.domain.flag_plans import plan_remove_rule, plan_route_segment, plan_set_default
from orchestrator.domain.holdings import ON, Holding, HoldKind
from orchestrator.domain.ops_models import FreezeRequest
from orchestrator.errors import FlagProviderError, FlagRuleError, NotFoundError, ProviderError
from orchestrator.providers.deploy import DeploymentProvider
from orchestrator.providers.flags import FlagProvider
from orchestrator.providers.releases import ReleaseFreezes


class Setter(Protocol):
    async def read(self) -> str: ...

    async def write(self, value: str, comment: str) -> None: ...


@dataclass(frozen=True)
class FlagRule:
    flags: FlagProvider
    spec: dict[str, Any]

    async def read(self) -> str:
        state = await self.flags.get_flag(self.spec["flag"])
        rule = state.rule_by_ref(self.spec["ref"])
        return ON if rule is not None else ""

    async def write(self, value: str, comment: str) -> None:
        spec = self.spec
        if value == ON:
            await write_planned(
                self.flags,
                spec["flag"],
                lambda state: plan_route_segment(
                    state,
                    ref=spec["ref"],
                    context_kind=spec["context_kind"],
                    attribute=spec["attribute"],
                    values=tuple(spec["values"]),
                    variation=spec["variation"],
                ),
                comment,
            )
        else:
            await write_planned(
                self.flags, spec["flag"], lambda s: plan_remove_rule(s, ref=spec["ref"]), comment
            )


@dataclass(frozen=True)
class FlagDefault:
    flags: FlagProvider
    spec: dict[str, Any]

    async def read(self) -> str:
        state = await self.flags.get_flag(self.spec["flag"])
        return str(state.value_of(state.fallthrough_variation_id))

    async def write(self, value: str, comment: str) -> None:
        await write_planned(
            self.flags, self.spec["flag"], lambda s: plan_set_default(s, variation=value), comment
        )


@dataclass(frozen=True)
class Version:
    deploy: DeploymentProvider
    spec: dict[str, Any]

    async def read(self) -> str:
        return (await self.deploy.state(self.spec["service"], self.spec["component"])).version

    async def write(self, value: str, comment: str) -> None:
        spec = self.spec
        await self.deploy.pin(spec["service"], spec["component"], value, ref=spec["ref"])


@dataclass(frozen=True)
class Replicas:
    deploy: DeploymentProvider
    spec: dict[str, Any]

    async def read(self) -> str:
        state = await self.deploy.state(self.spec["service"], self.spec["component"])
        return str(state.replicas)

    async def write(self, value: str, comment: str) -> None:
        spec = self.spec
        await self.deploy.scale(spec["service"], spec["component"], int(value), ref=spec["ref"])


@dataclass(frozen=True)
class ReleaseFreeze:
    freezes: ReleaseFreezes
    spec: dict[str, Any]
    clock: Callable[[], datetime]

    async def read(self) -> str:
        freeze = await self.freezes.get(self.spec["freeze_id"])
        return ON if freeze is not None and freeze.active_at(self.clock()) else ""

    async def write(self, value: str, comment: str) -> None:
        if value == ON:
            request = FreezeRequest.model_validate(self.spec["request"])
            await self.freezes.freeze(request, self.clock())
            return
        try:
            await self.freezes.lift(
                self.spec["freeze_id"], by="orchestrator", reason=comment, now=self.clock()
            )
        except NotFoundError:
            return


@dataclass(frozen=True)
class Targets:
    """The providers a held change can live in (an activity class passes the ones it has)."""

    flags: FlagProvider | None = None
    deploy: DeploymentProvider | None = None
    freezes: ReleaseFreezes | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def setter(self, kind: HoldKind, spec: dict[str, Any]) -> Setter:
        if kind in ("flag_rule", "flag_default") and self.flags is not None:
            return (FlagRule if kind == "flag_rule" else FlagDefault)(self.flags, spec)
        if kind in ("version", "replicas") and self.deploy is not None:
            return (Version if kind == "version" else Replicas)(self.deploy, spec)
        if kind == "freeze" and self.freezes is not None:
            return ReleaseFreeze(self.freezes, spec, self.clock)
        raise permanent(f"no provider here for a held {kind} change")

    async def revert(self, holding: Holding, comment: str) -> str:
        """The last holder left: back to the baseline, only while the target still shows what
        the holders had in place."""
        setter = self.setter(holding.kind, holding.spec)
        now = await setter.read()
        baseline = holding.baseline or ""
        if now == baseline:
            return f"{holding.target}: back to {_shown(baseline)} already"
        if now != holding.releasing_from:
            return (
                f"{holding.target}: shows {_shown(now)}, changed since by someone else (not"
                f" {_shown(holding.releasing_from)}); left as it is"
            )
        await set_verified(setter, baseline, comment, holding.target)
        return f"{holding.target}: {_shown(now)} -> {_shown(baseline)} (the last holder left)"

    async def reapply(self, was: str, kept: Holding, comment: str) -> str:
        """A holder left and what the others need moved from ``was``: bring it there."""
        setter = self.setter(kept.kind, kept.spec)
        now = await setter.read()
        if now == kept.effective:
            return f"serves {_shown(now)}, what the others need"
        if now != was:
            return f"shows {_shown(now)}, changed by someone else; left as it is"
        await set_verified(setter, kept.effective, comment, kept.target)
        return f"{_shown(was)} -> {_shown(kept.effective)} (what the others need)"


async def set_verified(setter: Setter, value: str, comment: str, what: str) -> tuple[str, str]:
    """Bring the target to ``value`` and read it back: (before, after)."""
    before = await setter.read()
    if before != value:
        await setter.write(value, comment)
        after = await setter.read()
        if after != value:
            raise not_verified(f"{what}: shows {after!r}, not {value!r} (read back)")
        return before, after
    return before, before


def _shown(value: str) -> str:
    return repr(value) if value else "nothing"


class ChangeActivities:
    def __init__(self, holdings: Holdings, targets: Targets) -> None:
        self._holdings = holdings
        self._targets = targets

    @activity.defn(name=RELEASE_CHANGE)
    async def release_change(self, inp: ReleaseInput) -> ReleaseResult:
        """One holder leaves a held change; the last one reverts it to its baseline."""

        async def revert(holding: Holding) -> str:
            if inp.keep:
                return f"{holding.target}: left in place (a lasting change)"
            return await self._targets.revert(holding, inp.comment)

        async def reapply(was: str, kept: Holding) -> str:
            if inp.keep:
                return "left as it is"
            return await self._targets.reapply(was, kept, inp.comment)

        async def owed(was: str, kept: Holding) -> str:
            """Another leaver's re-apply (``keep`` lets only this holder's change stay)."""
            return await self._targets.reapply(was, kept, inp.comment)

        try:
            left = await self._holdings.leave(inp.target, inp.holder, revert, reapply, owed)
        except (FlagProviderError, FlagRuleError, ProviderError) as exc:
            raise permanent_or_retryable(exc) from exc
        except KeyError as exc:
            raise permanent(f"{inp.target}: the holding lacks {exc}") from exc
        return ReleaseResult(
            target=inp.target,
            outcome=left.kind,
            detail=left.detail,
            holders_left=len(left.holding.holders) if left.holding else 0,
        )

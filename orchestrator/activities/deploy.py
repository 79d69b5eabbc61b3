"""Deployment activities: pin a version (rollback), scale, and undo either, each verified.

Idempotent: pinning or scaling to what already serves changes nothing, and an undo changes the
component only while it still shows what the step set (compare and set), so a retry, a replay or a
late undo never overwrites somebody else's change. A held pin or scale (``holder`` set) joins
the holdings ledger: the version or replica count from before the first holder is stored once,
before the write, so a retry never reads "previous" again, and the last holder restores it.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestrator.activities.changes import Replicas, Targets, Version, set_verified
from orchestrator.activities.errors import not_verified, permanent, permanent_or_retryable
from orchestrator.activities.holdings import Holdings, Read
from orchestrator.activities.ops_types import (
    PIN_COMPONENT_VERSION,
    RESTORE_COMPONENT,
    SCALE_COMPONENT,
    PinInput,
    PinResult,
    RestoreInput,
    RestoreResult,
    ScaleInput,
    ScaleResult,
)
from orchestrator.domain.actions import PREVIOUS
from orchestrator.domain.holdings import Holding, HoldKind, holding_target
from orchestrator.errors import ProviderError
from orchestrator.providers.deploy import DeploymentProvider


def _not_verified(what: str) -> ApplicationError:
    return not_verified(f"{what} (read back after the change)")


class DeployActivities:
    def __init__(self, deploy: DeploymentProvider, holdings: Holdings | None = None) -> None:
        self._deploy = deploy
        self._holdings = holdings

    def _ledger(self) -> Holdings:
        if self._holdings is None:
            raise permanent("held deployment changes need the holdings store (the audit database)")
        return self._holdings

    async def _held(
        self, kind: HoldKind, service: str, component: str, holder: str, read: Read
    ) -> tuple[Holding, str, str]:
        """Join the held pin or scale of a component and bring it to what the holders need:
        (holding, before, after). The baseline is stored before the write, once."""
        target = holding_target(kind, service, component)
        spec = {"service": service, "component": component, "ref": target}
        targets = Targets(deploy=self._deploy)

        async def finish(dead: Holding) -> str:
            return await targets.revert(dead, f"{holder}: finishing a release")

        holding = await self._ledger().join(target, kind, holder, read, spec, finish)
        setter = Version(self._deploy, spec) if kind == "version" else Replicas(self._deploy, spec)
        before, after = await set_verified(setter, holding.effective, "", f"{component}")
        if holding.holders and holding.holders[0].id == holder and holding.baseline:
            before = holding.baseline  # the first holder changed it (a retry finds it done)
        return holding, before, after

    async def _pin_held(self, inp: PinInput) -> PinResult:
        async def read(current: Holding | None) -> tuple[str, str]:
            state = await self._deploy.state(inp.service, inp.component)
            if inp.version != PREVIOUS:
                return state.version, inp.version
            if current is not None and current.holders:
                return state.version, current.effective  # rolled back already: keep that
            if state.previous is None:
                raise permanent(f"{inp.component} of {inp.service} has no previous version to pin")
            return state.version, state.previous

        holding, before, after = await self._held(
            "version", inp.service, inp.component, inp.holder, read
        )
        changed = before != after
        detail = (
            f"{inp.component} pinned {before} -> {after}; provider serves it"
            if changed
            else f"{inp.component} serves {after} (held by {len(holding.holders)} incident step(s))"
        )
        return PinResult(
            service=inp.service,
            component=inp.component,
            version_before=before,
            version_after=after,
            changed=changed,
            detail=detail,
            holding=holding.target,
            baseline=holding.baseline or "",
        )

    async def _scale_held(self, inp: ScaleInput) -> ScaleResult:
        async def read(_current: Holding | None) -> tuple[str, str]:
            state = await self._deploy.state(inp.service, inp.component)
            return str(state.replicas), str(inp.replicas)

        holding, before, after = await self._held(
            "replicas", inp.service, inp.component, inp.holder, read
        )
        changed = before != after
        detail = (
            f"{inp.component} scaled {before} -> {after} replicas"
            if changed
            else f"{inp.component} runs {after} replicas (held by {len(holding.holders)})"
        )
        return ScaleResult(
            service=inp.service,
            component=inp.component,
            replicas_before=int(before),
            replicas_after=int(after),
            changed=changed,
            detail=detail,
            holding=holding.target,
            baseline=holding.baseline or "",
        )

    @activity.defn(name=PIN_COMPONENT_VERSION)
    async def pin_component_version(self, inp: PinInput) -> PinResult:
        try:
            if inp.holder:
                return await self._pin_held(inp)
            before = await self._deploy.state(inp.service, inp.component)
            target = inp.version
            if target == PREVIOUS:
                if before.previous is None:
                    raise permanent(
                        f"{inp.component} of {inp.service} has no previous version to pin"
                    )
                target = before.previous
            await self._deploy.pin(inp.service, inp.component, target, ref=inp.ref)
            after = await self._deploy.state(inp.service, inp.component)
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
        if after.version != target:
            raise _not_verified(f"{inp.component} serves {after.version!r}, not {target!r}")
        changed = before.version != after.version
        detail = (
            f"{inp.component} pinned {before.version} -> {after.version}; provider serves it"
            if changed
            else f"{inp.component} already serves {after.version}; nothing changed"
        )
        return PinResult(
            service=inp.service,
            component=inp.component,
            version_before=before.version,
            version_after=after.version,
            changed=changed,
            detail=detail,
        )

    @activity.defn(name=SCALE_COMPONENT)
    async def scale_component(self, inp: ScaleInput) -> ScaleResult:
        try:
            if inp.holder:
                return await self._scale_held(inp)
            before = await self._deploy.state(inp.service, inp.component)
            await self._deploy.scale(inp.service, inp.component, inp.replicas, ref=inp.ref)
            after = await self._deploy.state(inp.service, inp.component)
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
        if after.replicas != inp.replicas:
            raise _not_verified(
                f"{inp.component} runs {after.replicas} replicas, not {inp.replicas}"
            )
        changed = before.replicas != after.replicas
        detail = (
            f"{inp.component} scaled {before.replicas} -> {after.replicas} replicas"
            if changed
            else f"{inp.component} already runs {after.replicas} replicas"
        )
        return ScaleResult(
            service=inp.service,
            component=inp.component,
            replicas_before=before.replicas,
            replicas_after=after.replicas,
            changed=changed,
            detail=detail,
        )

    @activity.defn(name=RESTORE_COMPONENT)
    async def restore_component(self, inp: RestoreInput) -> RestoreResult:
        try:
            if inp.kind == "version":
                await self._deploy.pin(
                    inp.service, inp.component, inp.restore, ref=inp.ref, if_current=inp.expect
                )
                now = (await self._deploy.state(inp.service, inp.component)).version
            else:
                await self._deploy.scale(
                    inp.service,
                    inp.component,
                    int(inp.restore),
                    ref=inp.ref,
                    if_current=int(inp.expect),
                )
                now = str((await self._deploy.state(inp.service, inp.component)).replicas)
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
        what = "version" if inp.kind == "version" else "replicas"
        if now == inp.restore:
            detail = f"{inp.component} {what} restored {inp.expect} -> {inp.restore}"
            return RestoreResult(restored=True, detail=detail, before=inp.expect, after=now)
        detail = (
            f"{inp.component} {what} is {now} (changed since by someone else, not {inp.expect});"
            " left as it is"
        )
        return RestoreResult(restored=False, detail=detail, before=now, after=now)

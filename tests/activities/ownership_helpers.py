"""What the ownership state machine (test_ownership_stateful.py) runs the held-change activities
against: the real local providers and SQLite holdings store, each behind a wrapper that can make
one write fail (before it is made, or after it is made: the worker dies and Temporal never hears
the activity complete), and let a person's flag change land between an activity's read and its
write. Also a controllable clock, a small flag evaluator and a snapshot of everything the
activities can change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from orchestrator.audit.holdings import HoldingStore, StoredHolding
from orchestrator.domain.flags import EvalContext, Evaluation, FlagState
from orchestrator.domain.ops_models import ComponentState, Freeze, FreezeRequest
from orchestrator.errors import AuditError, FlagProviderError, ProviderError
from orchestrator.providers.deploy import DeploymentProvider
from orchestrator.providers.flags import FlagProvider
from orchestrator.providers.local_flags import LocalFlagStore
from orchestrator.providers.releases import ReleaseFreezes
from tests.providers.passthrough import PassThroughDeployments, PassThroughFlags

T = TypeVar("T")


class Clock:
    """The one clock of the holdings ledger, the freezes and the activities; moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@dataclass(frozen=True)
class Crash:
    """Fail the ``at``-th write (1-based) of the next activity attempt: with ``after``, the write
    is made and then the attempt dies (its completion is lost); without, nothing is written."""

    at: int
    after: bool


class InjectedFault(Exception):  # noqa: N818 - what it is, not an error of the code under test
    """Marks the injected failures in a chain of causes."""


class Faults:
    """Shared by every wrapper: counts the writes of one attempt and fails the armed one."""

    def __init__(self) -> None:
        self.crash: Crash | None = None
        self.writes = 0
        self.fired: Crash | None = None
        self.interject: Callable[[], Awaitable[None]] | None = None
        """A person's flag change, run right before the next flag write (after its read)."""

    def arm(self, crash: Crash) -> None:
        self.crash, self.writes, self.fired = crash, 0, None

    def disarm(self) -> None:
        self.crash = None

    async def write(self, do: Callable[[], Awaitable[T]], error: Callable[[str], Exception]) -> T:
        crash = self.crash
        if crash is None:
            return await do()
        self.writes += 1
        if self.writes != crash.at:
            return await do()
        self.crash, self.fired = None, crash
        if crash.after:
            await do()
            message = f"injected: write {crash.at} made, then the worker died"
        else:
            message = f"injected: write {crash.at} failed before it was made"
        raise error(message) from InjectedFault(message)


class FaultyFlags(PassThroughFlags):
    """A :class:`FlagProvider` in front of the local flag store."""

    def __init__(self, inner: FlagProvider, faults: Faults) -> None:
        super().__init__(inner)
        self._faults = faults

    async def write(
        self, key: str, do: Callable[[], Awaitable[FlagState]], expect_version: int | None
    ) -> FlagState:
        interject = self._faults.interject
        if interject is not None:
            self._faults.interject = None
            await interject()
        return await self._faults.write(do, lambda m: FlagProviderError(m, retryable=True))


class FaultyDeployments(PassThroughDeployments):
    """A :class:`DeploymentProvider` in front of the local deployments file."""

    def __init__(self, inner: DeploymentProvider, faults: Faults) -> None:
        super().__init__(inner)
        self._faults = faults

    async def write(self, op: str, do: Callable[[], Awaitable[ComponentState]]) -> ComponentState:
        return await self._faults.write(do, lambda m: ProviderError(m, retryable=True))


class FaultyFreezes:
    """A :class:`ReleaseFreezes` in front of the local freezes file."""

    def __init__(self, inner: ReleaseFreezes, faults: Faults) -> None:
        self.inner = inner
        self._faults = faults

    async def freeze(self, request: FreezeRequest, now: datetime) -> Freeze:
        return await self._faults.write(
            lambda: self.inner.freeze(request, now),
            lambda message: ProviderError(message, retryable=True),
        )

    async def lift(self, freeze_id: str, *, by: str, reason: str, now: datetime) -> Freeze:
        return await self._faults.write(
            lambda: self.inner.lift(freeze_id, by=by, reason=reason, now=now),
            lambda message: ProviderError(message, retryable=True),
        )

    async def get(self, freeze_id: str) -> Freeze | None:
        return await self.inner.get(freeze_id)

    async def active(self, service: str, component: str | None, now: datetime) -> list[Freeze]:
        return await self.inner.active(service, component, now)

    async def all(self) -> list[Freeze]:
        return await self.inner.all()


class FaultyStore:
    """A :class:`HoldingStore` in front of the SQLite holdings store (a lost connection is an
    AuditError, which no activity maps: Temporal retries it)."""

    def __init__(self, inner: HoldingStore, faults: Faults) -> None:
        self.inner = inner
        self._faults = faults

    async def get(self, target: str) -> StoredHolding | None:
        return await self.inner.get(target)

    async def put(
        self, target: str, body: dict[str, Any], *, expect_version: int
    ) -> StoredHolding | None:
        return await self._faults.write(
            lambda: self.inner.put(target, body, expect_version=expect_version), AuditError
        )

    async def delete(self, target: str, *, expect_version: int) -> bool:
        return await self._faults.write(
            lambda: self.inner.delete(target, expect_version=expect_version), AuditError
        )

    async def all(self) -> list[StoredHolding]:
        return await self.inner.all()

    async def close(self) -> None:
        await self.inner.close()


class NoEvaluator:
    """The held-change activities never evaluate a flag through the SDK."""

    async def evaluate(self, key: str, context: EvalContext) -> Evaluation:
        raise AssertionError(f"no SDK evaluation expected ({key})")

    def close(self) -> None:
        return None


def served(state: FlagState, **attributes: str) -> str:
    """What a user context with ``attributes`` is served: the first matching rule (``in``
    clauses, as the orchestrator and these tests write them), else the fallthrough."""
    if not state.on:
        return state.value_of(state.off_variation_id)
    for rule in state.rules:
        if all(
            clause.context_kind == "user"
            and clause.op == "in"
            and (attributes.get(clause.attribute) in clause.values) != clause.negate
            for clause in rule.clauses
        ):
            return state.value_of(rule.variation_id)
    return state.value_of(state.fallthrough_variation_id)


def rule_shapes(state: FlagState) -> set[tuple[str | None, str, str]]:
    """The flag's rules without their generated ids: (ref, clauses, variation served)."""
    return {
        (
            rule.ref,
            ";".join(
                f"{c.context_kind}.{c.attribute} {c.op} {','.join(c.values)}" for c in rule.clauses
            ),
            state.value_of(rule.variation_id),
        )
        for rule in state.rules
    }


@dataclass(frozen=True)
class Snapshot:
    """Everything a held-change activity could write, for "this changed nothing" checks."""

    flags: dict[str, FlagState]
    components: dict[str, ComponentState]
    freezes: list[Freeze]
    holdings: list[StoredHolding]


async def snapshot(
    flags: LocalFlagStore,
    deploy: DeploymentProvider,
    components: Sequence[tuple[str, str]],
    freezes: ReleaseFreezes,
    store: HoldingStore,
) -> Snapshot:
    return Snapshot(
        flags=await flags.all_flags(),
        components={f"{s}/{c}": await deploy.state(s, c) for s, c in components},
        freezes=await freezes.all(),
        holdings=await store.all(),
    )

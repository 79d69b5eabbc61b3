"""Provider wrappers for tests: forward everything to a real provider, and let a subclass change
what one write does (fail it, fail after it, record it, let someone else change the flag first)
by overriding :meth:`write` alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from orchestrator.domain.flags import FlagState, Instruction
from orchestrator.domain.ops_models import ComponentState
from orchestrator.providers.deploy import DeploymentProvider
from orchestrator.providers.flags import FlagProvider


class PassThroughFlags:
    """A :class:`FlagProvider` in front of ``inner``."""

    def __init__(self, inner: FlagProvider) -> None:
        self.inner = inner

    async def get_flag(self, key: str) -> FlagState:
        return await self.inner.get_flag(key)

    async def apply(
        self,
        key: str,
        instructions: Sequence[Instruction],
        comment: str,
        *,
        expect_version: int | None = None,
    ) -> FlagState:
        async def do() -> FlagState:
            if expect_version is None:  # a caller that does not guard its writes by version
                return await self.inner.apply(key, instructions, comment)
            return await self.inner.apply(key, instructions, comment, expect_version=expect_version)

        return await self.write(key, do, expect_version)

    async def write(
        self, key: str, do: Callable[[], Awaitable[FlagState]], expect_version: int | None
    ) -> FlagState:
        """One change to flag ``key``; ``do`` makes it on the inner provider."""
        return await do()


class PassThroughDeployments:
    """A :class:`DeploymentProvider` in front of ``inner``."""

    def __init__(self, inner: DeploymentProvider) -> None:
        self.inner = inner

    async def state(self, service: str, component: str) -> ComponentState:
        return await self.inner.state(service, component)

    async def pin(
        self, service: str, component: str, version: str, *, ref: str, if_current: str | None = None
    ) -> ComponentState:
        return await self.write(
            "pin",
            lambda: self.inner.pin(service, component, version, ref=ref, if_current=if_current),
        )

    async def scale(
        self,
        service: str,
        component: str,
        replicas: int,
        *,
        ref: str,
        if_current: int | None = None,
    ) -> ComponentState:
        return await self.write(
            "scale",
            lambda: self.inner.scale(service, component, replicas, ref=ref, if_current=if_current),
        )

    async def write(self, op: str, do: Callable[[], Awaitable[ComponentState]]) -> ComponentState:
        """One ``op`` ("pin" or "scale"); ``do`` makes it on the inner provider."""
        return await do()

"""Providers that fail for good, to drive the "step failing" path (compensation, page)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime

from orchestrator.domain.flags import FlagState, Instruction
from orchestrator.domain.ops_models import ComponentState, ReviewDraft, ReviewTicket
from orchestrator.errors import FlagProviderError, ProviderError
from orchestrator.providers.deploy import DeploymentProvider
from orchestrator.providers.flags import FlagProvider
from orchestrator.providers.local_ops import OpsProviders
from orchestrator.providers.tickets import TicketProvider
from tests.providers.passthrough import PassThroughDeployments, PassThroughFlags


class RefusingTickets:
    def __init__(self, inner: TicketProvider) -> None:
        self._inner = inner

    async def open_review(self, draft: ReviewDraft, now: datetime) -> ReviewTicket:
        raise ProviderError("ticket system refused: project is archived", retryable=False)

    async def get(self, ticket_id: str) -> ReviewTicket | None:
        return await self._inner.get(ticket_id)

    async def close_review(self, ticket_id: str, resolution: str, now: datetime) -> ReviewTicket:
        return await self._inner.close_review(ticket_id, resolution, now)


class RefusingDeployments(PassThroughDeployments):
    async def write(self, op: str, do: Callable[[], Awaitable[ComponentState]]) -> ComponentState:
        if op == "pin":
            raise ProviderError(
                "deployment API: 403 pin not allowed for this token", retryable=False
            )
        raise ProviderError("deployment API: quota exceeded for replicas", retryable=False)


class RefusingFlag(PassThroughFlags):
    """Refuses changes to one flag (LaunchDarkly says 403 for it); others pass through."""

    def __init__(self, inner: FlagProvider, key: str) -> None:
        super().__init__(inner)
        self._key = key

    async def write(
        self, key: str, do: Callable[[], Awaitable[FlagState]], expect_version: int | None
    ) -> FlagState:
        if key == self._key:
            raise FlagProviderError(f"403: no permission to change {key}", retryable=False)
        return await do()


def refusing_tickets(ops: OpsProviders) -> OpsProviders:
    return dataclasses.replace(ops, tickets=RefusingTickets(ops.tickets))


def refusing_deploy(ops: OpsProviders) -> OpsProviders:
    return dataclasses.replace(ops, deploy=RefusingDeployments(ops.deploy))


# -- a worker dying after the write, before the activity completes ------------------------------


def _died(what: str) -> str:
    return f"{what} written, then the worker died before the activity completed (connection reset)"


class DeployDiesAfterWrite(PassThroughDeployments):
    """The first pin and/or scale is written, then fails retryably (as if the worker died before
    completing the activity): Temporal retries the activity against the changed component."""

    def __init__(
        self, inner: DeploymentProvider, *, pin: bool = False, scale: bool = False
    ) -> None:
        super().__init__(inner)
        self._die = {"pin": pin, "scale": scale}
        self.calls = {"pin": 0, "scale": 0}
        self.died: set[str] = set()
        """The operations that died after their write (each once)."""

    async def write(self, op: str, do: Callable[[], Awaitable[ComponentState]]) -> ComponentState:
        state = await do()
        self.calls[op] += 1
        if self._die[op] and self.calls[op] == 1:
            self.died.add(op)
            raise ProviderError(_died(op), retryable=True)
        return state


class FlagDiesAfterWrite(PassThroughFlags):
    """The first change to one flag is applied, then fails retryably (the worker died before the
    activity completed); later changes and other flags pass through."""

    def __init__(self, inner: FlagProvider, key: str) -> None:
        super().__init__(inner)
        self._key = key
        self.applies = 0
        self.died = False

    async def write(
        self, key: str, do: Callable[[], Awaitable[FlagState]], expect_version: int | None
    ) -> FlagState:
        state = await do()
        if key == self._key:
            self.applies += 1
            if self.applies == 1:
                self.died = True
                raise FlagProviderError(_died(f"flag {key}"), retryable=True)
        return state


class PersonEditsFirst(PassThroughFlags):
    """Right before the first change to one flag, a person changes the same flag (through the
    inner provider, as in the LaunchDarkly UI): the change was planned on a flag that has moved.
    Subclasses say what the person does (:meth:`edit`)."""

    def __init__(self, inner: FlagProvider, key: str) -> None:
        super().__init__(inner)
        self._key = key
        self.applies = 0
        self.edited = False

    def edit(self, state: FlagState) -> list[Instruction]:
        raise NotImplementedError

    async def write(
        self, key: str, do: Callable[[], Awaitable[FlagState]], expect_version: int | None
    ) -> FlagState:
        if key == self._key:
            self.applies += 1
            if self.applies == 1:
                now = await self.inner.get_flag(key)
                await self.inner.apply(key, self.edit(now), "a person, in the flag UI")
                self.edited = True
        return await do()

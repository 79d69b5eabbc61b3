"""Providers that fail for good, to drive the "step failing" path (compensation, page)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from orchestrator.domain.flags import FlagState, Instruction
from orchestrator.domain.ops_models import ComponentState, ReviewDraft, ReviewTicket
from orchestrator.errors import FlagProviderError, ProviderError
from orchestrator.providers.deploy import DeploymentProvider
from orchestrator.providers.flags import FlagProvider
from orchestrator.providers.local_ops import OpsProviders
from orchestrator.providers.tickets import TicketProvider


class RefusingTickets:
    def __init__(self, inner: TicketProvider) -> None:
        self._inner = inner

    async def open_review(self, draft: ReviewDraft, now: datetime) -> ReviewTicket:
        raise ProviderError("ticket system refused: project is archived", retryable=False)

    async def get(self, ticket_id: str) -> ReviewTicket | None:
        return await self._inner.get(ticket_id)


class RefusingDeployments:
    def __init__(self, inner: DeploymentProvider) -> None:
        self._inner = inner

    async def state(self, service: str, component: str) -> ComponentState:
        return await self._inner.state(service, component)

    async def pin(
        self, service: str, component: str, version: str, *, ref: str, if_current: str | None = None
    ) -> ComponentState:
        raise ProviderError("deployment API: 403 pin not allowed for this token", retryable=False)

    async def scale(
        self,
        service: str,
        component: str,
        replicas: int,
        *,
        ref: str,
        if_current: int | None = None,
    ) -> ComponentState:
        raise ProviderError("deployment API: quota exceeded for replicas", retryable=False)


class RefusingFlag:
    """Refuses changes to one flag (LaunchDarkly says 403 for it); others pass through."""

    def __init__(self, inner: FlagProvider, key: str) -> None:
        self._inner = inner
        self._key = key

    async def get_flag(self, key: str) -> FlagState:
        return await self._inner.get_flag(key)

    async def apply(self, key: str, instructions: Sequence[Instruction], comment: str) -> FlagState:
        if key == self._key:
            raise FlagProviderError(f"403: no permission to change {key}", retryable=False)
        return await self._inner.apply(key, instructions, comment)


def refusing_tickets(ops: OpsProviders) -> OpsProviders:
    return dataclasses.replace(ops, tickets=RefusingTickets(ops.tickets))


def refusing_deploy(ops: OpsProviders) -> OpsProviders:
    return dataclasses.replace(ops, deploy=RefusingDeployments(ops.deploy))

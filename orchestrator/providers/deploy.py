"""The deployment-provider interface: which version of a component serves, pins, and scale.

A component is a key of a catalog service's ``versions`` (``model``, ``prompt``, ``retrieval``,
``handoff-router``...). Rollback pins a component to a version; the provider must report the
version it now serves, so the pin is verified by reading back, not by trusting the write.
"""

from __future__ import annotations

from typing import Protocol

from orchestrator.domain.ops_models import ComponentState


class DeploymentProvider(Protocol):
    async def state(self, service: str, component: str) -> ComponentState:
        """The component's state; ProviderError(retryable=False) if it is unknown."""
        ...

    async def pin(
        self, service: str, component: str, version: str, *, ref: str, if_current: str | None = None
    ) -> ComponentState:
        """Serve ``version`` (no change if it already serves). With ``if_current``, change only
        while ``if_current`` serves (compare and set), else return the state unchanged."""
        ...

    async def scale(
        self,
        service: str,
        component: str,
        replicas: int,
        *,
        ref: str,
        if_current: int | None = None,
    ) -> ComponentState:
        """Run ``replicas`` replicas; ``if_current`` as for :meth:`pin`."""
        ...

"""One deployment provider made of two: the versions of some components in a model registry,
everything else (other components, every replica count) in the deployment provider.

The registry owns a component's *version* (``state().version``, its ``previous``, pins); the
deployment provider keeps its *replicas* (scale) and every component the registry does not own.
So a scale step on a model whose version MLflow holds still scales it where it runs.
"""

from __future__ import annotations

from typing import Protocol

from orchestrator.domain.ops_models import ComponentState
from orchestrator.providers.deploy import DeploymentProvider


class VersionRegistry(DeploymentProvider, Protocol):
    def owns(self, service: str, component: str) -> bool:
        """Whether this registry holds the version of ``service``'s ``component``."""
        ...


class VersionRoutes:
    """A :class:`~orchestrator.providers.deploy.DeploymentProvider`: pins of the components
    ``registry`` owns go to it, the rest to ``deploy``."""

    def __init__(self, deploy: DeploymentProvider, registry: VersionRegistry) -> None:
        self.deploy = deploy
        self.registry = registry

    def __repr__(self) -> str:
        return f"VersionRoutes({self.deploy!r}, versions of some components in {self.registry!r})"

    async def state(self, service: str, component: str) -> ComponentState:
        running = await self.deploy.state(service, component)
        if not self.registry.owns(service, component):
            return running
        return self._merged(running, await self.registry.state(service, component))

    async def pin(
        self, service: str, component: str, version: str, *, ref: str, if_current: str | None = None
    ) -> ComponentState:
        if not self.registry.owns(service, component):
            return await self.deploy.pin(
                service, component, version, ref=ref, if_current=if_current
            )
        pinned = await self.registry.pin(
            service, component, version, ref=ref, if_current=if_current
        )
        return self._merged(await self.deploy.state(service, component), pinned)

    async def scale(
        self,
        service: str,
        component: str,
        replicas: int,
        *,
        ref: str,
        if_current: int | None = None,
    ) -> ComponentState:
        scaled = await self.deploy.scale(
            service, component, replicas, ref=ref, if_current=if_current
        )
        if not self.registry.owns(service, component):
            return scaled
        return self._merged(scaled, await self.registry.state(service, component))

    @staticmethod
    def _merged(running: ComponentState, versioned: ComponentState) -> ComponentState:
        return running.model_copy(
            update={
                "version": versioned.version,
                "history": versioned.history,
                "pinned_by": versioned.pinned_by,
            }
        )

"""The local deployment provider: component versions and replicas in a JSON file.

Seeded from the catalog: each component serves its ``current`` version, with the ``known_good``
one as the version that served before it, so ``previous`` and ``known-good`` both have an answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.domain.catalog import Catalog
from orchestrator.domain.ops_models import ComponentState
from orchestrator.errors import ProviderError
from orchestrator.providers.local_json import Document, LockedJsonFile


def _key(service: str, component: str) -> str:
    return f"{service}/{component}"


class LocalDeployments:
    """A :class:`~orchestrator.providers.deploy.DeploymentProvider` over one JSON file."""

    def __init__(self, path: Path) -> None:
        self._file = LockedJsonFile(path, "deployment state")

    def __repr__(self) -> str:
        return f"LocalDeployments({str(self._file.path)!r})"

    def ensure_components(self, catalog: Catalog) -> list[str]:
        """Seed components the file does not know (never overwrite one); return those added."""

        def seed(doc: Document) -> list[str]:
            components = doc.setdefault("components", {})
            added = []
            for service in catalog.services:
                for name, version in service.versions.items():
                    key = _key(service.name, name)
                    if key not in components:
                        history = (
                            [version.known_good] if version.known_good != version.current else []
                        )
                        components[key] = ComponentState(
                            service=service.name,
                            component=name,
                            version=version.current,
                            history=tuple(history),
                        ).model_dump(mode="json")
                        added.append(key)
            return added

        return self._file.change_sync(seed)

    async def state(self, service: str, component: str) -> ComponentState:
        doc = await self._file.read()
        return _get(doc, service, component)

    async def pin(
        self, service: str, component: str, version: str, *, ref: str, if_current: str | None = None
    ) -> ComponentState:
        def change(doc: Document) -> ComponentState:
            state = _get(doc, service, component)
            if state.version == version or (if_current is not None and state.version != if_current):
                return state
            after = state.model_copy(
                update={
                    "version": version,
                    "history": (*state.history, state.version)[-20:],
                    "pinned_by": ref,
                }
            )
            _put(doc, after)
            return after

        return await self._file.change(change)

    async def scale(
        self,
        service: str,
        component: str,
        replicas: int,
        *,
        ref: str,
        if_current: int | None = None,
    ) -> ComponentState:
        def change(doc: Document) -> ComponentState:
            state = _get(doc, service, component)
            if state.replicas == replicas or (
                if_current is not None and state.replicas != if_current
            ):
                return state
            after = state.model_copy(update={"replicas": replicas})
            _put(doc, after)
            return after

        return await self._file.change(change)


def _get(doc: Document, service: str, component: str) -> ComponentState:
    components: dict[str, Any] = doc.get("components", {})
    raw = components.get(_key(service, component))
    if raw is None:
        known = sorted(k for k in components if k.startswith(f"{service}/"))
        raise ProviderError(
            f"no component {component!r} of {service!r} in the deployment provider (known:"
            f" {', '.join(k.split('/', 1)[1] for k in known) or 'none'})",
            retryable=False,
        )
    return ComponentState.model_validate(raw)


def _put(doc: Document, state: ComponentState) -> None:
    doc.setdefault("components", {})[_key(state.service, state.component)] = state.model_dump(
        mode="json"
    )

"""Release freezes: stop releases of a component until a time or an explicit lift.

A release pipeline asks :meth:`ReleaseFreezes.active` before it ships a component; the
orchestrator's ``release.freeze`` step sets a freeze, resolution of a temporary one (or a person,
``orchestrator freezes lift``) lifts it. Every freeze keeps its reason and owner.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol

from orchestrator.domain.ops_models import Freeze, FreezeRequest
from orchestrator.errors import NotFoundError
from orchestrator.providers.local_json import Document, LockedJsonFile


class ReleaseFreezes(Protocol):
    async def freeze(self, request: FreezeRequest, now: datetime) -> Freeze:
        """Set the freeze; a request with an id already known returns that freeze unchanged."""
        ...

    async def lift(self, freeze_id: str, *, by: str, reason: str, now: datetime) -> Freeze:
        """Lift it (no change if already lifted); NotFoundError for an unknown id."""
        ...

    async def get(self, freeze_id: str) -> Freeze | None: ...

    async def active(self, service: str, component: str | None, now: datetime) -> list[Freeze]:
        """The freezes in force for the service (and component, when given)."""
        ...

    async def all(self) -> list[Freeze]: ...


class LocalReleaseFreezes:
    """A :class:`ReleaseFreezes` over one JSON file in the state folder."""

    def __init__(self, path: Path) -> None:
        self._file = LockedJsonFile(path, "release freezes")

    def __repr__(self) -> str:
        return f"LocalReleaseFreezes({str(self._file.path)!r})"

    async def freeze(self, request: FreezeRequest, now: datetime) -> Freeze:
        def change(doc: Document) -> Freeze:
            freezes = doc.setdefault("freezes", {})
            if request.id in freezes:
                return Freeze.model_validate(freezes[request.id])
            freeze = Freeze(**request.model_dump(), created_at=now)
            freezes[request.id] = freeze.model_dump(mode="json")
            return freeze

        return await self._file.change(change)

    async def lift(self, freeze_id: str, *, by: str, reason: str, now: datetime) -> Freeze:
        def change(doc: Document) -> Freeze:
            raw = doc.get("freezes", {}).get(freeze_id)
            if raw is None:
                raise NotFoundError(f"no release freeze {freeze_id!r}")
            freeze = Freeze.model_validate(raw)
            if freeze.lifted_at is None:
                freeze = freeze.model_copy(
                    update={"lifted_at": now, "lifted_by": by, "lift_reason": reason}
                )
                doc["freezes"][freeze_id] = freeze.model_dump(mode="json")
            return freeze

        return await self._file.change(change)

    async def get(self, freeze_id: str) -> Freeze | None:
        raw = (await self._file.read()).get("freezes", {}).get(freeze_id)
        return None if raw is None else Freeze.model_validate(raw)

    async def active(self, service: str, component: str | None, now: datetime) -> list[Freeze]:
        return [
            f
            for f in await self.all()
            if f.service == service
            and (component is None or f.component == component)
            and f.active_at(now)
        ]

    async def all(self) -> list[Freeze]:
        doc = await self._file.read()
        freezes = [Freeze.model_validate(v) for v in doc.get("freezes", {}).values()]
        return sorted(freezes, key=lambda f: (f.created_at, f.id))

"""Paging a human, and the local file-backed pager (an inbox file the on-call can read)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol

from orchestrator.domain.ops_models import Page, PageRequest
from orchestrator.providers.local_json import Document, LockedJsonFile


class Pager(Protocol):
    async def page(self, request: PageRequest, now: datetime) -> Page:
        """Page, or return the page already sent under ``request.key``."""
        ...

    async def get(self, page_id: str) -> Page | None: ...


class PageFollowUps(Protocol):
    """What a pager may also do once an incident moves on (optional: a pager without it only
    pages). Both idempotent; both return the ids of the pages they changed."""

    async def acknowledge_incident(self, incident_id: str, now: datetime) -> list[str]:
        """A person answered through the orchestrator: acknowledge the incident's pages."""
        ...

    async def resolve_incident(self, incident_id: str, now: datetime) -> list[str]:
        """The incident recovered: resolve its open pages."""
        ...


class LocalPager:
    """A :class:`Pager` over one JSON file (``pages.json`` in the state folder)."""

    def __init__(self, path: Path) -> None:
        self._file = LockedJsonFile(path, "pager inbox")

    def __repr__(self) -> str:
        return f"LocalPager({str(self._file.path)!r})"

    async def page(self, request: PageRequest, now: datetime) -> Page:
        def change(doc: Document) -> Page:
            by_key = doc.setdefault("by_key", {})
            pages = doc.setdefault("pages", {})
            if request.key in by_key:
                return Page.model_validate(pages[by_key[request.key]])
            page = Page(**request.model_dump(), id=f"PAGE-{len(pages) + 1}", created_at=now)
            pages[page.id] = page.model_dump(mode="json")
            by_key[request.key] = page.id
            return page

        return await self._file.change(change)

    async def get(self, page_id: str) -> Page | None:
        raw = (await self._file.read()).get("pages", {}).get(page_id)
        return None if raw is None else Page.model_validate(raw)

    async def state(self, page_id: str) -> str | None:
        """``triggered``, ``acknowledged`` or ``resolved``; None for an unknown page."""
        doc = await self._file.read()
        if page_id not in doc.get("pages", {}):
            return None
        return str(doc.get("states", {}).get(page_id, "triggered"))

    async def acknowledge_incident(self, incident_id: str, now: datetime) -> list[str]:
        return await self._mark(incident_id, "acknowledged", ("triggered",))

    async def resolve_incident(self, incident_id: str, now: datetime) -> list[str]:
        return await self._mark(incident_id, "resolved", ("triggered", "acknowledged"))

    async def _mark(self, incident_id: str, state: str, from_states: tuple[str, ...]) -> list[str]:
        def change(doc: Document) -> list[str]:
            states = doc.setdefault("states", {})
            changed = [
                page_id
                for page_id, raw in doc.get("pages", {}).items()
                if raw["incident_id"] == incident_id
                and states.get(page_id, "triggered") in from_states
            ]
            states.update({page_id: state for page_id in changed})
            return changed

        return await self._file.change(change)

    async def all(self) -> list[Page]:
        doc = await self._file.read()
        return [Page.model_validate(p) for p in doc.get("pages", {}).values()]

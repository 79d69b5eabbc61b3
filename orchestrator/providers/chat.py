"""Telling the incident channel: one message per incident, then its updates beside it.

A :class:`ChatNotifier` posts an incident's first message (the root) and every later update as a
reply in that message's thread, where the chat can thread; each post is idempotent by its key (a
retried activity posts nothing twice). :class:`ChatRecord` is what a notifier remembers for that:
the root of each incident and the key of every post, in the state folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from orchestrator.providers.local_json import Document, LockedJsonFile


class ChatPost(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    incident_id: str
    ts: str | None
    """The chat's id of the message (Slack's ``ts``); None where the chat does not say (an
    incoming webhook answers ``ok`` only)."""
    thread: str | None = None
    """The root message this one replies to; None for a root or an unthreaded post."""


class ChatNotifier(Protocol):
    threads: bool
    """True when updates go in the root's thread; False: only roots and endings are posted."""

    async def post(self, incident_id: str, key: str, text: str, *, final: bool = False) -> ChatPost:
        """The incident's root message (its first post), else an update; ``final`` marks the
        incident's ending (also shown in the channel). The earlier post when ``key`` is known."""
        ...


class ChatRecord:
    """Roots and posted keys of one chat destination, in a JSON file (locked, replaced whole)."""

    def __init__(self, path: Path) -> None:
        self._file = LockedJsonFile(path, "chat record")

    async def posted(self, key: str) -> ChatPost | None:
        raw = (await self._file.read()).get("posts", {}).get(key)
        return None if raw is None else ChatPost.model_validate(raw)

    async def root(self, incident_id: str) -> str | None:
        """The incident's root message id ("" when the chat gave none); None before its first."""
        root = (await self._file.read()).get("roots", {}).get(incident_id)
        return None if root is None else str(root)

    async def keep(self, post: ChatPost) -> ChatPost:
        """Remember ``post`` (and, when it is the incident's first, its root); the post kept
        first when another attempt kept one under the same key meanwhile."""

        def change(doc: Document) -> ChatPost:
            posts = doc.setdefault("posts", {})
            if post.key not in posts:
                posts[post.key] = post.model_dump(mode="json")
                if post.thread is None:  # a root ("" where the chat gave no id)
                    doc.setdefault("roots", {}).setdefault(post.incident_id, post.ts or "")
            return ChatPost.model_validate(posts[post.key])

        return await self._file.change(change)

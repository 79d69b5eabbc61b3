"""A JSON document in the state folder that several processes read and change safely.

The local deployment, freeze, ticket, pager and safety providers keep their state this way: every
change runs under an exclusive ``fcntl`` lock on ``<file>.lock`` (read, change, write), and the file
is replaced atomically (temporary file in the same directory, fsync, ``os.replace``), so a reader
sees the old or the new document, never a partial one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.errors import ProviderError

T = TypeVar("T")
Document = dict[str, Any]


class LockedJsonFile:
    def __init__(self, path: Path, what: str) -> None:
        self.path = Path(path)
        self._what = what
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def __repr__(self) -> str:
        return f"LockedJsonFile({str(self.path)!r})"

    async def read(self) -> Document:
        return await asyncio.to_thread(self._locked_call, lambda doc: doc, False)

    async def change(self, fn: Callable[[Document], T]) -> T:
        """Run ``fn`` on the document under the lock; write it back if ``fn`` changed it."""
        return await asyncio.to_thread(self._locked_call, fn, True)

    def change_sync(self, fn: Callable[[Document], T]) -> T:
        return self._locked_call(fn, True)

    def _locked_call(self, fn: Callable[[Document], T], write: bool) -> T:
        with self._locked():
            doc = self._read()
            if not write:
                return fn(doc)
            before = json.dumps(doc, sort_keys=True)
            result = fn(doc)
            if json.dumps(doc, sort_keys=True) != before:
                self._write(doc)
            return result

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ProviderError(f"cannot lock the {self._what} at {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _read(self) -> Document:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ProviderError(f"cannot read the {self._what} at {self.path}: {exc}") from exc
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise ProviderError(
                f"the {self._what} at {self.path} is not valid JSON: {exc}", retryable=False
            ) from exc
        if not isinstance(doc, dict):
            raise ProviderError(
                f"the {self._what} at {self.path} is not an object", retryable=False
            )
        return doc

    def _write(self, doc: Document) -> None:
        text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise ProviderError(f"cannot write the {self._what} at {self.path}: {exc}") from exc

"""The local flag store: a JSON state file as source of truth, and the SDK file the LD SDK reads.

Every change runs under an exclusive ``fcntl`` lock on ``<state>.lock`` (read, apply, write), so
several tasks or processes never lose each other's updates. Both files are replaced atomically
(temporary file in the same directory, fsync, ``os.replace``), the SDK file after the state file,
so a reader sees either the old or the new JSON, never a partial one. A change with
``expect_version`` is checked against the stored version under the same lock, so it is a true
compare-and-set: a stale version raises :class:`~orchestrator.errors.FlagConflictError` and writes
nothing. The SDK file's mtime always
moves forward, because the SDK's file data source notices changes by mtime and filesystem clocks
are coarse (two writes in one tick would otherwise look like one).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pydantic

from orchestrator.domain.catalog import FlagSpec
from orchestrator.domain.flag_sdk import to_sdk_flag
from orchestrator.domain.flags import FlagState, Instruction, apply_instructions, new_flag_state
from orchestrator.errors import FlagConflictError, FlagProviderError, FlagRuleError

_SCHEMA = 1


class LocalFlagStore:
    """A :class:`~orchestrator.providers.flags.FlagProvider` over two local files."""

    def __init__(self, state_path: Path, sdk_path: Path) -> None:
        self.state_path = Path(state_path)
        self.sdk_path = Path(sdk_path)
        self._lock_path = self.state_path.with_name(self.state_path.name + ".lock")

    def __repr__(self) -> str:
        return (
            f"LocalFlagStore(state_path={str(self.state_path)!r}, sdk_path={str(self.sdk_path)!r})"
        )

    def ensure_flags(self, specs: Sequence[FlagSpec]) -> list[str]:
        """Seed flags missing from the store (never overwrite one); return the keys it added.

        Also rewrites the SDK file when it does not match the state file (first start, or a crash
        between the two writes).
        """
        with self._locked():
            flags = self._read_state()
            added = [s.key for s in specs if s.key not in flags]
            for spec in specs:
                flags.setdefault(spec.key, new_flag_state(spec))
            if added or not self.state_path.exists():
                self._write_state(flags)
            self._sync_sdk_file(flags)
        return added

    async def get_flag(self, key: str) -> FlagState:
        flags = await asyncio.to_thread(self._read_state)
        return _require(flags, key)

    async def apply(
        self,
        key: str,
        instructions: Sequence[Instruction],
        comment: str,
        *,
        expect_version: int | None = None,
    ) -> FlagState:
        """Apply the instructions atomically; write the files only if the flag changed.

        With ``expect_version``, refuse (FlagConflictError, nothing written) unless the stored
        flag has that version. The comment is not stored here: the audit history records the
        change and its reason.
        """
        return await asyncio.to_thread(self._apply_sync, key, list(instructions), expect_version)

    async def all_flags(self) -> dict[str, FlagState]:
        return await asyncio.to_thread(self._read_state)

    def _apply_sync(
        self, key: str, instructions: list[Instruction], expect_version: int | None
    ) -> FlagState:
        with self._locked():
            flags = self._read_state()
            before = _require(flags, key)
            if expect_version is not None and before.version != expect_version:
                raise FlagConflictError(
                    f"flag {key!r} is at version {before.version} in the local flag store, not"
                    f" {expect_version}: it changed since it was read",
                    expected_version=expect_version,
                    current_version=before.version,
                )
            try:
                after = apply_instructions(before, instructions)
                if after != before:
                    flags[key] = after
                    self._write_state(flags)
                self._sync_sdk_file(flags)
            except FlagRuleError as exc:
                raise FlagProviderError(str(exc), retryable=False) from exc
            return after

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _read_state(self) -> dict[str, FlagState]:
        try:
            raw = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise FlagProviderError(f"cannot read flag state {self.state_path}: {exc}") from exc
        try:
            data = json.loads(raw)
            return {k: FlagState.model_validate(v) for k, v in data["flags"].items()}
        except (ValueError, KeyError, TypeError, pydantic.ValidationError) as exc:
            raise FlagProviderError(
                f"flag state {self.state_path} is not valid: {exc}", retryable=False
            ) from exc

    def _write_state(self, flags: dict[str, FlagState]) -> None:
        data = {
            "schemaVersion": _SCHEMA,
            "flags": {k: v.model_dump(mode="json") for k, v in sorted(flags.items())},
        }
        _atomic_write(self.state_path, _dumps(data))

    def _sync_sdk_file(self, flags: dict[str, FlagState]) -> None:
        text = _dumps({"flags": {k: to_sdk_flag(v) for k, v in sorted(flags.items())}})
        with contextlib.suppress(OSError):
            if self.sdk_path.read_text(encoding="utf-8") == text:
                return
        _atomic_write(self.sdk_path, text, monotonic_mtime=True)


def _require(flags: dict[str, FlagState], key: str) -> FlagState:
    try:
        return flags[key]
    except KeyError:
        raise FlagProviderError(
            f"flag {key!r} does not exist in the local flag store (known: {sorted(flags)})",
            retryable=False,
        ) from None


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def _atomic_write(path: Path, text: str, *, monotonic_mtime: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        if monotonic_mtime:
            _bump_mtime(path, tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise FlagProviderError(f"cannot write {path}: {exc}") from exc
        raise
    _fsync_dir(path.parent)


def _bump_mtime(path: Path, tmp: str) -> None:
    """Give ``tmp`` an mtime strictly later than ``path``'s (1 ms at least)."""
    try:
        previous = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return
    stamp = max(time.time_ns(), previous + 1_000_000)
    os.utime(tmp, ns=(stamp, stamp))


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

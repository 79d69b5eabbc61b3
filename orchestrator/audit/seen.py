"""Seen webhook signatures: a verified signature is accepted once, whichever API replica gets it.

Each verified signature becomes one record ``sig:<source>:<sha256 of the signature>`` in the
``seen_signatures`` table of the audit database, through the compare-and-swap store of
:mod:`orchestrator.audit.holdings` (SQLite or PostgreSQL, like the rest of the audit data).
Creating the record is the atomic "first time?": of two replicas given the same signature at the
same moment, exactly one creates it; the other is told it is a replay.

A record is kept for twice the timestamp window: a signed timestamp may lie up to one window ahead
of the clock, so its signature stays acceptable for two windows after it was first used. Older
records are swept at most once a minute (by every replica, whichever comes first) and are treated as
absent even before the sweep. The caller records only signatures it has verified, so
unauthenticated posts cannot fill the table. Stored: a digest and the time, never the body.

Every failure (database unreachable, no answer within ``timeout_seconds``) is an
:class:`~orchestrator.errors.AuditError`: the caller refuses the delivery rather than accept a
signature it could not check.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import TypeVar

import structlog

from orchestrator.audit.factory import open_holding_store
from orchestrator.audit.holdings import HoldingStore
from orchestrator.audit.model import iso_utc
from orchestrator.errors import AuditError, ConfigError

SEEN_SIGNATURES_TABLE = "seen_signatures"
T = TypeVar("T")
_log = structlog.get_logger("orchestrator.audit.seen")


class SeenSignatures:
    """The replay cache of the ingest service (``first_use``), shared through ``store``."""

    def __init__(
        self,
        store: HoldingStore,
        *,
        window_seconds: float,
        timeout_seconds: float = 5.0,
        sweep_every_seconds: float = 60.0,
    ) -> None:
        if window_seconds <= 0 or timeout_seconds <= 0:
            raise ConfigError("the signature window and timeout must be positive")
        self._store = store
        self.retention = timedelta(seconds=2 * window_seconds)
        """How long a signature is remembered: twice the timestamp window."""
        self._timeout = timeout_seconds
        self._sweep_every = timedelta(seconds=sweep_every_seconds)
        self._last_sweep: datetime | None = None

    def __repr__(self) -> str:
        return f"SeenSignatures({self._store!r}, retention={self.retention})"

    @staticmethod
    def target(source: str, signature_hex: str) -> str:
        digest = hashlib.sha256(signature_hex.encode("utf-8")).hexdigest()
        return f"sig:{source}:{digest}"

    async def first_use(self, source: str, signature_hex: str, now: datetime) -> bool:
        """Record a verified signature; False if it is already recorded (a replay)."""
        first = await self._ask(self._record(self.target(source, signature_hex), now))
        await self._sweep(now)
        return first

    async def release(self, source: str, signature_hex: str) -> None:
        """Forget a signature whose delivery failed on our side, so the sender may retry it."""
        await self._ask(self._forget(self.target(source, signature_hex)))

    async def close(self) -> None:
        await self._store.close()

    async def _record(self, target: str, now: datetime) -> bool:
        body = {"at": iso_utc(now)}
        if await self._store.put(target, body, expect_version=0) is not None:
            return True
        held = await self._store.get(target)
        if held is None:  # swept between the two calls: not seen any more
            return await self._store.put(target, body, expect_version=0) is not None
        if held.updated_at >= now - self.retention:
            return False
        # Older than the retention and not swept yet: forgotten, like a swept one.
        return await self._store.put(target, body, expect_version=held.version) is not None

    async def _forget(self, target: str) -> None:
        held = await self._store.get(target)
        if held is not None:
            await self._store.delete(target, expect_version=held.version)

    async def _sweep(self, now: datetime) -> None:
        if self._last_sweep is not None and abs(now - self._last_sweep) < self._sweep_every:
            return
        self._last_sweep = now
        try:
            swept = await self._ask(self._store.expire(now - self.retention))
        except AuditError as exc:  # the signature is recorded; the sweep is retried later
            _log.warning("seen-signature sweep failed", error=str(exc))
            return
        if swept:
            _log.debug("seen signatures swept", swept=swept)

    async def _ask(self, work: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await work
        except TimeoutError as exc:
            raise AuditError(
                f"the seen-signature store did not answer within {self._timeout:g} s"
            ) from exc
        except OSError as exc:
            raise AuditError(f"the seen-signature store failed: {exc}") from exc


def open_seen_signatures(url: str, *, window_seconds: float) -> SeenSignatures:
    """The replay cache in the audit database ``url`` names (connected on first use)."""
    store = open_holding_store(url, table=SEEN_SIGNATURES_TABLE)
    return SeenSignatures(store, window_seconds=window_seconds)


__all__ = ["SEEN_SIGNATURES_TABLE", "SeenSignatures", "open_seen_signatures"]

"""The generic outgoing webhook: an incident's notices POSTed as signed JSON to one URL.

For anything that is not a chat or a pager (a status page, an internal bus, a ticket router): each
notice the incident channel would get (:mod:`orchestrator.activities.updates`: the opening, the
decisions and effects, approvals, the ending) is one ``POST`` of a JSON object (:class:`Notice`)
with three headers:

* ``X-Orchestrator-Event-Id``: the notice's id (its audit event's key), the same on every retry,
  so a receiver drops repeats;
* ``X-Orchestrator-Timestamp``: Unix seconds when this attempt was signed;
* ``X-Orchestrator-Signature``: ``sha256=`` and the hex HMAC-SHA256 of ``"<timestamp>:" + body``
  with the shared secret: the scheme the ingest edge verifies (:mod:`orchestrator.domain.
  signatures`), so a receiver verifies with the same function and refuses stale timestamps.

Any 2xx is delivered. 429 (its ``Retry-After``), 408, 5xx, timeouts and broken connections are
tried again (``attempts`` in all, each attempt signed anew, same event id), waiting the
``Retry-After`` or a short backoff; a wait longer than ``max_wait`` seconds gives up at once (the
notices run beside the audit write within a few seconds). Every other 4xx is refused for good. A
delivered id is recorded in the state folder, so a retried audit activity sends nothing twice.
The secret is a :class:`~orchestrator.secrets.Secret`: never in a log line, record or message.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict

from orchestrator.domain.signatures import signed_headers
from orchestrator.errors import ProviderError, RateLimitedError
from orchestrator.providers.http_api import HttpSender
from orchestrator.providers.local_json import Document, LockedJsonFile
from orchestrator.secrets import Secret

SIGNATURE_HEADER = "X-Orchestrator-Signature"
TIMESTAMP_HEADER = "X-Orchestrator-Timestamp"
EVENT_ID_HEADER = "X-Orchestrator-Event-Id"


class Notice(BaseModel):
    """What one POST carries (its JSON body)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """The audit event's key: unique per notice, the same on every retry."""
    type: str
    """The audit kind: ``incident_opened``, ``effect_applied``, ``approval_requested``..."""
    title: str
    """A few words on what happened (``opened``, ``approval needed``, ``resolved``)."""
    incident_id: str
    service: str
    slo: str
    summary: str
    at: str
    """When it happened (ISO 8601, UTC)."""
    final: bool = False
    """The incident's ending (resolved, closed, aborted)."""
    link: str | None = None
    """The incident record in the operator API, with ORCHESTRATOR_LINK_BASE_URL."""


class SignedWebhook:
    """Sends :class:`Notice` objects to one URL, signed (see the module docstring)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        secret: Secret,
        record: Path,
        attempts: int = 3,
        max_wait: float = 5.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not secret:
            raise ValueError("a signed webhook needs a secret")
        self._url = url
        self._secret = secret
        self._send = HttpSender(http, "webhook", (secret,), clock=clock, rate_limit_cap=max_wait)
        self._record = LockedJsonFile(record, "webhook deliveries")
        self._attempts = max(1, attempts)
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"SignedWebhook({self._send.scrub(self._url)!r})"

    async def send(self, notice: Notice) -> bool:
        """Deliver ``notice``; False when it was delivered before (nothing sent). ProviderError
        (retryable or not) when every attempt failed."""
        if notice.id in (await self._record.read()).get("delivered", {}):
            return False
        body = json.dumps(notice.model_dump(mode="json"), separators=(",", ":")).encode()
        for attempt in range(1, self._attempts + 1):
            try:
                await self._post(notice.id, body)
                break
            except ProviderError as exc:
                wait = self._wait(exc, attempt)
                if wait is None:
                    raise
                await self._sleep(wait)

        def keep(doc: Document) -> None:
            doc.setdefault("delivered", {}).setdefault(notice.id, notice.at)

        await self._record.change(keep)
        return True

    async def _post(self, event_id: str, body: bytes) -> None:
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: event_id,
            **signed_headers(
                self._secret,
                body,
                self._clock(),
                signature_header=SIGNATURE_HEADER,
                timestamp_header=TIMESTAMP_HEADER,
            ),
        }
        what = f"POST {event_id!r}"
        response = await self._send.post(self._url, what, content=body, headers=headers)
        self._send.raise_for_status(response, what, response.text)

    def _wait(self, exc: ProviderError, attempt: int) -> float | None:
        """Seconds before the next attempt; None to give up (refused, the last attempt, or a
        Retry-After longer than ``max_wait``)."""
        if not exc.retryable or attempt >= self._attempts:
            return None
        if isinstance(exc, RateLimitedError) and exc.retry_after_seconds is not None:
            asked = exc.retry_after_seconds
            return asked if asked <= self._max_wait else None
        return min(self._max_wait, 0.5 * 2.0 ** (attempt - 1))

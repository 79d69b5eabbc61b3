"""A local receiver of the signed outgoing webhook, as a careful receiver would write it.

``POST /hooks/incidents`` with a JSON body: the timestamp header must be within the window of the
receiver's clock (else 401, a stale or replayed delivery), the signature must verify with the
shared verifier (:func:`orchestrator.domain.signatures.verify`; else 401), and an event id seen
before is answered 200 ``{"duplicate": true}`` without being taken again. Taken notices are kept
in :attr:`notices`. Failures, hangs and rate limits (``budget``: 429 with ``Retry-After``) are
injected as the base allows.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from orchestrator.domain.signatures import SignatureError, check_timestamp, verify
from orchestrator.providers.signed_webhook import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from orchestrator.secrets import Secret
from tests.providers.fake_http import FakeHttpServer, Reply, Request

PATH = "/hooks/incidents"


class FakeNoticeReceiver(FakeHttpServer):
    def __init__(
        self,
        secret: str,
        *,
        window: int = 300,
        budget: int | None = None,
        window_seconds: float = 1.0,
    ) -> None:
        super().__init__(budget=budget, window_seconds=window_seconds)
        self.secret = secret
        self.window = window
        self.notices: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.refusals: list[str] = []
        self.duplicates = 0
        self._changed = threading.Condition(self.lock)

    @property
    def hook_url(self) -> str:
        return f"{self.url}{PATH}"

    def wait_for_duplicates(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` repeats were dropped (late copies of hung requests)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.duplicates >= count, timeout)

    def admit(self, request: Request) -> Reply | None:
        try:
            stamp = check_timestamp(
                request.headers.get(TIMESTAMP_HEADER, ""),
                name=TIMESTAMP_HEADER,
                window=self.window,
                now=time.time(),
            )
            verify(
                request.headers.get(SIGNATURE_HEADER, ""),
                request.body,
                (Secret(self.secret),),
                stamp,
                name=SIGNATURE_HEADER,
            )
        except SignatureError as exc:
            self.refusals.append(str(exc))
            return Reply(401, {"error": str(exc)})
        wait = self.over_budget()
        if wait is not None:
            return Reply(429, {"error": "slow down"}, {"Retry-After": str(wait)})
        return None

    def handle(self, request: Request) -> Reply:
        if request.method != "POST" or request.path != PATH:
            return Reply(404, {"error": "no such hook"})
        event_id = request.headers.get(EVENT_ID_HEADER, "")
        if not event_id:
            return Reply(400, {"error": f"missing {EVENT_ID_HEADER}"})
        if event_id in self.seen:
            self.duplicates += 1
            self._changed.notify_all()
            return Reply(200, {"duplicate": True})
        try:
            notice = request.json()
        except ValueError:
            return Reply(400, {"error": "body is not JSON"})
        if not isinstance(notice, dict) or notice.get("id") != event_id:
            return Reply(422, {"error": "the body's id is not the event id"})
        self.seen.add(event_id)
        self.notices.append(notice)
        return Reply(200, {"ok": True})

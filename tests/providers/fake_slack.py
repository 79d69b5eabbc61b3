"""A local stand-in for Slack: ``chat.postMessage`` of the Web API and an incoming webhook, as
Slack documents them.

``POST /api/chat.postMessage`` with ``Authorization: Bearer <token>`` and a JSON (or form) body:
HTTP 200 with ``{"ok": true, "channel", "ts", "message"}``, or 200 ``{"ok": false, "error": ...}``
(``not_authed``, ``invalid_auth``, ``channel_not_found``, ``is_archived``, ``no_text``,
``msg_too_long``); HTTP 429 ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After`` past
``budget`` messages in ``window_seconds``. ``thread_ts`` makes a reply, ``reply_broadcast``
shows it in the channel too.

``POST /services/<webhook path>`` with a JSON body: 200 ``ok`` (text/plain); 400
``invalid_payload`` or ``no_text``; 404 ``no_service`` for a path no webhook has; 410
``channel_is_archived``; 429 with ``Retry-After``. Failures and hangs are injected as the base
allows.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tests.providers.fake_http import FakeHttpServer, Reply, Request

MAX_TEXT = 40_000


@dataclass(frozen=True)
class Message:
    channel: str
    ts: str
    text: str
    thread_ts: str | None = None
    reply_broadcast: bool = False


class FakeSlack(FakeHttpServer):
    def __init__(
        self,
        *,
        bot_token: str = "",
        channels: set[str] = frozenset(),  # type: ignore[assignment]
        webhooks: dict[str, str] | None = None,
        budget: int | None = None,
        window_seconds: float = 1.0,
    ) -> None:
        super().__init__(budget=budget, window_seconds=window_seconds)
        self.bot_token = bot_token
        self.channels = set(channels)
        self.archived: set[str] = set()
        self.webhooks = dict(webhooks or {})  # path after /services/ -> channel
        self.messages: list[Message] = []
        self._ts = itertools.count(1)

    def webhook_url(self, path: str) -> str:
        return f"{self.url}/services/{path}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def roots(self) -> list[Message]:
        return [m for m in self.messages if m.thread_ts is None]

    def handle(self, request: Request) -> Reply:
        if request.method != "POST":
            return Reply(405, "method_not_allowed")
        if request.path == "/api/chat.postMessage":
            return self._post_message(request)
        if request.path.startswith("/services/"):
            return self._webhook(request)
        return Reply(404, {"ok": False, "error": "unknown_method"})

    def _post_message(self, request: Request) -> Reply:
        args = _arguments(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or args.get(
            "token", ""
        )
        if not token:
            return _refused("not_authed")
        if token != self.bot_token:
            return _refused("invalid_auth")
        channel = str(args.get("channel") or "")
        if channel not in self.channels:
            return _refused("channel_not_found")
        if channel in self.archived:
            return _refused("is_archived")
        text = str(args.get("text") or "")
        if not text and not args.get("blocks"):
            return _refused("no_text")
        if len(text) > MAX_TEXT:
            return _refused("msg_too_long")
        limited = self._rate_limited({"ok": False, "error": "ratelimited"})
        if limited is not None:
            return limited
        thread = args.get("thread_ts") or None
        broadcast = args.get("reply_broadcast") in (True, "true", "1")
        message = Message(channel, self._next_ts(), text, thread, broadcast)
        self.messages.append(message)
        shown: dict[str, Any] = {"type": "message", "text": text, "ts": message.ts}
        if thread:
            shown["thread_ts"] = thread
        return Reply(200, {"ok": True, "channel": channel, "ts": message.ts, "message": shown})

    def _webhook(self, request: Request) -> Reply:
        channel = self.webhooks.get(request.path.removeprefix("/services/"))
        if channel is None:
            return Reply(404, "no_service")
        try:
            body = request.json()
        except ValueError:
            return Reply(400, "invalid_payload")
        if not isinstance(body, dict):
            return Reply(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return Reply(400, "no_text")
        if channel in self.archived:
            return Reply(410, "channel_is_archived")
        limited = self._rate_limited("rate_limited")
        if limited is not None:
            return limited
        self.messages.append(Message(channel, self._next_ts(), str(body.get("text") or "")))
        return Reply(200, "ok")

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _rate_limited(self, body: Any) -> Reply | None:
        wait = self.over_budget()
        return None if wait is None else Reply(429, body, {"Retry-After": str(wait)})


def _refused(error: str) -> Reply:
    return Reply(200, {"ok": False, "error": error})


def _arguments(request: Request) -> dict[str, Any]:
    kind = request.headers.get("Content-Type", "")
    if kind.startswith("application/json"):
        try:
            body = request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    return dict(parse_qsl(request.body.decode(errors="replace")))

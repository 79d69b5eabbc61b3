"""Slack as the incident channel: ``chat.postMessage`` with a bot token, or an incoming webhook.

With a **bot token** (scope ``chat:write`` only): ``POST {api}/chat.postMessage`` with
``Authorization: Bearer xoxb-...`` and a JSON body (``channel``, ``text``, and ``thread_ts`` of
the incident's root message for an update; ``reply_broadcast`` for the ending, so the channel
sees it). Slack answers HTTP 200 with ``{"ok": true, "channel", "ts", "message"}``, or
``{"ok": false, "error": "channel_not_found"}`` and the like (permanent, except Slack's own
``internal_error``, ``fatal_error``, ``service_unavailable``, ``request_timeout`` and
``ratelimited``: retried); HTTP 429 with ``Retry-After`` when rate limited; 5xx retried.

With an **incoming webhook** (one channel, chosen when the webhook is made): ``POST`` the JSON
``{"text": ...}`` to its URL; Slack answers 200 ``ok``, or an error as plain text (400
``invalid_payload`` / ``no_text``, 403 ``action_prohibited``, 404 ``channel_not_found`` /
``no_service``, 410 ``channel_is_archived``: permanent), 429 with ``Retry-After``, 5xx. A
webhook's answer carries no message id, so its posts cannot thread: :attr:`threads` is False and
only an incident's first message and its ending are posted (not a flood).

The webhook URL (its path is the credential) and the bot token are
:class:`~orchestrator.secrets.Secret` values: never in a log line, a record or a message. Chat
has no idempotency key: a post is recorded once Slack answered, so a retry after an answer posts
nothing twice; a post that timed out after Slack took it may show twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from orchestrator.errors import ProviderError
from orchestrator.providers.chat import ChatPost, ChatRecord
from orchestrator.providers.http_api import HttpSender, json_object
from orchestrator.secrets import Secret

API_URL = "https://slack.com/api"
RETRYABLE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
MAX_TEXT = 3000


class SlackNotifier:
    """A :class:`~orchestrator.providers.chat.ChatNotifier` over Slack."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        record: Path,
        webhook_url: Secret | None = None,
        bot_token: Secret | None = None,
        channel: str = "",
        api_url: str = API_URL,
        clock: Callable[[], float] = time.time,
        rate_limit_cap: float = 60.0,
    ) -> None:
        if (webhook_url is None) == (bot_token is None) or (bot_token and not channel):
            raise ValueError("a Slack notifier needs a webhook URL, or a bot token and a channel")
        self._webhook = webhook_url
        self._token = bot_token
        self._channel = channel
        self._api = api_url.rstrip("/")
        secrets = tuple(s for s in (webhook_url, bot_token) if s is not None)
        self._send = HttpSender(http, "Slack", secrets, clock=clock, rate_limit_cap=rate_limit_cap)
        self._record = ChatRecord(record)
        self.threads = bot_token is not None

    def __repr__(self) -> str:
        how = "bot token" if self.threads else "incoming webhook"
        return f"SlackNotifier({how}, channel={self._channel or '(the webhook channel)'!r})"

    async def post(self, incident_id: str, key: str, text: str, *, final: bool = False) -> ChatPost:
        known = await self._record.posted(key)
        if known is not None:
            return known
        root = await self._record.root(incident_id)
        text = text[:MAX_TEXT]
        if self._token is None:
            await self._post_webhook(key, text)
            post = ChatPost(key=key, incident_id=incident_id, ts=None)
        else:
            thread = root or None
            ts = await self._post_message(key, text, thread, broadcast=final and thread is not None)
            post = ChatPost(key=key, incident_id=incident_id, ts=ts, thread=thread)
        return await self._record.keep(post)

    async def _post_webhook(self, key: str, text: str) -> None:
        assert self._webhook is not None
        what = f"webhook post {key!r}"
        response = await self._send.post(self._webhook.reveal(), what, json={"text": text})
        self._send.raise_for_status(response, what, response.text)

    async def _post_message(
        self, key: str, text: str, thread: str | None, *, broadcast: bool
    ) -> str:
        assert self._token is not None
        what = f"chat.postMessage {key!r} to {self._channel}"
        body: dict[str, Any] = {"channel": self._channel, "text": text, "unfurl_links": False}
        if thread is not None:
            body["thread_ts"] = thread
            if broadcast:
                body["reply_broadcast"] = True
        headers = {
            "Authorization": f"Bearer {self._token.reveal()}",
            "Content-Type": "application/json; charset=utf-8",
        }
        response = await self._send.post(
            f"{self._api}/chat.postMessage", what, json=body, headers=headers
        )
        answer = json_object(response)
        self._send.raise_for_status(response, what, str(answer.get("error") or response.text))
        if answer.get("ok") is not True or not isinstance(answer.get("ts"), str):
            error = str(answer.get("error") or "no ok and ts in the answer")
            raise ProviderError(
                f"Slack {what}: {self._send.scrub(error)[:200]}",
                retryable=error in RETRYABLE_ERRORS,
            )
        ts: str = answer["ts"]
        return ts

"""The Slack notifier through its real HTTP adapter (httpx) against the local Slack
(tests/providers/fake_slack.py): one root message per incident and its updates in the thread
(bot token), roots and endings only (webhook), idempotent repeats, each documented error class,
a timeout, and neither the bot token nor the webhook path in any log, record or message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import structlog

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.errors import PERMANENT_ERROR_TYPE, ProviderError, RateLimitedError
from orchestrator.providers.slack import SlackNotifier
from orchestrator.secrets import Secret
from tests.providers.fake_http import Reply
from tests.providers.fake_slack import FakeSlack

BOT_TOKEN = "xoxb-1234567890-0987654321-S3cr3tB0tT0k3nValue"
HOOK_PATH = "T0SECRET1/B0SECRET2/W3bh00kS3cr3tPathValue"
CHANNEL = "C0INCIDENTS"
INCIDENT = "incident-support-assistant--language-gap@language=es"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    server = FakeSlack(
        bot_token=BOT_TOKEN, channels={CHANNEL, "C0ARCHIVED"}, webhooks={HOOK_PATH: CHANNEL}
    )
    with server.running():
        yield server


def bot(http: httpx.AsyncClient, fake: FakeSlack, folder: Path, **kw: str) -> SlackNotifier:
    return SlackNotifier(
        http,
        record=folder / "slack.json",
        bot_token=Secret(kw.get("token", BOT_TOKEN)),
        channel=kw.get("channel", CHANNEL),
        api_url=fake.api_url,
    )


def webhook(
    http: httpx.AsyncClient, fake: FakeSlack, folder: Path, path: str = HOOK_PATH
) -> SlackNotifier:
    return SlackNotifier(
        http, record=folder / "slack.json", webhook_url=Secret(fake.webhook_url(path))
    )


def records(folder: Path) -> list[str]:
    return [p.read_text() for p in folder.rglob("*.json")]


async def test_one_root_per_incident_then_thread_replies(
    http: httpx.AsyncClient, fake: FakeSlack, tmp_path: Path
) -> None:
    slack = bot(http, fake, tmp_path)
    root = await slack.post(INCIDENT, "k/opened", "opened: Spanish task success 0.85")
    reply = await slack.post(INCIDENT, "k/effect", "routed es to the human queue")
    end = await slack.post(INCIDENT, "k/resolved", "resolved", final=True)
    other = await slack.post("another", "o/opened", "opened")
    assert root.thread is None and reply.thread == root.ts and end.thread == root.ts
    assert other.thread is None and other.ts != root.ts
    assert [m.thread_ts for m in fake.messages] == [None, root.ts, root.ts, None]
    assert [m.reply_broadcast for m in fake.messages] == [False, False, True, False]
    assert len(fake.roots()) == 2  # one message in the channel per incident
    request = fake.requests[0]
    assert request.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"


async def test_a_repeat_posts_nothing(
    http: httpx.AsyncClient, fake: FakeSlack, tmp_path: Path
) -> None:
    slack = bot(http, fake, tmp_path)
    first = await slack.post(INCIDENT, "k/opened", "opened")
    assert await slack.post(INCIDENT, "k/opened", "opened") == first
    hook = webhook(http, fake, tmp_path / "hook")
    await hook.post(INCIDENT, "k/opened", "opened")
    await hook.post(INCIDENT, "k/opened", "opened")
    assert len(fake.messages) == 2 and len(fake.requests) == 2


async def test_a_webhook_posts_to_its_channel_without_threads(
    http: httpx.AsyncClient, fake: FakeSlack, tmp_path: Path
) -> None:
    hook = webhook(http, fake, tmp_path)
    assert not hook.threads
    post = await hook.post(INCIDENT, "k/opened", "opened")
    assert post.ts is None and post.thread is None
    assert fake.messages[0].channel == CHANNEL and fake.messages[0].text == "opened"


@pytest.mark.parametrize(
    ("kw", "error"),
    [({"token": "xoxb-wrong"}, "invalid_auth"), ({"channel": "C0NOWHERE"}, "channel_not_found")],
)
async def test_web_api_refusals_are_permanent(
    http: httpx.AsyncClient, fake: FakeSlack, tmp_path: Path, kw: dict[str, str], error: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        await bot(http, fake, tmp_path, **kw).post(INCIDENT, "k", "text")
    assert not caught.value.retryable and error in str(caught.value)
    assert permanent_or_retryable(caught.value).type == PERMANENT_ERROR_TYPE


async def test_slacks_own_transient_errors_are_retried(
    http: httpx.AsyncClient, fake: FakeSlack, tmp_path: Path
) -> None:
    fake.fail_next(Reply(200, {"ok": False, "error": "internal_error"}))
    slack = bot(http, fake, tmp_path)
    with pytest.raises(ProviderError) as caught:
        await slack.post(INCIDENT, "k", "text")
    assert caught.value.retryable
    await slack.post(INCIDENT, "k", "text")
    assert len(fake.messages) == 1


@pytest.mark.parametrize(("path", "status", "words"), [("T0/B0/unknown", 404, "no_service")])
async def test_webhook_refusals_are_permanent(
    http: httpx.AsyncClient, fake: FakeSlack, tmp_path: Path, path: str, status: int, words: str
) -> None:
    fake.archived.add(CHANNEL)
    for hook, expected in (
        (webhook(http, fake, tmp_path, path), (status, words)),
        (webhook(http, fake, tmp_path), (410, "channel_is_archived")),
    ):
        with pytest.raises(ProviderError) as caught:
            await hook.post(INCIDENT, "k", "text")
        assert not caught.value.retryable
        assert f"HTTP {expected[0]}: {expected[1]}" in str(caught.value)


async def test_429_waits_what_retry_after_says(http: httpx.AsyncClient, tmp_path: Path) -> None:
    server = FakeSlack(bot_token=BOT_TOKEN, channels={CHANNEL}, budget=1, window_seconds=30)
    with server.running():
        slack = bot(http, server, tmp_path)
        await slack.post(INCIDENT, "k1", "one")
        with pytest.raises(RateLimitedError) as caught:
            await slack.post(INCIDENT, "k2", "two")
    assert 1 <= (caught.value.retry_after_seconds or 0) <= 30
    assert "ratelimited" in str(caught.value)
    delay = permanent_or_retryable(caught.value).next_retry_delay
    assert delay == timedelta(seconds=caught.value.retry_after_seconds or 0)


@pytest.mark.parametrize("make", [bot, webhook])
async def test_5xx_and_a_timeout_are_retried(
    http: httpx.AsyncClient, fake: FakeSlack, tmp_path: Path, make: object
) -> None:
    fake.fail_next(Reply(503, "service_unavailable"))
    slack = make(http, fake, tmp_path)  # type: ignore[operator]
    with pytest.raises(ProviderError) as caught:
        await slack.post(INCIDENT, "k", "text")
    assert caught.value.retryable and "HTTP 503" in str(caught.value)
    fake.hang_next(1.0)
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        with pytest.raises(ProviderError) as timed_out:
            await make(impatient, fake, tmp_path).post(INCIDENT, "k", "text")  # type: ignore[operator]
    assert timed_out.value.retryable and "Timeout" in str(timed_out.value)
    assert not permanent_or_retryable(timed_out.value).non_retryable


async def test_no_token_or_webhook_path_in_any_log_record_or_message(
    http: httpx.AsyncClient, fake: FakeSlack, tmp_path: Path
) -> None:
    secrets = (BOT_TOKEN, HOOK_PATH, HOOK_PATH.split("/")[-1])
    echo = f"refused {fake.webhook_url(HOOK_PATH)} with token={BOT_TOKEN} {BOT_TOKEN}"
    texts: list[str] = []
    notifiers = (bot(http, fake, tmp_path / "bot"), webhook(http, fake, tmp_path / "hook"))
    with structlog.testing.capture_logs() as logs:
        for n, slack in enumerate(notifiers):
            await slack.post(INCIDENT, "ok", "fine")
            for reply in (
                Reply(400, echo),
                Reply(503, echo),
                Reply(429, echo),
                *([Reply(200, {"ok": False, "error": echo})] if slack.threads else []),
            ):
                fake.fail_next(reply)
                with pytest.raises(ProviderError) as caught:
                    await slack.post(INCIDENT, f"k{n}{reply.status}", "text")
                failure = permanent_or_retryable(caught.value)
                texts += [str(caught.value), repr(caught.value), str(failure)]
            texts.append(repr(slack))
        async with httpx.AsyncClient(timeout=0.3) as impatient:
            fake.hang_next(1.0)
            with pytest.raises(ProviderError) as timed_out:
                await webhook(impatient, fake, tmp_path / "x").post(INCIDENT, "slow", "text")
        texts.append(str(timed_out.value))
    texts += [str(logs), *records(tmp_path)]
    leaks = [(s, t) for s in secrets for t in texts if s in t]
    assert not leaks, leaks

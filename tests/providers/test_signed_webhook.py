"""The generic outgoing webhook through its real HTTP adapter (httpx) against a local receiver
(tests/providers/fake_notice_receiver.py) that verifies each delivery with the shared verifier and
refuses stale timestamps: delivery, repeats (same event id, dropped by the receiver), each
documented error class, a timeout, a 429 with Retry-After, and no secret anywhere."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import structlog

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.activities.updates import IncidentUpdates
from orchestrator.audit.model import AuditEvent, AuditKind
from orchestrator.domain.signatures import signature
from orchestrator.errors import PERMANENT_ERROR_TYPE, ProviderError, RateLimitedError
from orchestrator.providers.signed_webhook import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Notice,
    SignedWebhook,
)
from orchestrator.secrets import Secret
from tests.providers.fake_http import Reply, Waits
from tests.providers.fake_notice_receiver import FakeNoticeReceiver

SECRET = "wh-S3cr3tHmacKeyForTheOutgoingWebhook-9f8e7d"
INCIDENT = "incident-support-assistant--language-gap@language=es"


def notice(n: int = 1) -> Notice:
    return Notice(
        id=f"{INCIDENT}/run/{n}/effect_applied",
        type="effect_applied",
        title="done",
        incident_id=INCIDENT,
        service="support-assistant",
        slo="language-gap",
        summary="prompt pinned v42 -> v41",
        at="2026-12-06T03:00:00+00:00",
    )


@pytest.fixture
def receiver() -> Iterator[FakeNoticeReceiver]:
    fake = FakeNoticeReceiver(SECRET)
    with fake.running():
        yield fake


def hook(
    http: httpx.AsyncClient,
    receiver: FakeNoticeReceiver,
    folder: Path,
    *,
    secret: str = SECRET,
    clock: float = 0.0,
    waits: Waits | None = None,
    attempts: int = 3,
) -> SignedWebhook:
    return SignedWebhook(
        http,
        url=receiver.hook_url,
        secret=Secret(secret),
        record=folder / "webhook.json",
        attempts=attempts,
        clock=lambda: time.time() + clock,
        sleep=waits if waits is not None else Waits(),
    )


async def test_a_notice_arrives_signed_with_its_event_id(
    http: httpx.AsyncClient, receiver: FakeNoticeReceiver, tmp_path: Path
) -> None:
    assert await hook(http, receiver, tmp_path).send(notice()) is True
    assert receiver.notices == [notice().model_dump(mode="json")]
    [request] = receiver.requests
    assert request.headers[EVENT_ID_HEADER] == notice().id
    stamp = request.headers[TIMESTAMP_HEADER]
    assert request.headers[SIGNATURE_HEADER] == "sha256=" + signature(SECRET, request.body, stamp)
    assert request.headers["Content-Type"] == "application/json"


async def test_a_repeat_sends_nothing_and_another_hosts_repeat_is_dropped(
    http: httpx.AsyncClient, receiver: FakeNoticeReceiver, tmp_path: Path
) -> None:
    first = hook(http, receiver, tmp_path / "a")
    assert await first.send(notice()) is True
    assert await first.send(notice()) is False  # recorded: not sent again
    assert len(receiver.requests) == 1
    await hook(http, receiver, tmp_path / "b").send(notice())  # a host with its own record
    assert len(receiver.requests) == 2 and len(receiver.notices) == 1  # the receiver dropped it


async def test_5xx_and_408_are_retried_with_the_same_event_id(
    http: httpx.AsyncClient, receiver: FakeNoticeReceiver, tmp_path: Path
) -> None:
    receiver.fail_next(Reply(503, "unavailable"))
    receiver.fail_next(Reply(408, "request timeout"))
    waits = Waits()
    assert await hook(http, receiver, tmp_path, waits=waits).send(notice())
    assert [r.headers[EVENT_ID_HEADER] for r in receiver.requests] == [notice().id] * 3
    assert waits == [0.5, 1.0] and len(receiver.notices) == 1


async def test_5xx_on_every_attempt_is_retryable(
    http: httpx.AsyncClient, receiver: FakeNoticeReceiver, tmp_path: Path
) -> None:
    receiver.fail_next(Reply(502, "bad gateway"), times=3)
    with pytest.raises(ProviderError) as caught:
        await hook(http, receiver, tmp_path).send(notice())
    assert caught.value.retryable and "HTTP 502" in str(caught.value)
    assert len(receiver.requests) == 3 and not receiver.notices
    assert await hook(http, receiver, tmp_path).send(notice())  # not recorded as delivered


async def test_429_waits_what_retry_after_says(
    http: httpx.AsyncClient, receiver: FakeNoticeReceiver, tmp_path: Path
) -> None:
    receiver.fail_next(Reply(429, {"error": "slow down"}, {"Retry-After": "2"}))
    waits = Waits()
    assert await hook(http, receiver, tmp_path, waits=waits).send(notice())
    assert waits == [2.0] and len(receiver.notices) == 1


async def test_a_long_retry_after_gives_up_at_once(http: httpx.AsyncClient, tmp_path: Path) -> None:
    receiver = FakeNoticeReceiver(SECRET, budget=1, window_seconds=60)
    with receiver.running():
        await hook(http, receiver, tmp_path).send(notice(1))
        waits = Waits()
        with pytest.raises(RateLimitedError) as caught:
            await hook(http, receiver, tmp_path, waits=waits).send(notice(2))
    assert waits == [] and len(receiver.requests) == 2
    assert 5 < (caught.value.retry_after_seconds or 0) <= 60


@pytest.mark.parametrize(
    ("fault", "status"), [(Reply(400, {"error": "bad"}), 400), (Reply(404, "no hook"), 404)]
)
async def test_other_4xx_are_refused_without_a_retry(
    http: httpx.AsyncClient,
    receiver: FakeNoticeReceiver,
    tmp_path: Path,
    fault: Reply,
    status: int,
) -> None:
    receiver.fail_next(fault)
    with pytest.raises(ProviderError) as caught:
        await hook(http, receiver, tmp_path).send(notice())
    assert not caught.value.retryable and f"HTTP {status}" in str(caught.value)
    assert permanent_or_retryable(caught.value).type == PERMANENT_ERROR_TYPE
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"secret": "another-secret"}, "does not match the request body"),
        ({"clock": -600.0}, "too old"),  # a sender's clock ten minutes behind: a stale delivery
    ],
)
async def test_the_receiver_refuses_a_wrong_signature_or_a_stale_timestamp(
    http: httpx.AsyncClient,
    receiver: FakeNoticeReceiver,
    tmp_path: Path,
    kw: dict[str, object],
    why: str,
) -> None:
    with pytest.raises(ProviderError) as caught:
        await hook(http, receiver, tmp_path, **kw).send(notice())  # type: ignore[arg-type]
    assert not caught.value.retryable and "HTTP 401" in str(caught.value)
    assert why in receiver.refusals[0] and not receiver.notices


async def test_a_timeout_is_retried_and_delivered_once(
    receiver: FakeNoticeReceiver, tmp_path: Path
) -> None:
    receiver.hang_next(1.0)
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        assert await hook(impatient, receiver, tmp_path).send(notice())
        receiver.hang_next(1.0, times=2)
        with pytest.raises(ProviderError) as caught:
            await hook(impatient, receiver, tmp_path, attempts=2).send(notice(2))
    assert caught.value.retryable and "Timeout" in str(caught.value)
    assert not permanent_or_retryable(caught.value).non_retryable
    # The hung requests arrive late: each notice was taken once, the late copies dropped.
    assert await asyncio.to_thread(receiver.wait_for_duplicates, 2)
    assert sorted(n["id"] for n in receiver.notices) == [notice().id, notice(2).id]


def records(folder: Path) -> list[str]:
    return [p.read_text() for p in folder.rglob("*.json")]


def event(kind: AuditKind, n: int) -> AuditEvent:
    return AuditEvent(
        event_key=f"{INCIDENT}/run/{n}/{kind.value}",
        incident_id=INCIDENT,
        kind=kind,
        at=datetime(2026, 12, 6, 3, 0, n, tzinfo=UTC),
        actor="worker",
        service="support-assistant",
        slo="language-gap",
        summary=f"step {n}",
    )


async def test_the_incidents_notices_reach_it_and_no_secret_is_anywhere(
    http: httpx.AsyncClient, receiver: FakeNoticeReceiver, tmp_path: Path
) -> None:
    webhook = hook(http, receiver, tmp_path)
    updates = IncidentUpdates(webhook=webhook, link_base_url="https://orch.example")
    echo = f"refused: you signed with {SECRET} (secret={SECRET})"
    kinds = (AuditKind.INCIDENT_OPENED, AuditKind.STEP_STARTED, AuditKind.EFFECT_APPLIED)
    with structlog.testing.capture_logs() as logs:
        await updates.after([event(k, n) for n, k in enumerate(kinds)])
        receiver.fail_next(Reply(400, echo))
        await updates.after([event(AuditKind.INCIDENT_RESOLVED, 9)])  # logged, not raised
    assert [(n["type"], n["title"]) for n in receiver.notices] == [
        ("incident_opened", "opened"),
        ("effect_applied", "done"),
    ], "what a threading chat gets; a step start is not a notice"
    assert receiver.notices[0]["link"].startswith("https://orch.example/v1/incidents/")
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert "HTTP 400" in warning["error"] and not warning["retryable"]
    texts = [str(logs), repr(webhook), *records(tmp_path)]
    texts += [r.body.decode() for r in receiver.requests]
    assert not [t for t in texts if SECRET in t]

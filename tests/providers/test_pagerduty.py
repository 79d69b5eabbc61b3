"""The PagerDuty pager through its real HTTP adapter (httpx) against the local Events API v2
(tests/providers/fake_pagerduty.py): success, an idempotent repeat, each documented error class,
a timeout, follow-ups (acknowledge, resolve), and the routing key in no log, record or message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import structlog
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.activities.notices import NoticeActivities
from orchestrator.activities.ops_types import PageInput
from orchestrator.domain.ops_models import PageRequest
from orchestrator.errors import PERMANENT_ERROR_TYPE, ProviderError, RateLimitedError
from orchestrator.providers.pagerduty import PagerDutyPager, dedup_key_for
from orchestrator.providers.tickets import LocalTickets
from orchestrator.secrets import Secret
from tests.providers.fake_http import Reply
from tests.providers.fake_pagerduty import FakePagerDuty

ROUTING_KEY = "R0ut1ngK3yS3cr3tPD0123456789abcd"
NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
INCIDENT = "incident-support-assistant--language-gap@language=es"


def request(key: str = f"{INCIDENT}/page/failed", **details: object) -> PageRequest:
    return PageRequest(
        key=key,
        incident_id=INCIDENT,
        target="support-oncall",
        summary=f"{INCIDENT}: playbook stopped",
        details={"purpose": "failed", **details},
    )


@pytest.fixture
def fake() -> Iterator[FakePagerDuty]:
    server = FakePagerDuty({ROUTING_KEY})
    with server.running():
        yield server


def pager(
    http: httpx.AsyncClient, fake: FakePagerDuty, folder: Path, **kw: object
) -> PagerDutyPager:
    return PagerDutyPager(
        http,
        routing_key=Secret(kw.pop("key", ROUTING_KEY)),  # type: ignore[arg-type]
        record=folder / "pagerduty.json",
        events_url=fake.events_url,
        **kw,  # type: ignore[arg-type]
    )


async def test_a_page_is_one_trigger_with_the_incident_severity_and_links(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path
) -> None:
    pd = pager(http, fake, tmp_path, link_base_url="https://orchestrator.example/")
    page = await pd.page(request(severity="SEV1"), NOW)
    assert page.id == f"{INCIDENT}/page/failed" and page.created_at == NOW
    assert await pd.get(page.id) == page
    [alert] = fake.incidents
    [event] = alert.events
    assert event["routing_key"] == ROUTING_KEY and event["dedup_key"] == page.id
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["summary"] == page.summary
    href = "https://orchestrator.example/v1/incidents/" + INCIDENT.replace("@", "%40").replace(
        "=", "%3D"
    )
    assert event["links"] == [{"href": href, "text": f"Incident {INCIDENT}"}]
    assert fake.requests[0].headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("severity", "urgency", "expected"),
    [
        ("SEV2", "high", "error"),
        ("SEV3", "high", "warning"),
        ("SEV4", "high", "info"),
        (None, "high", "error"),
        (None, "low", "warning"),
    ],
)
async def test_severity_mapping(
    http: httpx.AsyncClient,
    fake: FakePagerDuty,
    tmp_path: Path,
    severity: str | None,
    urgency: str,
    expected: str,
) -> None:
    details = {"severity": severity} if severity else {}
    req = request(**details).model_copy(update={"urgency": urgency})
    await pager(http, fake, tmp_path).page(req, NOW)
    assert fake.incidents[0].severity == expected


async def test_a_repeat_pages_once_even_from_another_host(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path
) -> None:
    pd = pager(http, fake, tmp_path / "a")
    first = await pd.page(request(), NOW)
    again = await pd.page(request(), NOW + timedelta(seconds=5))
    assert again == first and len(fake.requests) == 1  # the record answered: nothing sent
    # A worker on another host (no record): the trigger is sent, PagerDuty joins the open alert.
    other = await pager(http, fake, tmp_path / "b").page(request(), NOW + timedelta(seconds=9))
    assert other.id == first.id and len(fake.requests) == 2
    assert len(fake.incidents) == 1 and len(fake.incidents[0].events) == 2


async def test_a_key_longer_than_pagerduty_takes_is_shortened_stably(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path
) -> None:
    long_a, long_b = INCIDENT + "/" + "a" * 240, INCIDENT + "/" + "a" * 239 + "b"
    assert len(dedup_key_for(long_a)) == 255 and dedup_key_for(long_a) != dedup_key_for(long_b)
    page = await pager(http, fake, tmp_path).page(request(long_a), NOW)
    assert page.id == dedup_key_for(long_a) and page.key == long_a
    assert len(fake.incidents) == 1


async def test_400_is_permanent_with_pagerdutys_errors(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path
) -> None:
    with pytest.raises(ProviderError) as caught:
        await pager(http, fake, tmp_path, key="short").page(request(), NOW)
    assert not caught.value.retryable
    assert "HTTP 400" in str(caught.value) and "should be 32 characters" in str(caught.value)
    failure = permanent_or_retryable(caught.value)
    assert failure.type == PERMANENT_ERROR_TYPE and failure.non_retryable
    assert fake.incidents == [] and await pager(http, fake, tmp_path).get(request().key) is None


async def test_429_is_retried_after_what_retry_after_says(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path
) -> None:
    fake.fail_next(Reply(429, {"status": "throttle event"}, {"Retry-After": "3"}))
    pd = pager(http, fake, tmp_path)
    with pytest.raises(RateLimitedError) as caught:
        await pd.page(request(), NOW)
    assert caught.value.retry_after_seconds == 3.0
    failure = permanent_or_retryable(caught.value)
    assert failure.next_retry_delay == timedelta(seconds=3) and not failure.non_retryable
    await pd.page(request(), NOW)  # the retry
    assert len(fake.incidents) == 1


async def test_the_servers_own_rate_limit_and_a_429_without_retry_after(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    server = FakePagerDuty({ROUTING_KEY}, budget=1, send_retry_after=False)
    with server.running():
        pd = pager(http, server, tmp_path)
        await pd.page(request("k1"), NOW)
        with pytest.raises(RateLimitedError) as caught:
            await pd.page(request("k2"), NOW)
    assert caught.value.retry_after_seconds is None  # the activity's backoff decides
    assert permanent_or_retryable(caught.value).next_retry_delay is None


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retried(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path, status: int
) -> None:
    fake.fail_next(Reply(status, "upstream trouble"))
    pd = pager(http, fake, tmp_path)
    with pytest.raises(ProviderError) as caught:
        await pd.page(request(), NOW)
    assert caught.value.retryable and f"HTTP {status}" in str(caught.value)
    assert not permanent_or_retryable(caught.value).non_retryable
    await pd.page(request(), NOW)
    assert len(fake.incidents) == 1


async def test_a_timeout_is_retried_and_the_late_trigger_is_not_a_second_page(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path
) -> None:
    fake.hang_next(1.0)  # the client gives up after 0.5 s; the server still takes the event
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        with pytest.raises(ProviderError) as caught:
            await pager(impatient, fake, tmp_path).page(request(), NOW)
    pd = pager(http, fake, tmp_path)
    assert caught.value.retryable and "Timeout" in str(caught.value)
    await pd.page(request(), NOW)
    assert len(fake.incidents) == 1


async def test_acknowledge_and_resolve_follow_the_incidents_pages(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path
) -> None:
    pd = pager(http, fake, tmp_path)
    one = await pd.page(request(), NOW)
    two = await pd.page(request(f"{INCIDENT}/page/still-firing"), NOW)
    await pager(http, fake, tmp_path / "other").page(
        request("someone-else").model_copy(update={"incident_id": "other"}), NOW
    )
    assert await pd.acknowledge_incident(INCIDENT, NOW) == [one.id, two.id]
    assert [a.status for a in fake.incidents] == ["acknowledged", "acknowledged", "triggered"]
    assert await pd.resolve_incident(INCIDENT, NOW) == [one.id, two.id]
    assert await pd.resolve_incident(INCIDENT, NOW) == []  # idempotent: nothing sent again
    assert [a.status for a in fake.incidents] == ["resolved", "resolved", "triggered"]
    assert await pd.state(one.id) == "resolved"
    sent = len(fake.requests)
    assert await pd.page(request(), NOW) == one and len(fake.requests) == sent  # no re-trigger


async def test_the_page_activity_over_pagerduty(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path
) -> None:
    notices = NoticeActivities(LocalTickets(tmp_path / "t.json"), pager(http, fake, tmp_path))
    result = await ActivityEnvironment().run(notices.page_oncall, PageInput(request=request()))
    assert result.page.id == request().key and "paged support-oncall" in result.detail
    fake.fail_next(Reply(429, {"status": "throttle event"}, {"Retry-After": "2"}))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(notices.page_oncall, PageInput(request=request("another")))
    assert caught.value.next_retry_delay == timedelta(seconds=2)


async def test_the_routing_key_is_in_no_log_record_or_message(
    http: httpx.AsyncClient, fake: FakePagerDuty, tmp_path: Path
) -> None:
    echo = {
        "status": "invalid event",
        "message": f"bad event {{'routing_key': '{ROUTING_KEY}'}}",
        "errors": [f"routing_key={ROUTING_KEY} refused", ROUTING_KEY],
    }
    texts: list[str] = []
    pd = pager(http, fake, tmp_path)
    with structlog.testing.capture_logs() as logs:
        await pd.page(request(), NOW)
        for reply in (Reply(400, echo), Reply(503, echo), Reply(429, echo)):
            fake.fail_next(reply)
            with pytest.raises(ProviderError) as caught:
                await pd.page(request(f"k{reply.status}"), NOW)
            texts += [
                str(caught.value),
                repr(caught.value),
                str(permanent_or_retryable(caught.value)),
            ]
        fake.hang_next(1.0)
        async with httpx.AsyncClient(timeout=0.5) as impatient:
            with pytest.raises(ProviderError) as timed_out:
                await pager(impatient, fake, tmp_path).page(request("slow"), NOW)
        texts.append(str(timed_out.value))
    texts += [repr(pd), str(logs), (tmp_path / "pagerduty.json").read_text()]
    assert ROUTING_KEY in fake.requests[0].body.decode()  # it was sent, to PagerDuty only
    assert all(ROUTING_KEY not in text for text in texts), texts

"""The Jira Cloud ticket adapter against the local Jira stand-in (issue 13): success, one issue
per review key (also when the create's response was lost), close through a done transition, each
documented error class, a timeout, and the token nowhere in errors, activity failures or logs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from orchestrator.domain.ops_models import ReviewDraft
from orchestrator.domain.provider_failures import RATE_LIMITED_ERROR_TYPE, UNAVAILABLE_ERROR_TYPE
from orchestrator.errors import PERMANENT_ERROR_TYPE, NotFoundError, ProviderError
from orchestrator.providers.jira_tickets import JiraTickets, adf_text
from orchestrator.providers.ticket_text import review_label
from orchestrator.secrets import Secret
from tests.providers.fake_http import Reply
from tests.providers.fake_jira import FakeJira, error
from tests.providers.ticket_cases import (
    T0,
    activity_error,
    draft,
    failure_texts,
    refused_then_timed_out,
)

EMAIL = "rca-bot@acme.example"
TOKEN = "ATATT3xFfGF0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9=A1B2C3D4"
PROJECT = "CXOPS"


@pytest.fixture
def fake() -> Iterator[FakeJira]:
    server = FakeJira(email=EMAIL, token=TOKEN, project=PROJECT)
    with server.running():
        yield server


def jira(fake: FakeJira, http: httpx.AsyncClient, token: str = TOKEN) -> JiraTickets:
    return JiraTickets(
        http, base_url=fake.url, email=EMAIL, token=Secret(token), project=PROJECT, clock=lambda: 0
    )


async def test_a_review_opens_one_issue_with_its_fields_property_and_evidence(
    fake: FakeJira, http: httpx.AsyncClient
) -> None:
    tickets = jira(fake, http)
    ticket = await tickets.open_review(draft(), T0)
    assert ticket.id == f"{PROJECT}-1" and ticket.status == "open"
    assert ticket.url == f"{fake.url}/browse/{PROJECT}-1"
    assert ticket.model_dump(include=set(ReviewDraft.model_fields)) == draft().model_dump()
    fields = fake.issues[ticket.id]["fields"]
    assert fields["labels"] == ["orchestrator-review", review_label(draft().key)]
    description = adf_text(fields["description"])
    for text in ("cx-ai-platform", "2026-05-09T09:30", "500 reviewed Spanish", "grafana.example"):
        assert text in description
    [comment] = fake.comments[ticket.id]
    assert "versions_changed" in adf_text(comment["body"])
    assert await tickets.get(ticket.id) == ticket
    assert await tickets.get(f"{PROJECT}-99") is None


async def test_a_rerun_with_the_same_key_never_opens_a_second_issue(
    fake: FakeJira, http: httpx.AsyncClient
) -> None:
    tickets = jira(fake, http)
    first = await tickets.open_review(draft(), T0)
    assert await tickets.open_review(draft(), T0 + timedelta(minutes=3)) == first
    assert (await tickets.open_review(draft("another/review"), T0)).id == f"{PROJECT}-2"
    assert len(fake.issues) == 2 and len(fake.comments[first.id]) == 1


async def test_a_lost_create_response_is_found_once_the_search_index_has_it(
    fake: FakeJira,
) -> None:
    fake.slow_create, fake.index_lag = 1.0, 0.5
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        with pytest.raises(ProviderError) as caught:
            await jira(fake, impatient).open_review(draft(), T0)
        assert caught.value.retryable and "ReadTimeout" in str(caught.value)
        fake.slow_create = 0.0
        await asyncio.sleep(0.6)  # the activity's retry backoff: longer than the index lag
        ticket = await jira(fake, impatient).open_review(draft(), T0)
    assert ticket.id == f"{PROJECT}-1" and len(fake.issues) == 1


async def test_closing_comments_the_resolution_once_and_moves_to_done(
    fake: FakeJira, http: httpx.AsyncClient
) -> None:
    tickets = jira(fake, http)
    ticket = await tickets.open_review(draft(), T0)
    closed = await tickets.close_review(ticket.id, "prompt v7 dropped the Spanish examples", T0)
    assert closed.status == "closed" and closed.resolution
    assert fake.issues[ticket.id]["fields"]["status"] == "Done"
    assert (await tickets.get(ticket.id)) == closed.model_copy(update={"resolution": None})
    await tickets.close_review(ticket.id, "again", T0)
    assert len(fake.comments[ticket.id]) == 2, "evidence and one resolution"
    with pytest.raises(NotFoundError):
        await tickets.close_review(f"{PROJECT}-99", "x", T0)


@pytest.mark.parametrize(
    ("reply", "error_type", "wait"),
    [
        (error(400, summary="You must specify a summary."), PERMANENT_ERROR_TYPE, None),
        (error(401, "Client must be authenticated to access this resource."),
         PERMANENT_ERROR_TYPE, None),
        (error(403, "You do not have permission to create issues in this project."),
         PERMANENT_ERROR_TYPE, None),
        (error(404, "No project could be found with key 'CXOPS'."), PERMANENT_ERROR_TYPE, None),
        (Reply(429, {"errorMessages": ["Rate limit exceeded."]}, {"Retry-After": "12"}),
         RATE_LIMITED_ERROR_TYPE, 12),
        (error(500, "Internal server error"), UNAVAILABLE_ERROR_TYPE, None),
        (error(503, "Service unavailable"), UNAVAILABLE_ERROR_TYPE, None),
    ],
)  # fmt: skip
async def test_each_documented_answer_becomes_its_activity_error(
    fake: FakeJira, http: httpx.AsyncClient, reply: Reply, error_type: str, wait: int | None
) -> None:
    fake.fail_next(reply)
    with pytest.raises(ProviderError) as caught:
        await jira(fake, http).open_review(draft(), T0)
    failure = activity_error(caught.value, error_type, wait)
    body = reply.body
    said = (body.get("errorMessages") or list(body["errors"].values()))[0]
    assert f"HTTP {reply.status}: " in failure.message and said in failure.message


async def test_a_real_bad_request_and_the_burst_limit(
    fake: FakeJira, http: httpx.AsyncClient
) -> None:
    tickets = JiraTickets(
        http, base_url=fake.url, email=EMAIL, token=Secret(TOKEN), project=PROJECT,
        issue_type="Epic with spaces",
    )  # fmt: skip
    with pytest.raises(ProviderError, match="issuetype: Specify a valid issue type") as refused:
        await tickets.open_review(draft(), T0)
    assert not refused.value.retryable
    fake.burst = 0
    with pytest.raises(ProviderError) as limited:
        await jira(fake, http).open_review(draft(), T0)
    activity_error(limited.value, RATE_LIMITED_ERROR_TYPE, 5)


async def test_the_wrong_token_is_refused_and_a_hang_is_a_retried_timeout(
    fake: FakeJira,
) -> None:
    await refused_then_timed_out(
        lambda http, token: jira(fake, http, token or TOKEN), lambda: fake.hang_next(1.0)
    )


async def test_the_token_is_in_no_error_activity_failure_or_log_line(
    fake: FakeJira, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    tickets = jira(fake, http)
    basic = fake.basic.removeprefix("Basic ")
    echo = f"Refused: Authorization: {fake.basic} ({TOKEN}, {basic})"
    fake.fail_next(error(403, echo), times=3)
    texts = await failure_texts(tickets, tmp_path)
    assert all(TOKEN not in text and basic not in text for text in texts)

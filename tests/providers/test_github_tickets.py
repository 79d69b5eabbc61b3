"""The GitHub Issues ticket adapter against the local GitHub stand-in (issue 13): success, one
issue per review key (also when the create's response was lost), close, each documented error
class, a timeout, and the token nowhere in errors, activity failures or logs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from orchestrator.domain.provider_failures import RATE_LIMITED_ERROR_TYPE, UNAVAILABLE_ERROR_TYPE
from orchestrator.errors import PERMANENT_ERROR_TYPE, ProviderError
from orchestrator.providers.github_tickets import GitHubTickets
from orchestrator.secrets import Secret
from tests.providers.fake_github import FakeGitHub, error
from tests.providers.fake_http import Reply
from tests.providers.ticket_cases import (
    T0,
    activity_error,
    draft,
    failure_texts,
    refused_then_timed_out,
)

TOKEN = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"
REPO = "acme/cx-incidents"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    server = FakeGitHub(token=TOKEN, repo=REPO)
    with server.running():
        yield server


def github(fake: FakeGitHub, http: httpx.AsyncClient, token: str = TOKEN) -> GitHubTickets:
    return GitHubTickets(http, token=Secret(token), repo=REPO, base_url=fake.url, clock=lambda: 0)


async def test_a_review_opens_one_labelled_issue_with_its_fields_and_the_evidence(
    fake: FakeGitHub, http: httpx.AsyncClient
) -> None:
    tickets = github(fake, http)
    ticket = await tickets.open_review(draft(), T0)
    assert ticket.id == f"{REPO}#1" and ticket.status == "open"
    assert ticket.url == f"https://github.com/{REPO}/issues/1"
    issue = fake.issues[1]
    assert issue["labels"] == [{"name": "orchestrator-review"}]
    for text in ("cx-ai-platform", "2026-05-09T09:30", "500 reviewed Spanish", "grafana.example"):
        assert text in issue["body"]
    [comment] = fake.comments[1]
    assert "versions_changed" in comment["body"] and "orchestrator-evidence" in comment["body"]
    assert await tickets.get(ticket.id) == ticket, "read back as opened (the draft round-trips)"
    assert await tickets.get(f"{REPO}#99") is None
    first = fake.requests[0].headers
    assert first["Accept"] == "application/vnd.github+json"
    assert first["X-GitHub-Api-Version"] == "2022-11-28"


async def test_a_rerun_with_the_same_key_never_opens_a_second_issue(
    fake: FakeGitHub, http: httpx.AsyncClient
) -> None:
    tickets = github(fake, http)
    first = await tickets.open_review(draft(), T0)
    assert await tickets.open_review(draft(), T0 + timedelta(minutes=3)) == first
    other = await tickets.open_review(draft("another-incident/review"), T0)
    assert other.id == f"{REPO}#2"
    assert len(fake.issues) == 2 and len(fake.comments[1]) == 1


async def test_a_create_whose_response_was_lost_is_found_by_the_retry(fake: FakeGitHub) -> None:
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        fake.slow_create = 1.0
        with pytest.raises(ProviderError) as caught:
            await github(fake, impatient).open_review(draft(), T0)
        assert caught.value.retryable and "ReadTimeout" in str(caught.value)
        assert len(fake.issues) == 1, "GitHub created it; the answer never came"
        fake.slow_create = 0.0
        ticket = await github(fake, impatient).open_review(draft(), T0)
    assert ticket.id == f"{REPO}#1" and len(fake.issues) == 1


async def test_the_search_pages_through_many_labelled_issues(
    fake: FakeGitHub, http: httpx.AsyncClient
) -> None:
    tickets = github(fake, http)
    oldest = await tickets.open_review(draft("the-oldest"), T0)
    for n in range(2, 102):  # others' reviews, newer
        fake.issues[n] = {**fake.issues[1], "number": n, "body": f"review {n}"}
    assert await tickets.open_review(draft("the-oldest"), T0) == oldest
    assert len(fake.issues) == 101
    assert any(r.arg("page") == "2" for r in fake.requests), "followed the Link header"


async def test_closing_comments_the_resolution_once_and_closes(
    fake: FakeGitHub, http: httpx.AsyncClient
) -> None:
    tickets = github(fake, http)
    ticket = await tickets.open_review(draft(), T0)
    closed = await tickets.close_review(ticket.id, "prompt v7 dropped the Spanish examples", T0)
    assert closed.status == "closed" and closed.resolution
    assert fake.issues[1]["state"] == "closed" and fake.issues[1]["state_reason"] == "completed"
    await tickets.close_review(ticket.id, "prompt v7 dropped the Spanish examples", T0)
    assert len(fake.comments[1]) == 2, "evidence and one resolution"


async def test_an_issue_opened_without_its_label_is_refused(
    fake: FakeGitHub, http: httpx.AsyncClient
) -> None:
    fake.can_label = False
    with pytest.raises(ProviderError, match="without the label") as caught:
        await github(fake, http).open_review(draft(), T0)
    assert not caught.value.retryable


SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes and try again."


@pytest.mark.parametrize(
    ("reply", "error_type", "wait"),
    [
        (error(401, "Bad credentials"), PERMANENT_ERROR_TYPE, None),
        (error(403, "Resource not accessible by token"), PERMANENT_ERROR_TYPE, None),
        (error(404, "Not Found"), PERMANENT_ERROR_TYPE, None),
        (error(410, "Issues are disabled for this repo"), PERMANENT_ERROR_TYPE, None),
        (error(422, "Validation Failed", errors=[{"field": "title", "code": "missing_field"}]),
         PERMANENT_ERROR_TYPE, None),
        (error(500, "Server Error"), UNAVAILABLE_ERROR_TYPE, None),
        (error(502, "Bad Gateway"), UNAVAILABLE_ERROR_TYPE, None),
        (Reply(403, {"message": SECONDARY}, {"retry-after": "30"}), RATE_LIMITED_ERROR_TYPE, 30),
        (Reply(429, {"message": SECONDARY}), RATE_LIMITED_ERROR_TYPE, 60),
    ],
)  # fmt: skip
async def test_each_documented_answer_becomes_its_activity_error(
    fake: FakeGitHub, http: httpx.AsyncClient, reply: Reply, error_type: str, wait: int | None
) -> None:
    fake.fail_next(reply)
    with pytest.raises(ProviderError) as caught:
        await github(fake, http).open_review(draft(), T0)
    failure = activity_error(caught.value, error_type, wait)
    assert f"HTTP {reply.status}" in failure.message and reply.body["message"] in failure.message


async def test_a_spent_primary_limit_waits_until_its_reset(fake: FakeGitHub) -> None:
    fake.rate_limit, fake.reset_at = 0, 45
    async with httpx.AsyncClient(timeout=2.0) as http:
        with pytest.raises(ProviderError) as caught:
            await github(fake, http).open_review(draft(), T0)  # the clock says 0
    activity_error(caught.value, RATE_LIMITED_ERROR_TYPE, 45)


async def test_the_wrong_token_is_refused_and_a_hang_is_a_retried_timeout(
    fake: FakeGitHub,
) -> None:
    await refused_then_timed_out(
        lambda http, token: github(fake, http, token or TOKEN), lambda: fake.hang_next(1.0)
    )


async def test_the_token_is_in_no_error_activity_failure_or_log_line(
    fake: FakeGitHub, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    echo = f"Bad credentials for Authorization: Bearer {TOKEN} (token {TOKEN})"
    fake.fail_next(error(403, echo), times=3)
    texts = await failure_texts(github(fake, http), tmp_path)
    assert all(TOKEN not in text for text in texts)

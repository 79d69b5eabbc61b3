"""Incident reviews (RCA tasks) as GitHub issues, through the REST API (v3).

``POST /repos/{owner}/{repo}/issues`` opens the review with the label ``orchestrator-review`` and
a hidden marker ``<!-- orchestrator-review: orchestrator-review-<hash of the key> -->`` in its
body (with the draft itself, base64, in a second hidden comment); ``POST .../issues/{n}/comments``
adds the evidence and, later, the resolution; ``PATCH .../issues/{n}`` with ``state: closed``
closes it. Every request carries ``Authorization: Bearer <token>``, ``Accept:
application/vnd.github+json`` and ``X-GitHub-Api-Version``.

Idempotent by the draft's key: before creating, the adapter lists the repository's issues with
the label (``GET .../issues?labels=...&state=all``, newest first, a bounded number of pages) and
looks for the marker. The list is read from the database, not from the search index, so an issue
whose create response was lost (a timeout after GitHub created it) is found by the retry: a re-run
never opens a second. GitHub silently drops labels when the token's user may not set them; the
adapter refuses such an issue at once (permanent), since it could not find it again.

Answers (GitHub's "Rate limits for the REST API"): a 403 or 429 with ``x-ratelimit-remaining: 0``
or a "secondary rate limit" message is rate-limited (wait ``retry-after``, else until
``x-ratelimit-reset`` in epoch seconds, else at least a minute); 5xx and transport errors are
retried; 401, other 403s, 404, 410 (issues disabled) and 422 (validation failed) are permanent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from orchestrator.domain.ops_models import ReviewDraft, ReviewTicket
from orchestrator.domain.provider_failures import DEFAULT_RATE_LIMIT_CAP_SECONDS
from orchestrator.errors import NotFoundError, ProviderError
from orchestrator.providers.http_api import json_body, retry_after_seconds, send, status_error
from orchestrator.providers.ticket_text import (
    LABEL,
    decode_draft,
    encode_draft,
    evidence_json,
    evidence_marker,
    resolution_marker,
    review_label,
    summary_lines,
)
from orchestrator.secrets import Secret, redact_text

API_VERSION = "2022-11-28"
SECONDARY_LIMIT_WAIT = 60.0
"""GitHub: without retry-after or a spent primary limit, "wait for at least one minute"."""
_DRAFT = re.compile(r"<!-- orchestrator-review-draft: ([A-Za-z0-9+/=]+) -->")
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubTickets:
    """A :class:`~orchestrator.providers.tickets.TicketProvider` over one repository's issues;
    ticket ids are ``owner/repo#number``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: Secret,
        repo: str,
        base_url: str = "https://api.github.com",
        clock: Callable[[], float] = time.time,
        rate_limit_cap: float = DEFAULT_RATE_LIMIT_CAP_SECONDS,
        max_pages: int = 10,
    ) -> None:
        self._http = http
        self._token = token
        self.repo = repo
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._cap = rate_limit_cap
        self._max_pages = max_pages

    def __repr__(self) -> str:
        return f"GitHubTickets(repo={self.repo!r}, base_url={redact_text(self.base_url)!r})"

    async def open_review(self, draft: ReviewDraft, now: datetime) -> ReviewTicket:
        issue = await self._find(draft.key) or await self._create(draft)
        marker = evidence_marker(draft.key)
        body = f"<!-- {marker} -->\n**Evidence**\n\n```json\n{evidence_json(draft)}\n```"
        await self._comment_once(issue["number"], marker, body)
        return self._ticket(issue, draft)

    async def get(self, ticket_id: str) -> ReviewTicket | None:
        issue = await self._issue(ticket_id)
        draft = _draft_of(issue) if issue is not None else None
        return None if issue is None or draft is None else self._ticket(issue, draft)

    async def close_review(self, ticket_id: str, resolution: str, now: datetime) -> ReviewTicket:
        issue = await self._issue(ticket_id)
        draft = _draft_of(issue) if issue is not None else None
        if issue is None or draft is None:
            raise NotFoundError(f"no review {ticket_id!r} in GitHub {self.repo}")
        if issue["state"] != "closed":
            marker = resolution_marker(draft.key)
            await self._comment_once(issue["number"], marker, f"<!-- {marker} -->\n{resolution}")
            issue = await self._call(
                "PATCH",
                f"/issues/{issue['number']}",
                json={"state": "closed", "state_reason": "completed"},
            )
        return self._ticket(issue, draft).model_copy(update={"resolution": resolution})

    # -- the REST calls --------------------------------------------------------------------
    async def _find(self, key: str) -> dict[str, Any] | None:
        marker = f"<!-- orchestrator-review: {review_label(key)} -->"
        params: dict[str, str] | None = {
            "labels": LABEL,
            "state": "all",
            "sort": "created",
            "direction": "desc",
            "per_page": "100",
        }
        url: str | None = self._url("/issues")
        for _ in range(self._max_pages):
            if url is None:
                return None
            response = await self._response("GET", url, params=params)
            for issue in json_body(response, self._what("list issues")) or []:
                if marker in (issue.get("body") or ""):
                    return dict(issue)
            found = _NEXT.search(response.headers.get("Link", ""))
            url, params = (found.group(1) if found else None), None
        return None

    async def _create(self, draft: ReviewDraft) -> dict[str, Any]:
        lines = "\n".join(f"- {line}" for line in summary_lines(draft))
        body = (
            f"<!-- orchestrator-review: {review_label(draft.key)} -->\n"
            f"RCA task opened by the incident-remediation orchestrator.\n\n{lines}\n\n"
            f"<!-- orchestrator-review-draft: {encode_draft(draft)} -->"
        )
        issue = await self._call(
            "POST", "/issues", json={"title": draft.title, "body": body, "labels": [LABEL]}
        )
        if LABEL not in {label.get("name") for label in issue.get("labels") or ()}:
            raise ProviderError(
                f"GitHub {self.repo}: issue #{issue.get('number')} was opened without the label"
                f" {LABEL!r} (the token's user may not set labels): a re-run could not find it",
                retryable=False,
            )
        return dict(issue)

    async def _comment_once(self, number: int, marker: str, body: str) -> None:
        comments = await self._call("GET", f"/issues/{number}/comments", params={"per_page": "100"})
        if not any(marker in (c.get("body") or "") for c in comments or []):
            await self._call("POST", f"/issues/{number}/comments", json={"body": body})

    async def _issue(self, ticket_id: str) -> dict[str, Any] | None:
        repo, _, number = ticket_id.rpartition("#")
        if repo != self.repo or not number.isdigit():
            return None
        issue = await self._call("GET", f"/issues/{number}", missing=(404, 410))
        return None if issue is None else dict(issue)

    async def _call(
        self, method: str, path: str, *, missing: tuple[int, ...] = (), **kwargs: Any
    ) -> Any:
        """The JSON answer; None for a status in ``missing`` (the issue is gone)."""
        response = await self._response(method, self._url(path), missing=missing, **kwargs)
        if response.status_code in missing:
            return None
        return json_body(response, self._what(f"{method} {path}"))

    async def _response(
        self, method: str, url: str, *, missing: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        what = self._what(f"{method} {url.removeprefix(self._url(''))}")
        headers = {
            "Authorization": f"Bearer {self._token.reveal()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        response = await send(
            self._http, method, url, what=what, secret=self._token, headers=headers, **kwargs
        )
        if response.is_success or response.status_code in missing:
            return response
        status = response.status_code
        message = redact_text(f"{what}: HTTP {status}{_describe(response)}", self._token)
        limited = self._rate_limited(response)
        wait = self._wait(response.headers) if limited else None
        raise status_error(status, message, rate_limited=limited, retry_after=wait, cap=self._cap)

    def _wait(self, headers: httpx.Headers) -> float:
        """GitHub's order: ``retry-after``; else, with the primary limit spent, until
        ``x-ratelimit-reset``; else at least a minute."""
        spent = headers.get("x-ratelimit-remaining") == "0"
        wait = retry_after_seconds(headers, self._clock(), reset_header=None)
        if wait is None and spent:
            wait = retry_after_seconds(headers, self._clock(), reset_header="x-ratelimit-reset")
        return SECONDARY_LIMIT_WAIT if wait is None else wait

    @staticmethod
    def _rate_limited(response: httpx.Response) -> bool:
        if response.status_code not in (403, 429):
            return False
        spent = response.headers.get("x-ratelimit-remaining") == "0"
        return spent or "retry-after" in response.headers or "rate limit" in response.text.lower()

    def _url(self, path: str) -> str:
        owner, _, name = self.repo.partition("/")
        return f"{self.base_url}/repos/{quote(owner, safe='')}/{quote(name, safe='')}{path}"

    def _what(self, doing: str) -> str:
        return f"GitHub {self.repo}: {doing}"

    def _ticket(self, issue: dict[str, Any], draft: ReviewDraft) -> ReviewTicket:
        return ReviewTicket(
            **draft.model_dump(),
            id=f"{self.repo}#{issue['number']}",
            status="closed" if issue.get("state") == "closed" else "open",
            created_at=datetime.fromisoformat(issue["created_at"]),
            url=issue.get("html_url"),
        )


def _draft_of(issue: dict[str, Any]) -> ReviewDraft | None:
    found = _DRAFT.search(issue.get("body") or "")
    return decode_draft(found.group(1)) if found else None


def _describe(response: httpx.Response) -> str:
    """``: message (field: code, ...)`` from GitHub's error body, bounded."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or not body.get("message"):
        return ""
    errors = [
        f"{e.get('field', '?')}: {e.get('code', '?')}"
        for e in body.get("errors") or ()
        if isinstance(e, dict)
    ]
    return (f": {body['message']}" + (f" ({', '.join(errors)})" if errors else ""))[:500]

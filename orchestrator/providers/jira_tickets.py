"""Incident reviews (RCA tasks) as Jira Cloud issues, through the REST API (v3).

``POST /rest/api/3/issue`` opens the review in one project: summary, issue type, an Atlassian
Document Format description with the review's fields, the labels ``orchestrator-review`` and
``orchestrator-review-<hash of the key>``, and the draft itself as the issue property
``orchestrator.review``. ``POST /rest/api/3/search/jql`` finds it again by that label (JQL:
``project = P AND labels = "..."``); ``POST /rest/api/3/issue/{key}/comment`` adds the evidence
and, later, the resolution (each once: their comments carry a marker line); the first transition
into the *done* status category (``GET``/``POST /rest/api/3/issue/{key}/transitions``) closes it.
Basic auth with the account's email and API token.

Jira's search reads an index that trails writes by a moment: a create whose response was lost
is found by the retry once the index has it (the activity's backoff is seconds). The window where
a second issue could be opened is that lag, not the whole retry.

Answers (Jira's REST API and "Rate limiting"): 429 is rate-limited (``Retry-After`` seconds);
5xx and transport errors are retried; 400 (``errorMessages``/``errors`` in the body), 401, 403
and 404 are permanent.
"""

from __future__ import annotations

import base64
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
    evidence_json,
    evidence_marker,
    resolution_marker,
    review_label,
    summary_lines,
)
from orchestrator.secrets import Secret, redact_text

PROPERTY = "orchestrator.review"
API = "/rest/api/3"


class JiraTickets:
    """A :class:`~orchestrator.providers.tickets.TicketProvider` over one Jira Cloud project;
    ticket ids are Jira's issue keys (``OPS-12``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        email: str,
        token: Secret,
        project: str,
        issue_type: str = "Task",
        clock: Callable[[], float] = time.time,
        rate_limit_cap: float = DEFAULT_RATE_LIMIT_CAP_SECONDS,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._auth = Secret(base64.b64encode(f"{email}:{token.reveal()}".encode()).decode())
        self.project = project
        self.issue_type = issue_type
        self._clock = clock
        self._cap = rate_limit_cap

    def __repr__(self) -> str:
        return f"JiraTickets(base_url={redact_text(self.base_url)!r}, project={self.project!r})"

    async def open_review(self, draft: ReviewDraft, now: datetime) -> ReviewTicket:
        key = await self._find(draft.key) or await self._create(draft)
        marker = evidence_marker(draft.key)
        await self._comment_once(key, marker, [marker, "Evidence:"], evidence_json(draft))
        ticket = await self.get(key)
        if ticket is None:
            raise ProviderError(f"Jira {key}: opened but not readable", retryable=True)
        return ticket

    async def get(self, ticket_id: str) -> ReviewTicket | None:
        issue = await self._call(
            "GET",
            f"/issue/{quote(ticket_id, safe='')}",
            params={"fields": "status,created", "properties": PROPERTY},
            missing=(404,),
        )
        raw = ((issue or {}).get("properties") or {}).get(PROPERTY)
        if issue is None or raw is None:
            return None
        fields = issue["fields"]
        done = fields["status"]["statusCategory"]["key"] == "done"
        return ReviewTicket(
            **ReviewDraft.model_validate(raw).model_dump(),
            id=issue["key"],
            status="closed" if done else "open",
            created_at=datetime.fromisoformat(fields["created"]),
            url=f"{self.base_url}/browse/{issue['key']}",
        )

    async def close_review(self, ticket_id: str, resolution: str, now: datetime) -> ReviewTicket:
        ticket = await self.get(ticket_id)
        if ticket is None:
            raise NotFoundError(f"no review {ticket_id!r} in Jira project {self.project}")
        if ticket.status != "closed":
            marker = resolution_marker(ticket.key)
            await self._comment_once(ticket.id, marker, [marker, resolution], None)
            path = f"/issue/{quote(ticket.id, safe='')}/transitions"
            answer = await self._call("GET", path)
            done = [
                t
                for t in answer.get("transitions") or ()
                if (t.get("to") or {}).get("statusCategory", {}).get("key") == "done"
            ]
            if not done:
                raise ProviderError(
                    f"Jira {ticket.id}: no transition into a done status is available",
                    retryable=False,
                )
            await self._call("POST", path, json={"transition": {"id": done[0]["id"]}})
        return ticket.model_copy(update={"status": "closed", "resolution": resolution})

    # -- the REST calls --------------------------------------------------------------------
    async def _find(self, key: str) -> str | None:
        jql = f'project = "{self.project}" AND labels = "{review_label(key)}" ORDER BY created ASC'
        answer = await self._call(
            "POST", "/search/jql", json={"jql": jql, "fields": ["created"], "maxResults": 1}
        )
        issues = (answer or {}).get("issues") or []
        return str(issues[0]["key"]) if issues else None

    async def _create(self, draft: ReviewDraft) -> str:
        lines = ["RCA task opened by the incident-remediation orchestrator.", *summary_lines(draft)]
        fields = {
            "project": {"key": self.project},
            "summary": draft.title,
            "issuetype": {"name": self.issue_type},
            "labels": [LABEL, review_label(draft.key)],
            "description": adf(lines, None),
        }
        payload = {
            "fields": fields,
            "properties": [{"key": PROPERTY, "value": draft.model_dump(mode="json")}],
        }
        created = await self._call("POST", "/issue", json=payload)
        return str(created["key"])

    async def _comment_once(
        self, key: str, marker: str, lines: list[str], code: str | None
    ) -> None:
        path = f"/issue/{quote(key, safe='')}/comment"
        answer = await self._call("GET", path, params={"maxResults": "100"})
        if not any(marker in adf_text(c.get("body")) for c in answer.get("comments") or ()):
            await self._call("POST", path, json={"body": adf(lines, code)})

    async def _call(
        self, method: str, path: str, *, missing: tuple[int, ...] = (), **kwargs: Any
    ) -> Any:
        what = f"Jira {self.project}: {method} {path}"
        headers = {"Authorization": f"Basic {self._auth.reveal()}", "Accept": "application/json"}
        response = await send(
            self._http,
            method,
            f"{self.base_url}{API}{path}",
            what=what,
            secret=self._token,
            headers=headers,
            **kwargs,
        )
        if response.status_code in missing:
            return None
        if not response.is_success:
            status = response.status_code
            message = f"{what}: HTTP {status}{_describe(response)}"
            message = redact_text(message, self._token, self._auth)
            wait = retry_after_seconds(response.headers, self._clock(), reset_header=None)
            raise status_error(
                status, message, rate_limited=status == 429, retry_after=wait, cap=self._cap
            )
        return json_body(response, what, empty_ok=True)


def adf(lines: list[str], code: str | None) -> dict[str, Any]:
    """An Atlassian Document Format document: a paragraph a line, then a JSON code block."""
    content: list[dict[str, Any]] = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in lines
    ]
    if code is not None:
        block = {"type": "codeBlock", "attrs": {"language": "json"}}
        content.append({**block, "content": [{"type": "text", "text": code}]})
    return {"type": "doc", "version": 1, "content": content}


def adf_text(node: Any) -> str:
    """Every text node of an ADF document, joined by newlines."""
    if not isinstance(node, dict):
        return ""
    own = [node["text"]] if isinstance(node.get("text"), str) else []
    return "\n".join(own + [adf_text(child) for child in node.get("content") or ()])


def _describe(response: httpx.Response) -> str:
    """``: message; field: message`` from Jira's ``errorMessages`` and ``errors``, bounded."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("errorMessages") or ()]
    parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
    return (": " + "; ".join(parts))[:500] if parts else ""

"""A local stand-in for Jira Cloud's REST API (v3) issue endpoints, as Atlassian documents them.

``POST /rest/api/3/issue`` (201 ``id``/``key``/``self``; ``fields`` checked: project, summary,
issue type, an ADF ``description``, labels without spaces; ``properties`` kept), ``GET
/rest/api/3/issue/{key}`` (``fields``, ``properties`` query), ``POST /rest/api/3/search/jql``
(``project = "P" AND labels = "L"``, read from an index that may trail writes by ``index_lag``
seconds), ``GET``/``POST .../comment`` (ADF bodies), ``GET``/``POST .../transitions`` (204).
Basic auth ``email:API token`` (else 401). Errors: ``{"errorMessages": [...], "errors": {...}}``.
Rate limit: past ``burst`` requests, 429 with ``Retry-After`` (seconds), ``X-RateLimit-Reset``
(ISO 8601) and ``RateLimit-Reason``.
"""

from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime
from typing import Any

from tests.providers.fake_http import FakeHttpServer, Reply, Request

_ISSUE = re.compile(r"^/rest/api/3/issue/([A-Z][A-Z0-9]*-\d+)(/comment|/transitions)?$")
_JQL = re.compile(r'^project = "([^"]+)" AND labels = "([^"]+)"(?: ORDER BY created (ASC|DESC))?$')
CATEGORY = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
TRANSITIONS = {"11": "To Do", "21": "In Progress", "31": "Done"}


def error(status: int, *messages: str, **errors: str) -> Reply:
    return Reply(status, {"errorMessages": list(messages), "errors": errors})


def is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and value.get("version") == 1


class FakeJira(FakeHttpServer):
    json_type = "application/json; charset=utf-8"

    def __init__(self, *, email: str, token: str, project: str, burst: int | None = None) -> None:
        super().__init__()
        self.basic = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.project = project
        self.burst = burst
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.index_lag = 0.0
        self._indexed_at: dict[str, float] = {}
        self.slow_create = 0.0

    def admit(self, request: Request) -> Reply | None:
        if request.headers.get("Authorization") != self.basic:
            return error(401, "Client must be authenticated to access this resource.")
        if self.burst is None:
            return None
        if self.burst <= 0:
            reset = datetime.fromtimestamp(time.time() + 5, UTC)
            reply = error(429, "Rate limit exceeded.")
            reply.headers = {
                "Retry-After": "5",
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                "RateLimit-Reason": "jira-burst-based",
            }
            return reply
        self.burst -= 1
        return None

    def finish(self, request: Request, reply: Reply) -> Reply:
        if reply.status == 201 and request.path == "/rest/api/3/issue":
            time.sleep(self.slow_create)  # done, but the answer comes late (outside the lock)
        return reply

    def handle(self, request: Request) -> Reply:
        if request.path == "/rest/api/3/issue" and request.method == "POST":
            return self._create(request.json())
        if request.path == "/rest/api/3/search/jql" and request.method == "POST":
            return self._search(request.json())
        match = _ISSUE.match(request.path)
        if match is None:
            return error(404, "Not found.")
        key = match[1]
        if key not in self.issues:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        if match[2] == "/comment":
            return self._comment(request, key)
        if match[2] == "/transitions":
            return self._transition(request, key)
        return Reply(200, self._issue(key, request.arg("properties")))

    def _create(self, body: dict[str, Any]) -> Reply:
        fields = body.get("fields") or {}
        problems = {}
        if (fields.get("project") or {}).get("key") != self.project:
            problems["project"] = "valid project is required"
        if not fields.get("summary"):
            problems["summary"] = "You must specify a summary of the issue."
        if (fields.get("issuetype") or {}).get("name") not in ("Task", "Bug"):
            problems["issuetype"] = "Specify a valid issue type"
        if "description" in fields and not is_adf(fields["description"]):
            problems["description"] = "Operation value must be an Atlassian Document (see ADF)."
        if any(" " in label for label in fields.get("labels") or ()):
            problems["labels"] = "The label can't contain spaces."
        if problems:
            return error(400, **problems)
        key = f"{self.project}-{len(self.issues) + 1}"
        self.issues[key] = {
            "id": str(10000 + len(self.issues)),
            "fields": {**fields, "status": "To Do", "created": _now()},
            "properties": {p["key"]: p["value"] for p in body.get("properties") or ()},
        }
        self.comments[key] = []
        self._indexed_at[key] = time.time() + self.index_lag
        return Reply(201, {"id": self.issues[key]["id"], "key": key, "self": self._self(key)})

    def _search(self, body: dict[str, Any]) -> Reply:
        match = _JQL.match(str(body.get("jql", "")))
        if match is None:
            return error(400, f"Error in the JQL Query: {body.get('jql')!r} is not understood.")
        now = time.time()
        found = [
            {"id": issue["id"], "key": key, "fields": {"created": issue["fields"]["created"]}}
            for key, issue in self.issues.items()
            if key.startswith(f"{match[1]}-")
            and match[2] in issue["fields"].get("labels", ())
            and self._indexed_at[key] <= now
        ]
        return Reply(200, {"issues": found[: int(body.get("maxResults", 50))], "isLast": True})

    def _issue(self, key: str, properties: str) -> dict[str, Any]:
        issue = self.issues[key]
        status = issue["fields"]["status"]
        wanted = {p for p in properties.split(",") if p}
        return {
            "id": issue["id"],
            "key": key,
            "self": self._self(key),
            "fields": {
                **issue["fields"],
                "status": {"name": status, "statusCategory": {"key": CATEGORY[status]}},
            },
            "properties": {k: v for k, v in issue["properties"].items() if k in wanted},
        }

    def _comment(self, request: Request, key: str) -> Reply:
        comments = self.comments[key]
        if request.method == "GET":
            return Reply(200, {"comments": comments, "startAt": 0, "total": len(comments)})
        body = request.json().get("body")
        if not is_adf(body):
            return error(400, comment="Comment body is not a valid Atlassian Document.")
        comment = {"id": str(20000 + len(comments)), "body": body, "created": _now()}
        comments.append(comment)
        return Reply(201, comment)

    def _transition(self, request: Request, key: str) -> Reply:
        if request.method == "GET":
            listed = [
                {"id": tid, "name": name, "to": {"name": name, "statusCategory": {"key": cat}}}
                for tid, name in TRANSITIONS.items()
                for cat in [CATEGORY[name]]
            ]
            return Reply(200, {"transitions": listed})
        tid = (request.json().get("transition") or {}).get("id")
        if tid not in TRANSITIONS:
            return error(400, "Transition id is not valid for this issue.")
        self.issues[key]["fields"]["status"] = TRANSITIONS[tid]
        return Reply(204)

    def _self(self, key: str) -> str:
        return f"{self.url}/rest/api/3/issue/{self.issues[key]['id']}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")

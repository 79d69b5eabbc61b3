"""A local stand-in for GitHub's REST API (v3) issues endpoints, as GitHub documents them.

``POST /repos/{o}/{r}/issues`` (201; title required, else 422 ``Validation Failed`` with
``errors``; labels silently dropped for a user who may not set them), ``GET .../issues`` (filters
``labels``, ``state``; newest first; ``per_page``/``page`` with a ``Link`` header), ``GET`` and
``PATCH .../issues/{n}`` (``state``, ``state_reason``), ``GET``/``POST .../issues/{n}/comments``.
``Authorization: Bearer <token>`` (else 401 ``Bad credentials``); an unsupported
``X-GitHub-Api-Version`` is 400; a repository with issues disabled answers 410. Primary rate limit:
``x-ratelimit-limit``/``-remaining``/``-used``/``-reset`` (epoch seconds) on every answer, and
403 with ``x-ratelimit-remaining: 0`` once spent. Error bodies: ``message``,
``documentation_url`` (and ``errors`` on 422).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from tests.providers.fake_http import FakeHttpServer, Reply, Request

DOCS = "https://docs.github.com/rest"
VERSIONS = ("2022-11-28", "2026-03-10")
_ROUTE = re.compile(r"^/repos/([^/]+)/([^/]+)/issues(?:/(\d+))?(/comments)?$")


def error(status: int, message: str, **extra: Any) -> Reply:
    return Reply(status, {"message": message, "documentation_url": DOCS, **extra})


class FakeGitHub(FakeHttpServer):
    json_type = "application/json; charset=utf-8"

    def __init__(self, *, token: str, repo: str, rate_limit: int = 5000) -> None:
        super().__init__()
        self.token = token
        self.repo = repo
        self.rate_limit = rate_limit
        self.used = 0
        self.reset_at = int(time.time()) + 3600
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.issues_enabled = True
        self.can_label = True
        self.slow_create: float = 0.0
        """Seconds a create waits after it is done before answering (a lost response)."""

    def admit(self, request: Request) -> Reply | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error(401, "Bad credentials")
        version = request.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in VERSIONS:
            return error(400, f"API version {version} is not supported.")
        if self.used >= self.rate_limit:
            return self._limits(error(403, "API rate limit exceeded for user ID 1."))
        self.used += 1
        return None

    def finish(self, request: Request, reply: Reply) -> Reply:
        if reply.status == 201 and request.path.endswith("/issues"):
            time.sleep(self.slow_create)  # done, but the answer comes late (outside the lock)
        return self._limits(reply)

    def _limits(self, reply: Reply) -> Reply:
        with self.lock:
            limits = {
                "x-ratelimit-limit": str(self.rate_limit),
                "x-ratelimit-remaining": str(max(0, self.rate_limit - self.used)),
                "x-ratelimit-used": str(self.used),
                "x-ratelimit-reset": str(self.reset_at),
                "x-ratelimit-resource": "core",
            }
        return Reply(reply.status, reply.body, {**limits, **reply.headers})

    def handle(self, request: Request) -> Reply:
        match = _ROUTE.match(request.path)
        if match is None or f"{match[1]}/{match[2]}" != self.repo:
            return error(404, "Not Found")
        if not self.issues_enabled:
            return error(410, "Issues are disabled for this repo")
        number = int(match[3]) if match[3] else None
        if number is None:
            return self._create(request) if request.method == "POST" else self._list(request)
        if number not in self.issues:
            return error(404, "Not Found")
        if match[4]:
            return self._comments(request, number)
        if request.method == "PATCH":
            return self._patch(request, number)
        return Reply(200, self.issues[number])

    def _create(self, request: Request) -> Reply:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("title"), str | int):
            return error(
                422,
                "Validation Failed",
                errors=[{"resource": "Issue", "code": "missing_field", "field": "title"}],
            )
        number = len(self.issues) + 1
        labels = body.get("labels") or [] if self.can_label else []
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.issues[number] = {
            "number": number,
            "title": str(body["title"]),
            "body": body.get("body"),
            "state": "open",
            "state_reason": None,
            "labels": [{"name": name} for name in labels],
            "html_url": f"https://github.com/{self.repo}/issues/{number}",
            "created_at": now,
            "updated_at": now,
        }
        self.comments[number] = []
        return Reply(201, self.issues[number])

    def _list(self, request: Request) -> Reply:
        wanted = {name for name in request.arg("labels").split(",") if name}
        state = request.arg("state", "open")
        per_page, page = int(request.arg("per_page", "30")), int(request.arg("page", "1"))
        found = [
            issue
            for issue in sorted(self.issues.values(), key=lambda i: -int(i["number"]))
            if wanted <= {label["name"] for label in issue["labels"]}
            and (state == "all" or issue["state"] == state)
        ]
        headers = {}
        if len(found) > page * per_page:
            query = f"labels={','.join(sorted(wanted))}&state={state}&per_page={per_page}"
            url = f"{self.url}/repos/{self.repo}/issues?{query}&page={page + 1}"
            headers["Link"] = f'<{url}>; rel="next"'
        return Reply(200, found[(page - 1) * per_page : page * per_page], headers)

    def _comments(self, request: Request, number: int) -> Reply:
        if request.method == "GET":
            return Reply(200, self.comments[number])
        body = request.json()
        if not isinstance(body, dict) or not body.get("body"):
            return error(
                422,
                "Validation Failed",
                errors=[{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
            )
        comment = {"id": 1000 + sum(len(c) for c in self.comments.values()), "body": body["body"]}
        self.comments[number].append(comment)
        return Reply(201, comment)

    def _patch(self, request: Request, number: int) -> Reply:
        body = request.json()
        state = body.get("state", self.issues[number]["state"])
        if state not in ("open", "closed"):
            errors = [{"resource": "Issue", "code": "invalid", "field": "state"}]
            return error(422, "Validation Failed", errors=errors)
        self.issues[number].update(state=state, state_reason=body.get("state_reason"))
        return Reply(200, self.issues[number])

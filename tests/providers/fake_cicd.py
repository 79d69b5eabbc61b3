"""Local stand-ins for the CI/CD APIs the deploy webhook's examples drive, as their vendors
document them.

**Argo CD** (``/api/v1``, ``Authorization: Bearer <token>``, else 401 ``{"error", "code": 16,
"message"}``): ``GET /api/v1/applications/{name}`` (the Application: ``spec.source.targetRevision``,
``spec.source.helm.parameters``, ``status.sync.revision``, ``status.history`` oldest first, each
with ``id``, ``revision``, ``deployedAt``); ``POST /api/v1/applications/{name}/sync`` with
``{"revision", "prune"}`` (syncs to that revision at once; answers the Application);
``PATCH /api/v1/applications/{name}`` with ``{"patch": "<JSON merge patch>", "patchType":
"merge"}``. An unknown application is 404 ``{"error": "applications.argoproj.io \\"x\\" not
found", "code": 5}``; a role without the permission 403 ``permission denied`` (code 7).

**GitHub Actions** (``Authorization: Bearer <token>``, else 401 ``Bad credentials``):
``POST /repos/{o}/{r}/actions/workflows/{file}/dispatches`` with ``{"ref", "inputs"}`` answers
204 with no body (422 ``Unexpected inputs provided`` for inputs the workflow does not declare, 404
for an unknown workflow); the run happens later: a dispatched ``rollback.yml`` creates its
deployment only after ``lag_reads`` further reads. ``GET /repos/{o}/{r}/deployments?environment=``
lists that environment's deployments newest first (``ref``, ``payload``, ``environment``).
``freeze.yml`` and ``unfreeze.yml`` set and clear :attr:`locks` (the environment lock the
workflow would set). Failures, hangs and rate limits are injected as the base allows.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.providers.fake_http import FakeHttpServer, Reply, Request

_APP = re.compile(r"^/api/v1/applications/([^/]+)(/sync)?$")
_DISPATCH = re.compile(r"^/repos/([^/]+/[^/]+)/actions/workflows/([^/]+)/dispatches$")
_DEPLOYMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/deployments$")
WORKFLOW_INPUTS = {
    "rollback.yml": {"service", "component", "version", "ref"},
    "freeze.yml": {"service", "component", "freeze_id", "reason", "until"},
    "unfreeze.yml": {"service", "component", "freeze_id", "reason"},
}


@dataclass
class App:
    revision: str
    history: list[str] = field(default_factory=list)
    replicas: int = 2


def argo_error(status: int, code: int, message: str) -> Reply:
    return Reply(status, {"error": message, "code": code, "message": message})


def gh_error(status: int, message: str) -> Reply:
    return Reply(status, {"message": message, "documentation_url": "https://docs.github.com/rest"})


class FakeCiCd(FakeHttpServer):
    def __init__(
        self, *, argo_token: str = "", gh_token: str = "", repo: str = "", lag_reads: int = 0
    ) -> None:
        super().__init__()
        self.argo_token = argo_token
        self.gh_token = gh_token
        self.repo = repo
        self.lag_reads = lag_reads
        self.apps: dict[str, App] = {}
        self.deployments: dict[str, list[dict[str, Any]]] = {}
        self.denied: set[str] = set()
        """Argo CD actions (``sync``, ``update``) the token's role may not do."""
        self.echo = ""
        """Appended to a permission denied message (a proxy that echoes the request back)."""
        self.dispatches: list[tuple[str, dict[str, Any]]] = []
        self.locks: dict[str, str] = {}
        """environment -> the freeze id that locks it."""
        self._pending: list[tuple[int, str, dict[str, Any]]] = []
        self._ids = itertools.count(1)

    def handle(self, request: Request) -> Reply:
        app = _APP.match(request.path)
        if app:
            return self._argo(request, app.group(1), sync=bool(app.group(2)))
        dispatch = _DISPATCH.match(request.path)
        if dispatch and request.method == "POST":
            return self._dispatch(request, dispatch.group(1), dispatch.group(2))
        listed = _DEPLOYMENTS.match(request.path)
        if listed and request.method == "GET":
            return self._list(request, listed.group(1))
        return Reply(404, {"message": "Not Found"})

    # Argo CD
    def _argo(self, request: Request, name: str, *, sync: bool) -> Reply:
        if request.headers.get("Authorization") != f"Bearer {self.argo_token}":
            return argo_error(401, 16, "invalid session: token is invalid")
        app = self.apps.get(name)
        if app is None:
            return argo_error(404, 5, f'applications.argoproj.io "{name}" not found')
        action = {"GET": "get", "POST": "sync", "PATCH": "update"}.get(request.method, "")
        if not action or (request.method == "POST") != sync:
            return argo_error(405, 12, "method not allowed")
        if action in self.denied:
            denied = f"permission denied: applications, {action}, default/{name}{self.echo}"
            return argo_error(403, 7, denied)
        if action == "sync":
            revision = str(request.json().get("revision") or app.revision)
            if revision != app.revision:
                app.history.append(app.revision)
                app.revision = revision
        elif action == "update":
            body = request.json()
            if body.get("patchType") != "merge":
                return argo_error(400, 3, "unsupported patch type")
            patch = json.loads(body["patch"])
            for param in patch["spec"]["source"]["helm"]["parameters"]:
                if param["name"] == "replicaCount":
                    app.replicas = int(param["value"])
        return Reply(200, self.application(name))

    def application(self, name: str) -> dict[str, Any]:
        app = self.apps[name]
        revisions = [*app.history, app.revision]
        return {
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {
                    "targetRevision": app.revision,
                    "helm": {"parameters": [{"name": "replicaCount", "value": str(app.replicas)}]},
                },
            },
            "status": {
                "sync": {"status": "Synced", "revision": app.revision},
                "history": [
                    {"id": i, "revision": r, "deployedAt": "2026-12-06T00:00:00Z"}
                    for i, r in enumerate(revisions)
                ],
            },
        }

    # GitHub Actions and Deployments
    def _github_auth(self, request: Request, repo: str) -> Reply | None:
        if request.headers.get("Authorization") != f"Bearer {self.gh_token}":
            return gh_error(401, "Bad credentials")
        return None if repo == self.repo else gh_error(404, "Not Found")

    def _dispatch(self, request: Request, repo: str, workflow: str) -> Reply:
        refused = self._github_auth(request, repo)
        if refused is not None:
            return refused
        if workflow not in WORKFLOW_INPUTS:
            return gh_error(404, "Not Found")
        body = request.json()
        inputs = body.get("inputs") or {}
        unexpected = sorted(set(inputs) - WORKFLOW_INPUTS[workflow])
        if not body.get("ref") or unexpected:
            return gh_error(422, f"Unexpected inputs provided: {unexpected}")
        if not all(isinstance(v, str) for v in inputs.values()):
            return gh_error(422, "inputs are strings")
        self.dispatches.append((workflow, inputs))
        environment = f"{inputs['service']}-{inputs['component']}"
        if workflow == "rollback.yml":
            self._pending.append((self.lag_reads, environment, inputs))
        elif workflow == "freeze.yml":
            self.locks[environment] = inputs["freeze_id"]
        elif self.locks.get(environment) == inputs["freeze_id"]:
            del self.locks[environment]
        return Reply(204)

    def deploy(self, environment: str, version: str) -> None:
        self.deployments.setdefault(environment, []).insert(
            0,
            {
                "id": next(self._ids),
                "ref": version,
                "environment": environment,
                "task": "deploy",
                "payload": {"version": version},
            },
        )

    def _list(self, request: Request, repo: str) -> Reply:
        refused = self._github_auth(request, repo)
        if refused is not None:
            return refused
        waiting = []
        for reads, environment, inputs in self._pending:
            if reads <= 0:
                self.deploy(environment, inputs["version"])
            else:
                waiting.append((reads - 1, environment, inputs))
        self._pending = waiting
        per_page = int(request.arg("per_page", "30"))
        return Reply(200, self.deployments.get(request.arg("environment"), [])[:per_page])

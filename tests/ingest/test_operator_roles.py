"""Issue 11: decisions are bound to principals, and roles gate the operator API.

Each endpoint is refused (403) for every role below it and accepted for the role at or above it;
a decision is recorded with the principal of the token that made it, never with a body's name.
The defects these close, on the code before: one shared operator token let a caller approve
twice under two names (``by`` came from the body), or approve their own launch by naming
someone else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from orchestrator.config.principals import Principals
from orchestrator.domain.principals import Role
from orchestrator.workflows.types import IncidentPhase
from tests.ingest.conftest import make_settings
from tests.ingest.operators import BY_ROLE, as_, operator_client, principals
from tests.workflows.helpers import occurrence_handle, wait_for
from tests.workflows.signals import breach
from workers.api import build_app
from workers.runtime import Runtime

GONE = "incident-nope--nope"
UNKNOWN_SERVICE = {"playbook": "graceful-fallback", "service": "billing", "reason": "r"}
# (method, path, body, the least role it needs, the answer a permitted caller gets)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, Role, int]] = [
    ("GET", "/v1/incidents", None, Role.VIEWER, 200),
    ("GET", f"/v1/incidents/{GONE}", None, Role.VIEWER, 404),
    ("GET", "/v1/safety", None, Role.VIEWER, 200),
    ("POST", "/v1/incidents", UNKNOWN_SERVICE, Role.RESPONDER, 422),
    ("POST", "/v1/incidents", {**UNKNOWN_SERVICE, "fast_track": True}, Role.APPROVER, 422),
    ("POST", f"/v1/incidents/{GONE}/abort", {"reason": "r"}, Role.RESPONDER, 404),
    ("POST", f"/v1/incidents/{GONE}/approve", {}, Role.APPROVER, 404),
    ("POST", f"/v1/incidents/{GONE}/deny", {"reason": "r"}, Role.APPROVER, 404),
    ("POST", "/v1/safety/kill-switch", {"on": False, "reason": "r"}, Role.ADMIN, 200),
    ("GET", "/v1/reviews/RCA-404", None, Role.VIEWER, 404),
    ("POST", "/v1/reviews/RCA-404/close", {"resolution": "r"}, Role.RESPONDER, 404),
]


@pytest.fixture
async def api(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(runtime, temporal_client, make_settings(), principals())
    async with operator_client(app) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "body", "least", "permitted"), ENDPOINTS)
async def test_each_endpoint_needs_its_role(
    api: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    least: Role,
    permitted: int,
) -> None:
    for role, name in BY_ROLE.items():
        answer = await api.request(method, path, json=body, headers=as_(name))
        if role < least:
            assert answer.status_code == 403, (name, answer.text)
            assert "may not do this: it needs the" in answer.json()["message"]
        else:
            assert answer.status_code == permitted, (name, answer.text)


async def test_an_unknown_token_and_no_principals_are_401(
    api: httpx.AsyncClient, runtime: Runtime, temporal_client: Client
) -> None:
    for headers in ({}, {"Authorization": "Bearer orch_nobody-knows-this-token-123"}):
        assert (await api.get("/v1/incidents", headers=headers)).status_code == 401
    # Unauthenticated ingest never opens the operator API, and no principals means no caller.
    open_ingest = make_settings(allow_unauthenticated=True)
    app = build_app(runtime, temporal_client, open_ingest, principals=Principals())
    async with operator_client(app) as bare:
        refused = await bare.get("/v1/incidents")
        assert refused.status_code == 401
        assert "ORCHESTRATOR_TOKENS_FILE" in refused.json()["message"]
        assert (await bare.get("/v1/incidents", headers=as_("root.admin"))).status_code == 401


async def _approve(api: httpx.AsyncClient, incident: str, name: str, **body: str) -> httpx.Response:
    return await api.post(f"/v1/incidents/{incident}/approve", headers=as_(name), json=body)


async def test_two_person_rule_compares_principals_not_names(
    api: httpx.AsyncClient, runtime: Runtime, temporal_client: Client
) -> None:
    """An automatic incident's two-person step: one principal cannot approve twice, under its
    own name or another's; a second principal completes it; both are recorded by name."""
    result = await runtime.submitter(temporal_client).submit(
        breach("escalation-success", observed=0.97, burn=2.0)
    )
    incident = result.incident_id
    waiting = await wait_for(temporal_client, incident, IncidentPhase.AWAITING_APPROVAL)
    assert waiting.pending_approval is not None
    assert waiting.pending_approval.two_person

    first = await _approve(api, incident, "lead.sre")
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "waiting"
    as_another = await _approve(api, incident, "lead.sre", by="ana.approver")
    assert as_another.status_code == 422
    assert "must be you (lead.sre)" in as_another.json()["message"]
    again = await _approve(api, incident, "lead.sre")
    assert again.status_code == 422
    assert "already approved" in again.json()["message"]
    second = await _approve(api, incident, "ana.approver")
    assert second.status_code == 200, second.text
    assert second.json()["outcome"] == "granted"

    await api.post(
        f"/v1/incidents/{incident}/abort", headers=as_("maria.oncall"), json={"reason": "done"}
    )
    await (await occurrence_handle(temporal_client, incident)).result()  # audit drained
    timeline = await runtime.audit.timeline(incident)
    granted = [e for e in timeline if e.kind == "approval_granted"]
    assert granted and granted[-1].data.get("approvals") == ["lead.sre", "ana.approver"]
    aborted = [e for e in timeline if e.kind == "incident_aborted"]
    assert aborted and aborted[0].actor == "maria.oncall"


async def test_a_launcher_cannot_approve_their_own_launch(
    api: httpx.AsyncClient, runtime: Runtime, temporal_client: Client
) -> None:
    launched = await api.post(
        "/v1/incidents",
        headers=as_("ana.approver"),
        json={
            "playbook": "reliability-escalation-success",
            "service": "support-assistant",
            "reason": "hand-offs failing since the router deploy",
        },
    )
    assert launched.status_code == 202, launched.text
    incident = launched.json()["incident_id"]
    await wait_for(temporal_client, incident, IncidentPhase.AWAITING_APPROVAL)

    own = await _approve(api, incident, "ana.approver")
    assert own.status_code == 422
    assert "launched this and may not approve" in own.json()["message"]
    disguised = await _approve(api, incident, "ana.approver", by="lead.sre")
    assert disguised.status_code == 422
    other = await _approve(api, incident, "lead.sre", reason="router rollback is safe")
    assert other.status_code == 200, other.text
    assert other.json()["outcome"] == "granted"

    await api.post(
        f"/v1/incidents/{incident}/abort", headers=as_("lead.sre"), json={"reason": "done"}
    )
    await (await occurrence_handle(temporal_client, incident)).result()
    timeline = await runtime.audit.timeline(incident)
    launch = [e for e in timeline if e.kind == "manual_launch"]
    assert launch and launch[0].actor == "ana.approver"
    granted = [e for e in timeline if e.kind == "approval_granted"]
    assert granted and granted[0].actor == "lead.sre"


async def test_the_kill_switch_is_admin_only_and_audited(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    refused = await api.post(
        "/v1/safety/kill-switch", headers=as_("lead.sre"), json={"on": True, "reason": "x"}
    )
    assert refused.status_code == 403
    assert not (await runtime.ops.safety.kill_switch()).on
    on = await api.post(
        "/v1/safety/kill-switch",
        headers=as_("root.admin"),
        json={"on": True, "reason": "bad deploy train"},
    )
    assert on.status_code == 200, on.text
    switch = await runtime.ops.safety.kill_switch()
    assert switch.on and switch.by == "root.admin" and switch.reason == "bad deploy train"
    seen = await api.get("/v1/safety", headers=as_("sam.viewer"))
    assert seen.json()["kill_switch"]["by"] == "root.admin"
    off = await api.post(
        "/v1/safety/kill-switch", headers=as_("root.admin"), json={"on": False, "reason": "ok"}
    )
    assert off.status_code == 200
    changes = await runtime.audit.timeline("safety")
    assert [(e.kind, e.actor, e.data["on"]) for e in changes] == [
        ("safety_changed", "root.admin", True),
        ("safety_changed", "root.admin", False),
    ]
    assert "bad deploy train" in changes[0].summary

"""Issue 11: the kill switch is shared by every worker host, and read at every destructive step.

Two hosts: two runtimes (each its own state folder, task queue and workflow id prefix, and its own
safety-ledger object and database connection) and two workers, on one PostgreSQL audit database
(the real server, a fresh schema per test). Each host runs one SEV1 fairness incident; both wait
for the approval of their first destructive step (``rollback-prompt``). The kill switch is turned
on through the operator API of host A; once approved, the step is refused on both hosts.

On the code before the shared ledger, the switch was a JSON file in host A's state folder: host B
never saw it and rolled its prompt back. And ``ORCHESTRATOR_KILL_SWITCH`` was copied into the
incident's input when it started, so setting it on a worker later did nothing to the incidents
already running (the second test).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from orchestrator.workflows.types import IncidentPhase, IncidentState
from tests.audit.conftest import PG_URL, pg_run, pg_schema  # noqa: F401 - fixtures, by name
from tests.ingest.conftest import make_settings
from tests.ingest.operators import as_, operator_client, principals
from tests.workflows.conftest import HarnessFactory
from tests.workflows.harness import Harness
from tests.workflows.signals import breach
from workers.api import build_app

pytestmark = pytest.mark.postgres
SEV1 = {"observed": 7.4, "burn": 16.0}  # language-gap at SEV1: rollback-prompt waits for approval
PROMPT_BEFORE = "answer-prompt-v42"


@pytest.fixture
def audit_url(request: pytest.FixtureRequest) -> str:
    return f"{PG_URL}?schema={request.getfixturevalue('pg_schema')}"


def host(tmp_path: Path, name: str, audit_url: str, **more: object) -> dict[str, object]:
    """The settings that make a runtime another host on the shared audit database."""
    return {
        "state_dir": tmp_path / name,
        "task_queue": f"{name}-{uuid.uuid4().hex[:10]}",
        "workflow_id_prefix": f"{name}{uuid.uuid4().hex[:8]}",
        "audit_url": audit_url,
        **more,
    }


async def waiting(h: Harness) -> str:
    """Open a SEV1 fairness incident on ``h``'s host; its id, once it waits for approval."""
    incident = await h.submit(breach("language-gap", **SEV1))
    await h.until(incident, IncidentPhase.AWAITING_APPROVAL)
    return incident


async def approved(h: Harness, incident: str) -> IncidentState:
    await h.approve(incident, "ana.sre")
    return await h.until(incident, IncidentPhase.MONITORING, step="rollback-prompt")


def rollback(state: IncidentState) -> str:
    return next(s.detail for s in state.steps if s.id == "rollback-prompt")


async def test_the_switch_turned_on_through_the_api_stops_both_hosts_at_their_next_step(
    make_harness: HarnessFactory, tmp_path: Path, audit_url: str
) -> None:
    async with (
        make_harness(**host(tmp_path, "a", audit_url)) as a,
        make_harness(**host(tmp_path, "b", audit_url)) as b,
    ):
        on_a, on_b = await waiting(a), await waiting(b)
        app = build_app(a.runtime, a.client, make_settings(), principals())
        async with operator_client(app) as api:
            answer = await api.post(
                "/v1/safety/kill-switch",
                headers=as_("root.admin"),
                json={"on": True, "reason": "bad deploy day"},
            )
        assert answer.status_code == 200, answer.text
        assert (await b.runtime.ops.safety.kill_switch()).on, "host B reads the same switch"

        for h, incident in ((a, on_a), (b, on_b)):
            state = await approved(h, incident)
            assert "kill switch on (by root.admin: bad deploy day)" in rollback(state), rollback(
                state
            )
            assert await h.version("prompt") == PROMPT_BEFORE, "the prompt was not rolled back"
            assert "kill-switch" in await h.page_purposes()
        assert [e.actor for e in await a.runtime.audit.timeline("safety")] == ["root.admin"]


async def test_the_worker_floor_holds_incidents_that_started_before_it_was_set(
    make_dev_harness: HarnessFactory, tmp_path: Path, audit_url: str
) -> None:
    """On the real dev server: a worker restarted on a task queue takes its workflows over there
    (the time-skipping server leaves them on the stopped worker's sticky queue)."""
    settings = host(tmp_path, "c", audit_url)
    async with make_dev_harness(**settings) as before:
        incident = await waiting(before)
        before.started.clear()  # not aborted at the end: the restarted worker takes it over
    # The same host restarted with ORCHESTRATOR_KILL_SWITCH set: the floor, whatever the
    # database says (its switch is off) and whatever the incident's input says.
    async with make_dev_harness(**settings, kill_switch=True) as after:
        after.started.add(incident)
        assert not (await after.runtime.ops.safety.kill_switch()).on
        state = await approved(after, incident)
        assert "ORCHESTRATOR_KILL_SWITCH on this worker" in rollback(state), rollback(state)
        assert await after.version("prompt") == PROMPT_BEFORE

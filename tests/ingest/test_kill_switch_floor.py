"""ORCHESTRATOR_KILL_SWITCH on the API's host is a floor: the switch cannot be turned off there.

The worker side of the floor (a worker with it set is notify-only whatever the database says) is
tested in tests/activities/test_safety_ledger.py and tests/workflows/test_shared_kill_switch.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from orchestrator.config.settings import Settings
from tests.ingest.conftest import make_settings
from tests.ingest.operators import as_, operator_client, principals
from workers.api import build_app
from workers.runtime import Runtime, build_runtime


@pytest.fixture
async def floored(settings: Settings) -> AsyncIterator[Runtime]:
    async with build_runtime(settings.with_overrides(kill_switch=True)) as rt:
        yield rt


async def test_turning_the_switch_off_under_the_floor_is_refused_with_422(
    floored: Runtime, temporal_client: Client
) -> None:
    app = build_app(floored, temporal_client, make_settings(), principals())
    admin = as_("root.admin")
    async with operator_client(app) as api:
        on = await api.post(
            "/v1/safety/kill-switch", headers=admin, json={"on": True, "reason": "x"}
        )
        assert on.status_code == 200, on.text
        off = await api.post(
            "/v1/safety/kill-switch", headers=admin, json={"on": False, "reason": "all clear"}
        )
        assert off.status_code == 422, off.text
        assert off.json()["error"] == "kill_switch_floor"
        assert "ORCHESTRATOR_KILL_SWITCH is set on this API's host" in off.json()["message"]
        status = (await api.get("/v1/safety", headers=as_("sam.viewer"))).json()
    assert status["floor"] is True and status["kill_switch"]["on"] is True
    assert (await floored.ops.safety.kill_switch()).on, "the database's switch stayed on"
    changes = await floored.audit.timeline("safety")
    assert [e.data["on"] for e in changes] == [True], "the refused change is not recorded"


async def test_without_the_floor_the_api_says_so_and_turns_it_off(
    runtime: Runtime, temporal_client: Client
) -> None:
    app = build_app(runtime, temporal_client, make_settings(), principals())
    async with operator_client(app) as api:
        off = await api.post(
            "/v1/safety/kill-switch", headers=as_("root.admin"), json={"on": False, "reason": "r"}
        )
        assert off.status_code == 200, off.text
        assert off.json()["floor"] is False

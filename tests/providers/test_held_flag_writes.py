"""A held flag change on LaunchDarkly (the real REST adapter, the local stand-in): what it costs.

The first mitigating change of most playbooks is a held segment rule; every request before its
PATCH delays what users wait for (issue 15).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from orchestrator.activities.flags import FlagActivities
from orchestrator.activities.holdings import Holdings
from orchestrator.activities.types import FlagChangeInput
from orchestrator.audit.factory import open_holding_store
from tests.providers.conftest import ld_provider
from tests.providers.fake_launchdarkly import FakeLaunchDarkly
from tests.providers.test_launchdarkly import KEY


def route_es(holder: str) -> FlagChangeInput:
    return FlagChangeInput(
        incident_id=holder.split("/")[0],
        step_key="route-segment-to-humans",
        flag=KEY,
        kind="route_segment",
        variation="human-queue",
        ref="unused-when-held",
        attribute="language",
        values=("es",),
        comment=f"{holder}: route es to human queue",
        holder=holder,
    )


async def test_a_held_segment_rule_reads_only_to_plan_and_to_check_the_version(
    fake_ld: FakeLaunchDarkly, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    store = open_holding_store(f"sqlite:///{tmp_path / 'audit.db'}")
    acts = FlagActivities(
        ld_provider(fake_ld, http),
        evaluator=None,  # type: ignore[arg-type]  # not evaluated here
        holdings=Holdings(store),
    )
    first = await acts.apply_flag_change(route_es("inc-1/route"))
    assert first.changed and first.holding
    # the plan's read, the version check right before the semantic patch (launchdarkly.py), the
    # patch: nothing read for the holding itself (a rule of its own has no baseline to read)
    assert [m for m, _, _ in fake_ld.requests] == ["GET", "GET", "PATCH"]

    # A second incident routing the same segment joins the rule, nothing to write: the read
    # ahead (made while the holding was joined) finds the rule, and, nothing to do being said by
    # a read from before the join, a read made after it confirms the rule is still there.
    fake_ld.requests.clear()
    second = await acts.apply_flag_change(route_es("inc-2/route"))
    assert not second.changed and second.holding == first.holding
    assert [m for m, _, _ in fake_ld.requests] == ["GET", "GET"]
    holding = await Holdings(store).get(first.holding)
    assert holding is not None and [h.id for h in holding.holders] == ["inc-1/route", "inc-2/route"]

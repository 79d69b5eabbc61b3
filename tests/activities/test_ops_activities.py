"""The deployment, release, notice, safety and flag-undo activities, run in Temporal's activity
environment against the real local providers (and a lying one, to show verification)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.activities.deploy import DeployActivities
from orchestrator.activities.flags import FlagActivities
from orchestrator.activities.notices import NoticeActivities
from orchestrator.activities.ops_types import (
    AuthorizeInput,
    FreezeInput,
    LiftInput,
    PageInput,
    PinInput,
    RestoreInput,
    ReviewInput,
    ScaleInput,
)
from orchestrator.activities.releases import ReleaseActivities
from orchestrator.activities.safety import SafetyActivities
from orchestrator.activities.safety_ledger import open_safety_ledger
from orchestrator.activities.types import FlagChangeInput, RevertFlagInput
from orchestrator.domain.ops_models import (
    ActionRequest,
    ComponentState,
    FreezeRequest,
    PageRequest,
    ReviewDraft,
)
from orchestrator.domain.policy_limits import BreakerLimit, SafetyLimits
from orchestrator.providers.local_deploy import LocalDeployments
from orchestrator.providers.local_flags import LocalFlagStore
from orchestrator.providers.local_ops import LocalOps, local_ops
from tests.providers.conftest import ANSWER_MODE
from tests.providers.test_ops_providers import SVC, catalog

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ENV = ActivityEnvironment()


@pytest.fixture
def ops(tmp_path: Path) -> LocalOps:
    built = local_ops(tmp_path)
    built.deploy.ensure_components(catalog())
    return built


def pin(version: str, component: str = "prompt") -> PinInput:
    return PinInput(service=SVC, component=component, version=version, ref="inc/rollback")


async def test_pin_is_verified_and_idempotent(ops: LocalOps) -> None:
    acts = DeployActivities(ops.deploy)
    first = await ENV.run(acts.pin_component_version, pin("answer-prompt-v41"))
    assert (first.version_before, first.version_after, first.changed) == (
        "answer-prompt-v42",
        "answer-prompt-v41",
        True,
    )
    again = await ENV.run(acts.pin_component_version, pin("answer-prompt-v41"))
    assert not again.changed and "already serves" in again.detail


async def test_pin_previous_uses_what_the_provider_ran_before(ops: LocalOps) -> None:
    acts = DeployActivities(ops.deploy)
    result = await ENV.run(acts.pin_component_version, pin("previous", component="retrieval"))
    assert result.version_after == "kb-index-2026-11-18"


async def test_permanent_problems_are_not_retried(tmp_path: Path) -> None:
    deploy = LocalDeployments(tmp_path / "c.json")
    state = ComponentState(service=SVC, component="prompt", version="p-1")
    (tmp_path / "c.json").write_text(
        json.dumps({"components": {f"{SVC}/prompt": state.model_dump(mode="json")}})
    )
    acts = DeployActivities(deploy)
    with pytest.raises(ApplicationError, match="no component 'ranker'") as unknown:
        await ENV.run(acts.pin_component_version, pin("v1", component="ranker"))
    assert unknown.value.non_retryable
    with pytest.raises(ApplicationError, match="has no previous version") as no_previous:
        await ENV.run(acts.pin_component_version, pin("previous"))
    assert no_previous.value.non_retryable


class LyingDeployments(LocalDeployments):
    """Accepts every pin and changes nothing: the activity must notice."""

    async def pin(
        self, service: str, component: str, version: str, *, ref: str, if_current: str | None = None
    ) -> ComponentState:
        return await self.state(service, component)


async def test_a_pin_that_did_not_take_is_an_error_to_retry(tmp_path: Path) -> None:
    deploy = LyingDeployments(tmp_path / "c.json")
    deploy.ensure_components(catalog())
    with pytest.raises(ApplicationError, match="serves 'answer-prompt-v42', not") as caught:
        await ENV.run(DeployActivities(deploy).pin_component_version, pin("answer-prompt-v41"))
    assert caught.value.type == "EffectNotVerified" and not caught.value.non_retryable


async def test_restore_is_compare_and_set(ops: LocalOps) -> None:
    acts = DeployActivities(ops.deploy)
    await ENV.run(acts.pin_component_version, pin("answer-prompt-v41"))
    undo = RestoreInput(
        service=SVC,
        component="prompt",
        kind="version",
        expect="answer-prompt-v41",
        restore="answer-prompt-v42",
        ref="inc/rollback",
    )
    restored = await ENV.run(acts.restore_component, undo)
    assert restored.restored and (await ops.deploy.state(SVC, "prompt")).version.endswith("v42")
    await ops.deploy.pin(SVC, "prompt", "answer-prompt-v43", ref="a-release")
    left = await ENV.run(acts.restore_component, undo)
    assert not left.restored and "changed since" in left.detail
    assert (await ops.deploy.state(SVC, "prompt")).version == "answer-prompt-v43"


async def test_scale_and_scale_back(ops: LocalOps) -> None:
    acts = DeployActivities(ops.deploy)
    scaled = await ENV.run(
        acts.scale_component, ScaleInput(service=SVC, component="model", replicas=6, ref="r")
    )
    assert (scaled.replicas_before, scaled.replicas_after) == (1, 6)
    back = RestoreInput(
        service=SVC, component="model", kind="replicas", expect="6", restore="1", ref="r"
    )
    assert (await ENV.run(acts.restore_component, back)).restored
    assert (await ops.deploy.state(SVC, "model")).replicas == 1


async def test_freeze_and_lift_are_verified(ops: LocalOps) -> None:
    acts = ReleaseActivities(ops.freezes, clock=lambda: T0)
    request = FreezeRequest(
        id="inc/freeze",
        service=SVC,
        component="prompt",
        reason="prompt regression",
        owner="cx-ai-platform",
        until=T0 + timedelta(days=7),
    )
    frozen = await ENV.run(acts.freeze_releases, FreezeInput(request=request))
    assert frozen.active and "frozen until 2026-12-03" in frozen.detail
    lifted = await ENV.run(acts.lift_freeze, LiftInput(freeze_id="inc/freeze", by="o", reason="r"))
    assert lifted.freeze.lifted_by == "o"
    assert await ops.freezes.active(SVC, "prompt", T0) == []
    with pytest.raises(ApplicationError) as unknown:
        await ENV.run(acts.lift_freeze, LiftInput(freeze_id="nope", by="o", reason="r"))
    assert unknown.value.non_retryable


async def test_review_and_page_are_read_back(ops: LocalOps) -> None:
    acts = NoticeActivities(ops.tickets, ops.pager, clock=lambda: T0)
    draft = ReviewDraft(
        key="inc/review",
        incident_id="inc",
        service=SVC,
        slo="language-gap",
        severity="SEV2",
        title="Fairness review",
        owner="cx-ai-platform",
        deadline=T0 + timedelta(days=5),
        verification="gap <= 3 pts",
        evidence={"flags_changed": []},
    )
    review = await ENV.run(acts.open_incident_review, ReviewInput(draft=draft))
    assert review.ticket.id == "RCA-1" and "RCA-1 opened for cx-ai-platform" in review.detail
    again = await ENV.run(acts.open_incident_review, ReviewInput(draft=draft))
    assert again.ticket.id == "RCA-1"
    page = await ENV.run(
        acts.page_oncall,
        PageInput(request=PageRequest(key="k", incident_id="inc", target="oncall", summary="s")),
    )
    assert page.page.id == "PAGE-1" and "paged oncall" in page.detail


async def test_authorize_applies_the_service_limits(tmp_path: Path) -> None:
    limits = SafetyLimits(
        actions={"release.freeze": BreakerLimit(max_actions=1, window_seconds=60)}
    )
    ledger = open_safety_ledger(f"sqlite:///{tmp_path / 'audit.db'}")
    acts = SafetyActivities(ledger, limits, clock=lambda: T0)

    def req(key: str) -> AuthorizeInput:
        return AuthorizeInput(
            request=ActionRequest(key=key, service=SVC, action="release.freeze", automated=True)
        )

    assert (await ENV.run(acts.authorize_action, req("a"))).allowed
    refused = await ENV.run(acts.authorize_action, req("b"))
    assert not refused.allowed and refused.reason == "circuit-breaker"
    await ledger.close()


async def test_revert_flag_change_removes_only_its_rule_and_restores_only_its_default(
    tmp_path: Path,
) -> None:
    store = LocalFlagStore(tmp_path / "state.json", tmp_path / "sdk.json")
    store.ensure_flags([ANSWER_MODE])
    acts = FlagActivities(store, evaluator=None)  # type: ignore[arg-type]  # not evaluated here
    flag = ANSWER_MODE.key
    route = FlagChangeInput(
        incident_id="i",
        step_key="i/route",
        flag=flag,
        kind="route_segment",
        variation="human-queue",
        ref="orchestrator-route",
        attribute="language",
        values=("es",),
        comment="c",
    )
    await ENV.run(acts.apply_flag_change, route)
    undo = RevertFlagInput(flag=flag, kind="flag_rule", ref="orchestrator-route", comment="undo")
    removed = await ENV.run(acts.revert_flag_change, undo)
    assert removed.changed and (await store.get_flag(flag)).rules == ()
    assert not (await ENV.run(acts.revert_flag_change, undo)).changed  # idempotent

    default = route.model_copy(update={"kind": "set_default", "variation": "retrieval-only"})
    await ENV.run(acts.apply_flag_change, default)
    restore = RevertFlagInput(
        flag=flag, kind="flag_default", expect="retrieval-only", restore="assistant", comment="u"
    )
    assert (await ENV.run(acts.revert_flag_change, restore)).after["fallthrough"] == "assistant"
    await ENV.run(acts.apply_flag_change, default.model_copy(update={"variation": "human-queue"}))
    left = await ENV.run(acts.revert_flag_change, restore)
    assert not left.changed and "changed since" in left.detail
    assert left.after["fallthrough"] == "human-queue"

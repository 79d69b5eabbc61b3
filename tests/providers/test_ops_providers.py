"""The local operational providers: deployments, release freezes, tickets, pager, safety ledger."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.config.files import load_safety_limits
from orchestrator.domain.catalog import Catalog, parse_catalog
from orchestrator.domain.ops_models import ActionRequest, FreezeRequest, PageRequest, ReviewDraft
from orchestrator.domain.policy_limits import BreakerLimit
from orchestrator.errors import CatalogError, NotFoundError, ProviderError
from orchestrator.providers.local_deploy import LocalDeployments
from orchestrator.providers.local_ops import local_ops
from orchestrator.providers.paging import LocalPager
from orchestrator.providers.releases import LocalReleaseFreezes
from orchestrator.providers.safety import LocalSafetyLedger
from orchestrator.providers.tickets import LocalTickets

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SVC = "support-assistant"


def catalog() -> Catalog:
    path = ROOT / "catalog" / "catalog.yaml"
    return parse_catalog(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture
def deployments(tmp_path: Path) -> LocalDeployments:
    store = LocalDeployments(tmp_path / "components.json")
    store.ensure_components(catalog())
    return store


async def test_components_are_seeded_from_the_catalog_once(deployments: LocalDeployments) -> None:
    prompt = await deployments.state(SVC, "prompt")
    assert prompt.version == "answer-prompt-v42"
    assert prompt.previous == "answer-prompt-v41"  # the known-good one served before
    await deployments.pin(SVC, "prompt", "answer-prompt-v43", ref="someone")
    assert deployments.ensure_components(catalog()) == []  # never overwrites
    assert (await deployments.state(SVC, "prompt")).version == "answer-prompt-v43"


async def test_pin_keeps_history_and_is_idempotent(deployments: LocalDeployments) -> None:
    after = await deployments.pin(SVC, "prompt", "answer-prompt-v41", ref="inc/rollback")
    assert (after.version, after.previous, after.pinned_by) == (
        "answer-prompt-v41",
        "answer-prompt-v42",
        "inc/rollback",
    )
    again = await deployments.pin(SVC, "prompt", "answer-prompt-v41", ref="inc/rollback")
    assert again == after


async def test_compare_and_set_leaves_a_changed_component_alone(
    deployments: LocalDeployments,
) -> None:
    await deployments.pin(SVC, "prompt", "answer-prompt-v41", ref="a")
    unchanged = await deployments.pin(
        SVC, "prompt", "answer-prompt-v40", ref="b", if_current="answer-prompt-v42"
    )
    assert unchanged.version == "answer-prompt-v41"
    scaled = await deployments.scale(SVC, "model", 4, ref="a")
    assert scaled.replicas == 4
    assert (await deployments.scale(SVC, "model", 1, ref="b", if_current=2)).replicas == 4


async def test_unknown_component_is_permanent(deployments: LocalDeployments) -> None:
    with pytest.raises(ProviderError, match="no component 'ranker'") as caught:
        await deployments.state(SVC, "ranker")
    assert caught.value.retryable is False


async def test_freezes(tmp_path: Path) -> None:
    freezes = LocalReleaseFreezes(tmp_path / "freezes.json")
    request = FreezeRequest(
        id="inc/freeze",
        service=SVC,
        component="prompt",
        reason="Spanish answers regressed",
        owner="cx-ai-platform",
        until=T0 + timedelta(hours=2),
    )
    first = await freezes.freeze(request, T0)
    assert await freezes.freeze(request.model_copy(update={"reason": "other"}), T0) == first
    assert [f.id for f in await freezes.active(SVC, "prompt", T0)] == ["inc/freeze"]
    assert await freezes.active(SVC, "model", T0) == []
    assert await freezes.active(SVC, None, T0 + timedelta(hours=3)) == []  # expired
    lifted = await freezes.lift("inc/freeze", by="maria", reason="fixed", now=T0)
    assert lifted.lifted_by == "maria" and not lifted.active_at(T0)
    again = await freezes.lift("inc/freeze", by="ben", reason="x", now=T0 + timedelta(1))
    assert again == lifted
    with pytest.raises(NotFoundError):
        await freezes.lift("nope", by="x", reason="y", now=T0)


def draft(key: str) -> ReviewDraft:
    return ReviewDraft(
        key=key,
        incident_id="incident-x",
        service=SVC,
        slo="language-gap",
        severity="SEV2",
        title="Fairness review",
        owner="cx-ai-platform",
        deadline=T0 + timedelta(days=5),
        verification="gap <= 3 points over 500 reviewed conversations",
    )


async def test_tickets_open_once_per_key_with_unique_ids_under_concurrency(tmp_path: Path) -> None:
    tickets = LocalTickets(tmp_path / "reviews.json")
    opened = await asyncio.gather(
        *(tickets.open_review(draft(f"k{i % 10}"), T0) for i in range(30))
    )
    ids = {t.key: t.id for t in opened}
    assert len(ids) == 10 and len(set(ids.values())) == 10
    assert len(await tickets.all()) == 10
    found = await tickets.get(ids["k3"])
    assert found is not None and found.key == "k3"


async def test_pager_pages_once_per_key(tmp_path: Path) -> None:
    pager = LocalPager(tmp_path / "pages.json")
    request = PageRequest(key="inc/page", incident_id="i", target="cx-ai-oncall", summary="help")
    first = await pager.page(request, T0)
    assert await pager.page(request, T0 + timedelta(minutes=1)) == first
    assert [p.id for p in await pager.all()] == [first.id]


async def test_local_pages_are_acknowledged_then_resolved_per_incident(tmp_path: Path) -> None:
    pager = LocalPager(tmp_path / "pages.json")
    mine = [PageRequest(key=f"i/{n}", incident_id="i", target="t", summary="s") for n in (1, 2)]
    other = PageRequest(key="j/1", incident_id="j", target="t", summary="s")
    ids = [(await pager.page(r, T0)).id for r in (*mine, other)]
    assert await pager.acknowledge_incident("i", T0) == ids[:2]
    assert await pager.acknowledge_incident("i", T0) == []
    assert await pager.resolve_incident("i", T0) == ids[:2]
    assert await pager.resolve_incident("i", T0) == []
    assert [await pager.state(i) for i in ids] == ["resolved", "resolved", "triggered"]
    assert await pager.state("nope") is None


def action(key: str, automated: bool = True) -> ActionRequest:
    return ActionRequest(key=key, service=SVC, action="deploy.pin_version", automated=automated)


async def test_ledger_breaker_counts_automated_actions_in_the_window(tmp_path: Path) -> None:
    ledger = LocalSafetyLedger(tmp_path / "ledger.json")
    limit = BreakerLimit(max_actions=2, window_seconds=3600)
    results = [await ledger.authorize(action(f"a{i}"), limit, T0, 3600) for i in range(3)]
    assert [r.allowed for r in results] == [True, True, False]
    assert results[2].reason == "circuit-breaker"
    # A retry of an action already authorized stays authorized and is not counted twice.
    retry = await ledger.authorize(action("a1"), limit, T0, 3600)
    assert (retry.allowed, retry.reason) == (True, "recorded-before")
    # A person's decision is never refused by the breaker.
    person = await ledger.authorize(action("p", automated=False), limit, T0, 3600)
    assert person.allowed and "person" in person.detail
    # An hour later the window is empty again.
    later = await ledger.authorize(action("a9"), limit, T0 + timedelta(hours=1, seconds=1), 3600)
    assert later.allowed


async def test_kill_switch_refuses_every_action(tmp_path: Path) -> None:
    ledger = LocalSafetyLedger(tmp_path / "ledger.json")
    limit = BreakerLimit(max_actions=5, window_seconds=60)
    switch = await ledger.set_kill_switch(True, by="maria", reason="bad deploy day", now=T0)
    assert (await ledger.kill_switch()) == switch
    refused = await ledger.authorize(action("x", automated=False), limit, T0, 60)
    assert (refused.allowed, refused.reason) == (False, "kill-switch")
    assert "maria" in refused.detail
    await ledger.set_kill_switch(False, by="maria", reason="over", now=T0)
    assert (await ledger.authorize(action("x"), limit, T0, 60)).allowed


def test_local_ops_live_in_the_state_folder(tmp_path: Path) -> None:
    ops = local_ops(tmp_path)
    assert repr(ops.safety) == f"LocalSafetyLedger('{tmp_path / 'safety' / 'ledger.json'}')"


def test_safety_limits_file_beside_the_catalog(tmp_path: Path) -> None:
    catalog_path = tmp_path / "catalog.yaml"
    assert load_safety_limits(catalog_path).default.max_actions == 3
    (tmp_path / "safety.yaml").write_text(
        "circuit_breaker:\n  default: {max_actions: 1, window_seconds: 60}\n"
    )
    assert load_safety_limits(catalog_path).default.max_actions == 1
    (tmp_path / "safety.yaml").write_text("circuit_breaker: {default: 3}\n")
    with pytest.raises(CatalogError, match=r"safety\.yaml"):
        load_safety_limits(catalog_path)


def test_shipped_safety_limits_load() -> None:
    limits = load_safety_limits(ROOT / "catalog" / "catalog.yaml")
    assert limits.limit_for(SVC, "deploy.pin_version").max_actions >= 1

"""The local operational providers: deployments, release freezes, tickets, pager.

The safety ledger is shared through the audit database: tests/activities/test_safety_ledger.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.config.files import load_safety_limits
from orchestrator.domain.catalog import Catalog, parse_catalog
from orchestrator.domain.ops_models import FreezeRequest, PageRequest, ReviewDraft
from orchestrator.errors import CatalogError, NotFoundError, ProviderError
from orchestrator.providers.local_deploy import LocalDeployments
from orchestrator.providers.paging import LocalPager
from orchestrator.providers.releases import LocalReleaseFreezes
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


async def test_local_tickets_close_once(tmp_path: Path) -> None:
    tickets = LocalTickets(tmp_path / "reviews.json")
    opened = await tickets.open_review(draft("k"), T0)
    closed = await tickets.close_review(opened.id, "prompt v7 lost Spanish few-shots", T0)
    assert closed.status == "closed" and closed.resolution == "prompt v7 lost Spanish few-shots"
    assert await tickets.close_review(opened.id, "other words", T0) == closed
    assert await tickets.get(opened.id) == closed
    with pytest.raises(NotFoundError):
        await tickets.close_review("RCA-99", "x", T0)


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

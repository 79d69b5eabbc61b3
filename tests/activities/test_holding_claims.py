"""A holding whose baseline is known without a read (a rule of its own, a freeze) is claimed in one
write to the holdings store: the same holding the two-write claim stores, one fsync'd transaction
less before the first change (issue 15); and, where nobody holds it yet, without reading the store
first (the write creates it only where no row is)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from orchestrator.activities.holdings import Holdings
from orchestrator.audit.factory import open_holding_store
from orchestrator.audit.holdings import HoldingStore, StoredHolding
from orchestrator.domain.holdings import ON, Holding

RULE = "flag_rule:support-assistant-answer-mode:user.language in es:serves human-queue"


class Counting:
    """The real store, counting the writes that reach it."""

    def __init__(self, inner: HoldingStore) -> None:
        self.inner = inner
        self.puts = 0
        self.gets = 0

    async def get(self, target: str) -> StoredHolding | None:
        self.gets += 1
        return await self.inner.get(target)

    async def put(
        self, target: str, body: dict[str, Any], *, expect_version: int
    ) -> StoredHolding | None:
        self.puts += 1
        return await self.inner.put(target, body, expect_version=expect_version)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def counted(tmp_path: Path) -> Counting:
    return Counting(open_holding_store(f"sqlite:///{tmp_path / 'audit.db'}"))


def shape(holding: Holding) -> tuple[object, ...]:
    return (
        holding.kind,
        holding.phase,
        holding.baseline,
        [(h.id, h.desired) for h in holding.holders],
        holding.spec,
    )


async def test_a_known_baseline_is_claimed_in_one_write_and_stores_the_same_holding(
    tmp_path: Path,
) -> None:
    store = counted(tmp_path)
    holdings = Holdings(store)  # type: ignore[arg-type]
    spec = {"flag": "support-assistant-answer-mode", "ref": "r1"}
    known = await holdings.join(RULE, "flag_rule", "inc-1/route", ("", ON), spec)
    assert store.puts == 1

    async def read(_current: Holding | None) -> tuple[str, str]:
        return "", ON

    store.puts = 0
    other = RULE.replace("es", "fr")
    read_first = await holdings.join(other, "flag_rule", "inc-1/route", read, spec)
    assert store.puts == 2  # claim, then capture: the reading path is unchanged
    assert shape(known) == shape(read_first)
    assert shape(known) == ("flag_rule", "held", "", [("inc-1/route", ON)], spec)
    assert await holdings.get(RULE) == known


async def test_two_incidents_claiming_at_once_share_one_holding(tmp_path: Path) -> None:
    """The compare-and-swap the one write carries: one claims, the other finds it and joins."""
    store = counted(tmp_path)
    holdings = Holdings(store)  # type: ignore[arg-type]
    spec = {"flag": "support-assistant-answer-mode", "ref": "r1"}
    await asyncio.gather(
        *(holdings.join(RULE, "flag_rule", f"inc-{n}/route", ("", ON), spec) for n in (1, 2))
    )
    stored = await holdings.get(RULE)
    assert stored is not None
    assert sorted(h.id for h in stored.holders) == ["inc-1/route", "inc-2/route"]
    assert (stored.phase, stored.baseline) == ("held", "")


async def test_a_fresh_known_claim_does_not_read_the_store_first(tmp_path: Path) -> None:
    store = counted(tmp_path)
    holdings = Holdings(store)  # type: ignore[arg-type]
    spec = {"flag": "support-assistant-answer-mode", "ref": "r1"}
    first = await holdings.join(RULE, "flag_rule", "inc-1/route", ("", ON), spec)
    assert (store.gets, store.puts) == (0, 1)

    # a retry of the same holder: the row is there, so it is read, and found held
    store.gets = store.puts = 0
    again = await holdings.join(RULE, "flag_rule", "inc-1/route", ("", ON), spec)
    assert shape(again) == shape(first)
    assert store.gets == 1
    assert store.puts == 1  # the create that found the row: nothing written

    # another holder: read, then joined (the baseline stays the first holder's)
    joined = await holdings.join(RULE, "flag_rule", "inc-2/route", ("", ON), spec)
    assert [h.id for h in joined.holders] == ["inc-1/route", "inc-2/route"]
    stored = await holdings.get(RULE)
    assert stored is not None and [h.id for h in stored.holders] == ["inc-1/route", "inc-2/route"]

"""The shared safety ledger (kill switch, circuit breaker) on SQLite and on the real PostgreSQL.

Each test opens several ledgers on one audit database, as several worker hosts do: each its own
connection, none sharing memory with another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.activities.safety_ledger import (
    LEDGER_TARGET,
    SAFETY_LEDGER_TABLE,
    SharedSafetyLedger,
    open_safety_ledger,
)
from orchestrator.audit.factory import open_holding_store
from orchestrator.domain.ops_models import ActionRequest
from orchestrator.domain.policy_limits import BreakerLimit
from tests.audit.conftest import PG_URL, pg_run, pg_schema  # noqa: F401 - fixtures, by name

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SVC = "support-assistant"
HOUR = BreakerLimit(max_actions=2, window_seconds=3600)
Hosts = Callable[..., SharedSafetyLedger]


def action(key: str, automated: bool = True, act: str = "deploy.pin_version") -> ActionRequest:
    return ActionRequest(key=key, service=SVC, action=act, automated=automated)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return f"{PG_URL}?schema={request.getfixturevalue('pg_schema')}"


@pytest.fixture
async def host(audit_url: str) -> AsyncIterator[Hosts]:
    """Opens one more host's ledger on the shared database (closed at the end)."""
    opened: list[SharedSafetyLedger] = []

    def make(*, floor: bool = False) -> SharedSafetyLedger:
        opened.append(open_safety_ledger(audit_url, floor=floor))
        return opened[-1]

    yield make
    for ledger in opened:
        await ledger.close()


async def stored_actions(audit_url: str) -> list[str]:
    store = open_holding_store(audit_url, table=SAFETY_LEDGER_TABLE)
    try:
        held = await store.get(LEDGER_TARGET)
    finally:
        await store.close()
    return [] if held is None else [a["key"] for a in held.body.get("actions", [])]


async def test_the_switch_set_on_one_host_is_seen_by_another(host: Hosts) -> None:
    a, b = host(), host()
    assert not (await b.kill_switch()).on
    switch = await a.set_kill_switch(True, by="maria", reason="bad deploy day", now=T0)
    assert (await b.kill_switch()) == switch
    refused = await b.authorize(action("x", automated=False), HOUR, T0, 3600)
    assert (refused.allowed, refused.reason) == (False, "kill-switch")
    assert "maria: bad deploy day" in refused.detail
    await b.set_kill_switch(False, by="lead", reason="over", now=T0)
    assert not (await a.kill_switch()).on
    assert (await a.authorize(action("x"), HOUR, T0, 3600)).allowed


async def test_the_breaker_counts_automated_actions_of_every_host(host: Hosts) -> None:
    a, b = host(), host()
    first = await a.authorize(action("a0"), HOUR, T0, 3600)
    second = await b.authorize(action("a1"), HOUR, T0, 3600)
    third = await a.authorize(action("a2"), HOUR, T0, 3600)
    assert [first.allowed, second.allowed, third.allowed] == [True, True, False]
    assert third.reason == "circuit-breaker"
    other = await b.authorize(action("f0", act="release.freeze"), HOUR, T0, 3600)
    assert other.allowed, "the breaker counts per service and action"
    person = await b.authorize(action("p", automated=False), HOUR, T0, 3600)
    assert person.allowed and "person" in person.detail
    later = await a.authorize(action("a9"), HOUR, T0 + timedelta(hours=1, seconds=1), 3600)
    assert later.allowed


async def test_a_retry_recorded_before_is_allowed_once_and_counted_once(
    host: Hosts, audit_url: str
) -> None:
    a, b = host(), host()
    assert (await a.authorize(action("a0"), HOUR, T0, 3600)).allowed
    retry = await b.authorize(action("a0"), HOUR, T0, 3600)  # the activity retried on host B
    assert (retry.allowed, retry.reason) == (True, "recorded-before")
    assert (await b.authorize(action("a1"), HOUR, T0, 3600)).allowed
    assert await stored_actions(audit_url) == ["a0", "a1"]


async def test_old_actions_are_dropped_after_the_longest_window(
    host: Hosts, audit_url: str
) -> None:
    ledger = host()
    await ledger.authorize(action("old"), HOUR, T0, 3600)
    await ledger.authorize(action("new"), HOUR, T0 + timedelta(hours=2), 3600)
    assert await stored_actions(audit_url) == ["new"]


async def test_the_floor_refuses_whatever_the_database_says(host: Hosts, audit_url: str) -> None:
    floored, other = host(floor=True), host()
    assert not (await floored.kill_switch()).on  # the database's switch is off
    refused = await floored.authorize(action("x", automated=False), HOUR, T0, 3600)
    assert (refused.allowed, refused.reason) == (False, "kill-switch")
    assert "ORCHESTRATOR_KILL_SWITCH" in refused.detail and refused.kill_switch.on
    assert await stored_actions(audit_url) == []
    assert (await other.authorize(action("x"), HOUR, T0, 3600)).allowed  # only that host


async def test_concurrent_hosts_never_exceed_the_breaker(host: Hosts, audit_url: str) -> None:
    hosts = [host() for _ in range(4)]
    limit = BreakerLimit(max_actions=5, window_seconds=3600)
    keys = [f"c{i}" for i in range(24)]
    answers = await asyncio.gather(
        *(hosts[i % 4].authorize(action(key), limit, T0, 3600) for i, key in enumerate(keys))
    )
    allowed = sorted(key for key, answer in zip(keys, answers, strict=True) if answer.allowed)
    assert len(allowed) == 5
    assert {a.reason for a in answers if not a.allowed} == {"circuit-breaker"}
    assert sorted(await stored_actions(audit_url)) == allowed


async def test_no_action_is_lost_or_recorded_after_a_concurrent_switch(
    host: Hosts, audit_url: str
) -> None:
    hosts = [host() for _ in range(4)]
    limit = BreakerLimit(max_actions=1000, window_seconds=3600)

    async def turn_on() -> None:
        await asyncio.sleep(0.01)
        await hosts[0].set_kill_switch(True, by="maria", reason="stop", now=T0)

    keys = [f"k{i}" for i in range(30)]
    answers, _ = await asyncio.gather(
        asyncio.gather(
            *(hosts[i % 4].authorize(action(key), limit, T0, 3600) for i, key in enumerate(keys))
        ),
        turn_on(),
    )
    allowed = sorted(key for key, answer in zip(keys, answers, strict=True) if answer.allowed)
    assert sorted(await stored_actions(audit_url)) == allowed  # every allowed one, nothing else
    assert {a.reason for a in answers if not a.allowed} <= {"kill-switch"}
    assert (await hosts[3].kill_switch()).on
    assert not (await hosts[2].authorize(action("after"), limit, T0, 3600)).allowed


async def test_the_authorizations_of_one_host_take_turns(audit_url: str) -> None:
    """Many incidents of one worker asking at once: each reads the ledger once and writes it
    once (before, they lost their swaps to each other: 40 at once made hundreds of reads, and
    100 took seconds, in front of every first mitigating change)."""
    store = open_holding_store(audit_url, table=SAFETY_LEDGER_TABLE)
    ledger = SharedSafetyLedger(store)
    reads, lost = 0, 0
    get, put = store.get, store.put

    async def counted_get(target: str) -> Any:
        nonlocal reads
        reads += 1
        return await get(target)

    async def counted_put(target: str, body: Any, **kwargs: Any) -> Any:
        nonlocal lost
        written = await put(target, body, **kwargs)
        lost += written is None
        return written

    store.get, store.put = counted_get, counted_put  # type: ignore[method-assign]
    limit = BreakerLimit(max_actions=1000, window_seconds=3600)
    keys = [f"t{i}" for i in range(40)]
    try:
        answers = await asyncio.gather(
            *(ledger.authorize(action(k), limit, T0, 3600) for k in keys)
        )
    finally:
        await ledger.close()
    assert all(answer.allowed for answer in answers)
    assert sorted(await stored_actions(audit_url)) == sorted(keys)
    assert (reads, lost) == (40, 0)

"""Signed webhooks: timestamped by default, and each signature accepted once by all replicas.

Real HTTP through the Starlette app; the seen-signature cache is the real compare-and-swap store
in a real audit database, SQLite and PostgreSQL (a fresh schema per test). Every refusal is a 401
that names the failed check, and nothing reaches the submitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import structlog

from orchestrator.audit.factory import open_holding_store, split_schema, sqlite_path
from orchestrator.audit.holdings import HoldingStore
from orchestrator.audit.holdings_postgres import PostgresHoldingStore
from orchestrator.audit.holdings_sqlite import SqliteHoldingStore
from orchestrator.audit.seen import SEEN_SIGNATURES_TABLE, SeenSignatures, open_seen_signatures
from orchestrator.config.ingest import IngestSettings, SourceAuth
from orchestrator.domain.catalog import Catalog
from orchestrator.domain.signatures import signature
from orchestrator.errors import ConfigError
from orchestrator.ingest import create_app
from orchestrator.secrets import Secret
from tests.audit.conftest import PG_URL, pg_run, pg_schema  # noqa: F401 - fixtures, by name
from tests.ingest.conftest import make_settings, wall_clock
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.samples import GENERIC_SIGNAL, GENERIC_TOKEN, bearer, body_of, sample

GENERIC_HMAC = "generic-hmac-secret-6d1c7e"
SIG, STAMP = "X-Orchestrator-Signature", "X-Orchestrator-Timestamp"
BODY = body_of(GENERIC_SIGNAL)


def signed_settings(*, untimestamped: bool = False) -> IngestSettings:
    generic = SourceAuth(
        tokens=(Secret(GENERIC_TOKEN),),
        hmac_secrets=(Secret(GENERIC_HMAC),),
        hmac_untimestamped=untimestamped,
    )
    return make_settings(auth={**make_settings().auth, "generic": generic})


def signed(body: bytes, *, at: int | None = None, secret: str = GENERIC_HMAC) -> dict[str, str]:
    """What a generic sender puts on a delivery: token, timestamp, HMAC of "<timestamp>:body"."""
    stamp = str(int(time.time()) if at is None else at)
    return {**bearer(GENERIC_TOKEN), STAMP: stamp, SIG: signature(secret, body, stamp)}


@dataclass
class Replica:
    """One API replica: its own app, submitter and cache connection, over the shared database."""

    client: httpx.AsyncClient
    submitter: MemorySubmitter

    async def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post("/v1/signals", content=body, headers=headers)


@contextlib.asynccontextmanager
async def replica(
    catalog: Catalog, url: str, settings: IngestSettings | None = None
) -> AsyncIterator[Replica]:
    settings = settings or signed_settings()
    seen = open_seen_signatures(url, window_seconds=settings.timestamp_window_seconds)
    submitter = MemorySubmitter(catalog)
    app = create_app(submitter, settings, catalog=catalog, seen_signatures=seen, clock=wall_clock)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            yield Replica(client, submitter)
    finally:
        await seen.close()


def refused(response: httpx.Response, target: Replica, words: str) -> None:
    assert response.status_code == 401, response.text
    assert words in response.json()["message"]
    assert GENERIC_HMAC not in response.text
    assert target.submitter.validated == 0
    assert target.submitter.submitted == []


async def recorded(url: str) -> list[str]:
    store = open_holding_store(url, table=SEEN_SIGNATURES_TABLE)
    try:
        return [held.target for held in await store.all()]
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One audit database shared by the replicas of a test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return f"{PG_URL}?schema={request.getfixturevalue('pg_schema')}"


async def test_a_replay_is_refused_by_another_replica(catalog: Catalog, audit_url: str) -> None:
    async with replica(catalog, audit_url) as first, replica(catalog, audit_url) as second:
        headers = signed(BODY)
        accepted = await first.post(BODY, headers)
        assert accepted.status_code == 202, accepted.text
        assert len(first.submitter.submitted) == 1
        replayed = await second.post(BODY, headers)
        refused(replayed, second, "signature already used (replay)")
        assert (await first.post(BODY, headers)).status_code == 401
        # The same body signed anew (another timestamp) is a new delivery.
        fresh = await second.post(BODY, signed(BODY, at=int(headers[STAMP]) - 1))
        assert fresh.status_code == 202, fresh.text
        # Two replicas given one signature at the same moment: exactly one accepts it.
        other = body_of({**sample(GENERIC_SIGNAL), "dedupe_key": "race-1"})
        race = signed(other)
        answers = await asyncio.gather(first.post(other, race), second.post(other, race))
        assert sorted(a.status_code for a in answers) == [202, 401]
    assert len(await recorded(audit_url)) == 3


def _reserialised(body: bytes) -> bytes:
    return json.dumps(json.loads(body), indent=2, sort_keys=True).encode()


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


Case = Callable[[], tuple[bytes, dict[str, str]]]
BAD: dict[str, tuple[Case, str]] = {
    "missing signature": (lambda: (BODY, _without(signed(BODY), SIG)), f"missing {SIG}"),
    "wrong secret": (lambda: (BODY, signed(BODY, secret="not-it")), "does not match"),
    "other body": (lambda: (BODY.replace(b"task-success", b"ttft-p95"), signed(BODY)), "match"),
    "re-serialised body": (lambda: (_reserialised(BODY), signed(BODY)), "does not match"),
    "truncated body": (lambda: (BODY[: len(BODY) // 2], signed(BODY)), "does not match"),
    "stale timestamp": (lambda: (BODY, signed(BODY, at=int(time.time()) - 301)), "too old"),
    "future timestamp": (lambda: (BODY, signed(BODY, at=int(time.time()) + 305)), "in the future"),
    "no timestamp": (
        lambda: (BODY, {**bearer(GENERIC_TOKEN), SIG: signature(GENERIC_HMAC, BODY)}),
        f"missing {STAMP} header (signatures must be timestamped)",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
async def test_bad_signatures_are_refused_and_never_recorded(
    catalog: Catalog, tmp_path: Path, case: str
) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    make, words = BAD[case]
    body, headers = make()
    async with replica(catalog, url) as one:
        refused(await one.post(body, headers), one, words)
    assert await recorded(url) == []  # unauthenticated posts never fill the table


async def test_untimestamped_hmac_needs_the_opt_in(catalog: Catalog, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    headers = {**bearer(GENERIC_TOKEN), SIG: signature(GENERIC_HMAC, BODY)}
    with structlog.testing.capture_logs() as logs:
        async with replica(catalog, url) as strict:
            refused(await strict.post(BODY, headers), strict, f"missing {STAMP} header")
    assert not [entry for entry in logs if entry["log_level"] == "warning"]
    with structlog.testing.capture_logs() as logs:
        async with replica(catalog, url, signed_settings(untimestamped=True)) as lenient:
            accepted = await lenient.post(BODY, headers)
            assert accepted.status_code == 202, accepted.text
            # Still accepted once: a replay within the window is refused.
            refused_again = await lenient.post(BODY, headers)
            # A timestamped signature still works, and its window still applies.
            stale = await lenient.post(BODY, signed(BODY, at=int(time.time()) - 301))
    assert refused_again.status_code == 401
    assert "signature already used (replay)" in refused_again.json()["message"]
    assert stale.status_code == 401
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert [(w["event"], w["source"]) for w in warnings] == [
        ("untimestamped webhook signatures accepted", "generic")
    ]
    assert warnings[0]["setting"] == "ORCHESTRATOR_INGEST_GENERIC_HMAC_UNTIMESTAMPED"


async def test_a_signed_source_needs_a_replay_cache(catalog: Catalog) -> None:
    with pytest.raises(ConfigError, match="no seen-signature cache"):
        create_app(MemorySubmitter(catalog), signed_settings(), catalog=catalog)


@pytest.mark.parametrize("where", ["postgres refused", "sqlite unwritable"])
async def test_an_unreachable_cache_refuses_with_503(
    catalog: Catalog, tmp_path: Path, where: str
) -> None:
    if where == "sqlite unwritable":
        (tmp_path / "a-file").write_text("not a folder")
        url = f"sqlite:///{tmp_path / 'a-file' / 'audit.db'}"
    else:
        url = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1
    async with replica(catalog, url) as one:
        response = await one.post(BODY, signed(BODY))
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "replay_check_unavailable"
    assert "could not be checked for replay" in response.json()["message"]
    assert response.headers["retry-after"] == "30"
    assert one.submitter.validated == 0 and one.submitter.submitted == []


async def test_a_delivery_failed_on_our_side_may_be_retried(
    catalog: Catalog, audit_url: str
) -> None:
    async with replica(catalog, audit_url) as one:
        headers = signed(BODY)
        one.submitter.available = False
        assert (await one.post(BODY, headers)).status_code == 503
        one.submitter.available = True
        retried = await one.post(BODY, headers)
        assert retried.status_code == 202, retried.text
        assert (await one.post(BODY, headers)).status_code == 401


def _store_with_clock(url: str, clock: Callable[[], datetime]) -> HoldingStore:
    if url.startswith("sqlite"):
        return SqliteHoldingStore(sqlite_path(url), table=SEEN_SIGNATURES_TABLE, clock=clock)
    dsn, schema = split_schema(url)
    return PostgresHoldingStore(dsn, schema, table=SEEN_SIGNATURES_TABLE, clock=clock)


async def test_signatures_are_remembered_for_twice_the_window(audit_url: str) -> None:
    start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    now = [start]
    seen = SeenSignatures(_store_with_clock(audit_url, lambda: now[0]), window_seconds=300)

    async def first_use(sig: str, seconds: int) -> bool:
        now[0] = start + timedelta(seconds=seconds)
        return await seen.first_use("generic", sig * 32, now[0])

    try:
        assert await first_use("ab", 0)
        assert not await first_use("ab", 599)  # a timestamp may be a window ahead: 2 windows
        assert await first_use("cd", 599)
        assert await first_use("ab", 601)  # forgotten, though not swept yet
        assert await first_use("ef", 1300)  # the sweep (at most once a minute) runs here
    finally:
        await seen.close()
    targets = await recorded(audit_url)
    assert targets == [SeenSignatures.target("generic", "ef" * 32)]
    assert "ef" * 32 not in targets[0]  # a digest is stored, not the signature

"""``GET /v1/audit/events`` and ``/v1/audit/stats`` in process over a real store (SQLite and
PostgreSQL): filters, pages with ``next``, figures, and the 401/422 answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from orchestrator.audit.query import FILTER_FIELDS
from orchestrator.ingest.audit_api import _FILTER_DOCS, AuditApi
from orchestrator.ingest.openapi import build_openapi
from orchestrator.ingest.operators import OperatorGuard
from tests.audit.conftest import Backend, backend, pg_run, pg_schema  # noqa: F401 - fixtures
from tests.audit.test_stats import OTHER, fill
from tests.ingest.operators import as_, operator_client, principals

SEV1 = f"{OTHER}--20261127-200000"
VIEWER = as_("sam.viewer")


@pytest.fixture
async def api(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811 - the fixture
    await fill(backend.store)
    guard = OperatorGuard(principals(), max_body_bytes=1024, max_depth=8, retry_after_seconds=5)
    app = Starlette(routes=AuditApi(guard, backend.store).routes())
    async with operator_client(app) as client:
        yield client


async def test_events_filtered_and_paged_with_next(api: httpx.AsyncClient) -> None:
    got = await api.get("/v1/audit/events", params={"severity": "SEV1"}, headers=VIEWER)
    assert got.status_code == 200, got.text
    body = got.json()
    assert {e["incident_id"] for e in body["events"]} == {SEV1} and body["next"] is None
    seen: list[int] = []
    params = {"target": "support-assistant-answer-mode", "limit": "4"}
    while True:
        page = (await api.get("/v1/audit/events", params=params, headers=VIEWER)).json()
        seen += [e["seq"] for e in page["events"]]
        if page["next"] is None:
            break
        assert page["next"] == seen[-1]
        params["after"] = str(page["next"])
    assert len(seen) == 10 and seen == sorted(seen)


async def test_stats(api: httpx.AsyncClient) -> None:
    got = await api.get("/v1/audit/stats", params={"service": "support-assistant"}, headers=VIEWER)
    assert got.status_code == 200, got.text
    figures = got.json()
    assert figures["incidents"] == 5 and figures["by_segment"] == {"language=es": 5}
    assert figures["time_to_recover"] == {"n": 5, "median_seconds": 300.0, "p90_seconds": 1000.0}
    assert figures["recurring_keys"][0]["occurrences"] == 5


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (
            "events",
            {"kind": "flag_changed"},
            "unknown kind 'flag_changed'; valid: signal_received,",
        ),
        ("events", {"since": "soon"}, "since must be like 7d, 12h, 30m or an ISO time"),
        ("events", {"colour": "red"}, "unknown filter 'colour'; valid: occurrence, key,"),
        ("events", {"limit": "0"}, "limit: must be between 1 and 10000, got 0"),
        ("events", {"after": "x"}, "after: must be an integer, got 'x'"),
        ("stats", {"severity": "SEV9"}, "unknown severity 'SEV9'; valid: SEV1, SEV2, SEV3, SEV4"),
        ("stats", {"limit": "5"}, "unknown filter 'limit'"),
    ],
)
async def test_bad_filters_are_422_naming_the_problem(
    api: httpx.AsyncClient, path: str, params: dict[str, str], message: str
) -> None:
    got = await api.get(f"/v1/audit/{path}", params=params, headers=VIEWER)
    assert got.status_code == 422
    assert got.json()["error"] == "invalid" and got.json()["message"].startswith(message)


@pytest.mark.parametrize("path", ["events", "stats"])
async def test_a_token_is_needed(api: httpx.AsyncClient, path: str) -> None:
    assert (await api.get(f"/v1/audit/{path}")).status_code == 401
    wrong = {"Authorization": "Bearer orch_not-a-token-of-anyone-0123456789"}
    assert (await api.get(f"/v1/audit/{path}", headers=wrong)).status_code == 401


def test_the_document_describes_every_filter() -> None:
    assert tuple(_FILTER_DOCS) == FILTER_FIELDS
    events = build_openapi()["paths"]["/v1/audit/events"]["get"]
    names = [p["name"] for p in events["parameters"]]
    assert names == [*FILTER_FIELDS, "limit", "after"]


def test_every_reference_in_the_document_names_a_schema_it_has() -> None:
    document = build_openapi()
    schemas = set(document["components"]["schemas"])

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [str(node["$ref"])] if "$ref" in node else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    missing = sorted({r for r in refs(document) if r.rsplit("/", 1)[-1] not in schemas})
    assert missing == []

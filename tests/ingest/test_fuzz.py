"""Property-based fuzz of the three POST endpoints, driven by the served OpenAPI document.

Bodies: schema-shaped payloads (often with catalog services, so they reach the submitter),
arbitrary JSON and arbitrary bytes. Headers: right, wrong or missing tokens and signatures, odd
content types and encodings. Whatever arrives, the answer is never a 5xx and nothing raises.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from orchestrator.domain.catalog import Catalog
from orchestrator.domain.signatures import signature
from orchestrator.ingest import create_app
from orchestrator.ingest.openapi import build_openapi
from tests.ingest.conftest import load_catalog, make_settings, seen_signatures_in, wall_clock
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.samples import (
    AM_TOKEN,
    GENERIC_TOKEN,
    GRAFANA_HMAC,
    GRAFANA_TOKEN,
    GRAFANA_TS_HEADER,
)
from tests.ingest.schema_strategies import ANY_JSON, SchemaStrategies

CATALOG: Catalog = load_catalog()
DOCUMENT = build_openapi()
SCHEMAS = SchemaStrategies(DOCUMENT["components"]["schemas"])
TOKENS = {
    "/v1/signals/alertmanager": AM_TOKEN,
    "/v1/signals/grafana": GRAFANA_TOKEN,
    "/v1/signals": GENERIC_TOKEN,
}
SERVICES = [s.name for s in CATALOG.services] * 4 + ["unknown-service", "Bad Name", ""]
SLOS = [slo.name for s in CATALOG.services for slo in s.slos] + ["no-such-slo", ""]


def _body_schema(path: str) -> dict[str, Any]:
    content = DOCUMENT["paths"][path]["post"]["requestBody"]["content"]
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


def _catalog_labels() -> st.SearchStrategy[dict[str, str]]:
    """Labels a Sloth, Pyrra or hand-written rule would carry, naming catalog SLOs most often."""
    label = st.text(max_size=12)
    return st.fixed_dictionaries(
        {"service": st.sampled_from(SERVICES), "slo": st.sampled_from(SLOS)},
        optional={
            "segment": st.sampled_from(["language=es", "tier=gold", "bad", "=x", "k="]) | label,
            "observed": st.sampled_from(["0.87", "nan", "1e999", "-3", "x"]) | label,
            "burn_rate": st.sampled_from(["14.4", "-1", "inf"]) | label,
            "severity": st.sampled_from(["critical", "warning", "page", "PAGE"]) | label,
            "long": st.sampled_from(["1h", "6h", "1d", "4d"]) | label,
            "dimension": st.sampled_from(["accuracy", "latency", "fairness", "x" * 70]) | label,
        },
    )


def _with_catalog_alerts(payload: Any, labels: list[dict[str, str]]) -> Any:
    if isinstance(payload, dict) and isinstance(payload.get("alerts"), list):
        for alert, chosen in zip(payload["alerts"], labels, strict=False):
            if isinstance(alert, dict):
                alert["labels"] = chosen
    return payload


def _generic_item() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"service": st.sampled_from(SERVICES), "slo": st.sampled_from(SLOS)},
        optional={
            "status": st.sampled_from(["firing", "resolved", "pending"]),
            "segment": st.sampled_from(["language=es", "nope"])
            | st.dictionaries(st.sampled_from(["key", "value", "other"]), st.text(max_size=5)),
            "observed": st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4),
            "burn_rate": st.floats(allow_nan=False, allow_infinity=False),
            "dimension": st.sampled_from(["accuracy", "fairness", "nope"]),
        },
    )


@st.composite
def bodies(draw: st.DrawFn, path: str) -> bytes:
    kind = draw(st.sampled_from(["schema", "catalog", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        value = draw(ANY_JSON)
    elif path == "/v1/signals" and kind == "catalog":
        value = draw(_generic_item() | st.lists(_generic_item(), min_size=0, max_size=4))
    else:
        value = draw(SCHEMAS.for_schema(_body_schema(path)))
        if kind == "catalog":
            value = _with_catalog_alerts(value, draw(st.lists(_catalog_labels(), max_size=5)))
    return json.dumps(value).encode()


@st.composite
def headers(draw: st.DrawFn, path: str, body: bytes) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    auth = draw(st.sampled_from(["right", "right", "right", "wrong", "none", "junk"]))
    if auth == "right":
        out.append((b"authorization", f"Bearer {TOKENS[path]}".encode()))
    elif auth == "wrong":
        out.append((b"authorization", b"Bearer " + draw(st.binary(min_size=1, max_size=40))))
    elif auth == "junk":
        value = draw(st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b))
        out.append((b"authorization", value.strip() or b"x"))
    if path == "/v1/signals/grafana":
        stamp = str(int(time.time()) + draw(st.sampled_from([0, 0, 0, -400, 400])))
        sign = draw(st.sampled_from(["right", "right", "other", "none", "garbage"]))
        if sign != "none":
            out.append((GRAFANA_TS_HEADER.encode(), stamp.encode()))
            mac = {
                "right": signature(GRAFANA_HMAC, body, stamp),
                "other": signature(GRAFANA_HMAC, body + b"x", stamp),
                "garbage": draw(st.text(alphabet="0123456789abcdefXYZ ", max_size=70)),
            }[sign]
            out.append((b"x-grafana-alerting-signature", mac.encode()))
    content_type = draw(st.sampled_from(["application/json", "text/plain", "", "application/x"]))
    if content_type:
        out.append((b"content-type", content_type.encode()))
    if draw(st.integers(0, 9)) == 9:
        out.append((b"content-encoding", draw(st.sampled_from([b"gzip", b"identity", b"br"]))))
    return out


SUBMITTER = MemorySubmitter(CATALOG)
APP = create_app(
    SUBMITTER,
    make_settings(max_body_bytes=64 * 1024, max_alerts=20),
    catalog=CATALOG,
    seen_signatures=seen_signatures_in(":memory:"),
    clock=wall_clock,
)


async def _post(path: str, body: bytes, head: list[tuple[bytes, bytes]]) -> httpx.Response:
    transport = httpx.ASGITransport(app=APP)  # re-raises anything the app raises
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
        return await client.post(path, content=body, headers=head)


@pytest.mark.parametrize("path", list(TOKENS))
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_endpoints_never_fail(path: str, data: st.DataObject) -> None:
    body = data.draw(bodies(path), label="body")
    head = data.draw(headers(path, body), label="headers")
    SUBMITTER.available = data.draw(st.integers(0, 9), label="temporal up") < 9
    response = asyncio.run(_post(path, body, head))
    event(f"status {response.status_code}")
    # The one 5xx allowed is the deliberate 503 while Temporal is away.
    assert response.status_code < 500 or response.status_code == 503, response.text
    if response.status_code == 503:
        assert not SUBMITTER.available
        assert response.json()["error"] == "temporal_unavailable"
        assert response.headers["retry-after"]
    assert response.headers["content-type"].startswith("application/json")
    for secret in (AM_TOKEN, GRAFANA_TOKEN, GENERIC_TOKEN, GRAFANA_HMAC):
        assert secret not in response.text

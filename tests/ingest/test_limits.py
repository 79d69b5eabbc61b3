"""Bounded at the door: every bad input gets a 4xx that says what was wrong, and nothing is
half-applied; an unreachable Temporal gets a 503 with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from orchestrator.ingest import IngestMetrics
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.samples import (
    ALERTMANAGER_V4,
    AM_TOKEN,
    GENERIC_SIGNAL,
    GENERIC_TOKEN,
    am_alert,
    am_payload,
    bearer,
    body_of,
    sample,
)

AM = "/v1/signals/alertmanager"
MIB = 1024 * 1024


def _padded(size: int) -> bytes:
    payload = sample(ALERTMANAGER_V4)
    payload["commonAnnotations"] = {"padding": ""}
    base = len(body_of(payload))
    payload["commonAnnotations"]["padding"] = "x" * (size - base)
    return body_of(payload)


async def _chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_body_at_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    body = _padded(MIB)
    assert len(body) == MIB
    response = await client.post(AM, content=body, headers=bearer(AM_TOKEN))
    assert response.status_code == 202, response.text


async def test_declared_length_over_the_limit(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    response = await client.post(AM, content=_padded(MIB + 1), headers=bearer(AM_TOKEN))
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert submitter.submitted == []


async def test_chunked_body_over_the_limit(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    body = _padded(MIB + 100)
    response = await client.post(AM, content=_chunks(body), headers=bearer(AM_TOKEN))
    assert response.status_code == 413
    assert "larger than 1048576 bytes" in response.json()["message"]
    assert submitter.submitted == []


async def test_chunked_body_under_the_limit(client: httpx.AsyncClient) -> None:
    body = _padded(200_000)
    response = await client.post(AM, content=_chunks(body, 4096), headers=bearer(AM_TOKEN))
    assert response.status_code == 202


async def test_too_many_alerts(client: httpx.AsyncClient, submitter: MemorySubmitter) -> None:
    alerts = [am_alert("support-assistant", "task-success", f"{i:x}") for i in range(501)]
    response = await client.post(AM, content=body_of(am_payload(alerts)), headers=bearer(AM_TOKEN))
    assert response.status_code == 413
    body = response.json()
    assert body["error"] == "too_many_alerts"
    assert "501 alerts; at most 500" in body["message"]
    assert submitter.validated == 0


async def test_too_many_generic_signals(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/signals", content=body_of([GENERIC_SIGNAL] * 501), headers=bearer(GENERIC_TOKEN)
    )
    assert response.status_code == 413


@pytest.mark.parametrize("depth", [33, 200, 100_000])
async def test_deep_nesting(client: httpx.AsyncClient, depth: int) -> None:
    body = b'{"alerts": ' + b"[" * depth + b"]" * depth + b"}"
    response = await client.post(AM, content=body, headers=bearer(AM_TOKEN))
    assert response.status_code == 400
    assert response.json() == {
        "error": "too_deep",
        "message": "JSON nesting is deeper than 32 levels",
    }


async def test_nesting_at_the_limit_is_parsed(client: httpx.AsyncClient) -> None:
    body = b"[" * 31 + b"{}" + b"]" * 31  # 32 levels: parsed, then refused as a bad payload
    response = await client.post(AM, content=body, headers=bearer(AM_TOKEN))
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (b'{"version": "4", "receiver": "\xff\xfe"}', "invalid_utf8", "not valid UTF-8"),
        (b"\xc3\x28", "invalid_utf8", "byte offset 0"),
        (b'{"version": "4",', "invalid_json", "not valid JSON"),
        (b"{'version': '4'}", "invalid_json", "line 1 column 2"),
        (b'{"observed": NaN}', "invalid_json", "NaN"),
        (b'{"observed": 1e999}', "invalid_json", "out of range"),
        (b'{"n": ' + b"9" * 5000 + b"}", "invalid_json", "out of range"),
        (b'{"receiver": "\\ud800"}', "invalid_json", "unpaired surrogate"),
        (b'{"\\udfff": 1}', "invalid_json", "unpaired surrogate"),
        (b"", "invalid_json", "empty"),
        (b"   \n", "invalid_json", "empty"),
    ],
)
async def test_bad_bytes(
    client: httpx.AsyncClient, submitter: MemorySubmitter, body: bytes, code: str, words: str
) -> None:
    response = await client.post(AM, content=body, headers=bearer(AM_TOKEN))
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert words in response.json()["message"]
    assert submitter.validated == 0


async def test_compressed_body_is_refused(client: httpx.AsyncClient) -> None:
    headers = {**bearer(AM_TOKEN), "Content-Encoding": "gzip"}
    response = await client.post(AM, content=b"\x1f\x8b", headers=headers)
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda p: p.update(version="3"), "version"),
        (lambda p: p.pop("alerts"), "alerts"),
        (lambda p: p["alerts"][1].update(status="pending"), "alerts[1].status"),
        (lambda p: p["alerts"][0]["labels"].update(n=3), "alerts[0].labels.n"),
        (lambda p: p.update(truncatedAlerts=-1), "truncatedAlerts"),
    ],
)
async def test_payload_shape_errors(
    client: httpx.AsyncClient, submitter: MemorySubmitter, mutate: object, words: str
) -> None:
    payload = sample(ALERTMANAGER_V4)
    mutate(payload)  # type: ignore[operator]
    response = await client.post(AM, content=body_of(payload), headers=bearer(AM_TOKEN))
    assert response.status_code == 422
    assert any(words in p["message"] for p in response.json()["problems"]), response.text
    assert submitter.submitted == []


async def test_unknown_service_refuses_the_whole_payload(
    client: httpx.AsyncClient, submitter: MemorySubmitter, metrics: IngestMetrics
) -> None:
    alerts = [
        am_alert("support-assistant", "task-success", "ok1"),
        {
            **am_alert("billing-bot", "task-success", "bad1"),
            "labels": {
                "sloth_service": "billing-bot",
                "sloth_slo": "task-success",
                "dimension": "accuracy",
            },
        },
        am_alert("support-assistant", "no-such-slo", "bad2"),
    ]
    alerts[2]["labels"]["dimension"] = "accuracy"
    response = await client.post(AM, content=body_of(am_payload(alerts)), headers=bearer(AM_TOKEN))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_alerts"
    assert [p["alert"] for p in body["problems"]] == [1, 2]
    assert "unknown service 'billing-bot'" in body["problems"][0]["message"]
    assert "no SLO 'no-such-slo'" in body["problems"][1]["message"]
    assert submitter.submitted == []
    assert submitter.incidents == {}
    assert (
        metrics.value(
            "orchestrator_ingest_signals_total", source="alertmanager", outcome="rejected"
        )
        == 3
    )


async def test_unknown_service_without_dimension(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    alerts = [am_alert("billing-bot", "task-success", "x1")]
    response = await client.post(AM, content=body_of(am_payload(alerts)), headers=bearer(AM_TOKEN))
    assert response.status_code == 422
    assert (
        "unknown service 'billing-bot' (catalog has: support-assistant)"
        in (response.json()["problems"][0]["message"])
    )
    assert submitter.validated == 0


async def test_temporal_unavailable_is_503_with_retry_after(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    submitter.available = False
    response = await client.post(AM, content=body_of(ALERTMANAGER_V4), headers=bearer(AM_TOKEN))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert response.json()["error"] == "temporal_unavailable"
    assert submitter.submitted == []


async def test_outage_mid_payload_then_redelivery(
    client: httpx.AsyncClient, submitter: MemorySubmitter, metrics: IngestMetrics
) -> None:
    alerts = [
        am_alert("support-assistant", slo, f"m{i}")
        for i, slo in enumerate(["task-success", "ttft-p95", "language-gap"])
    ]
    body = body_of(am_payload(alerts))
    submitter.fail_after = 1
    first = await client.post(AM, content=body, headers=bearer(AM_TOKEN))
    assert first.status_code == 503
    assert "1 of 3 signals were accepted" in first.json()["message"]
    submitter.available, submitter.fail_after = True, None
    # Alertmanager retries the whole group; the one already accepted is deduplicated.
    second = await client.post(AM, content=body, headers=bearer(AM_TOKEN))
    assert second.status_code == 202
    assert [i["status"] for i in second.json()["incidents"]] == ["accepted"] * 3
    assert len(submitter.submitted) == 3
    assert len(submitter.incidents) == 3
    assert (submitter.started, submitter.joined) == (3, 0)
    assert (
        metrics.value(
            "orchestrator_ingest_signals_total", source="alertmanager", outcome="unavailable"
        )
        == 2
    )
    assert (
        metrics.value(
            "orchestrator_ingest_deliveries_total",
            source="alertmanager",
            outcome="temporal_unavailable",
        )
        == 1
    )


async def test_method_and_path(client: httpx.AsyncClient) -> None:
    assert (await client.get(AM)).status_code == 405
    assert (await client.post("/v1/nowhere", content=b"{}")).status_code == 404

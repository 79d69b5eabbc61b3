"""Real payloads in each format become the right signals and incidents."""

from __future__ import annotations

import httpx
import pytest
import structlog

from orchestrator.domain.signals import SignalStatus
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.samples import (
    ALERTMANAGER_V4,
    AM_TOKEN,
    GENERIC_SIGNAL,
    GENERIC_TOKEN,
    GRAFANA_WEBHOOK,
    am_alert,
    am_payload,
    bearer,
    body_of,
    grafana_headers,
    sample,
)


async def test_alertmanager_v4_firing_and_resolved(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    response = await client.post(
        "/v1/signals/alertmanager", content=body_of(ALERTMANAGER_V4), headers=bearer(AM_TOKEN)
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["truncated_alerts"] == 0
    assert [i["status"] for i in body["incidents"]] == ["accepted", "no-open-incident"]
    assert submitter.started == 1
    first, second = body["incidents"]
    assert first["incident_id"] == "incident-support-assistant--task-success"
    assert first["dedupe_key"] == (
        "alertmanager:8d3f0a9c1b2e4f67:firing:2026-11-26T09:14:03.218772+00:00"
    )
    firing, resolved = submitter.submitted
    assert firing.status is SignalStatus.FIRING
    assert (firing.service, firing.slo, firing.dimension) == (
        "support-assistant",
        "task-success",
        "accuracy",
    )
    assert str(firing.segment) == "language=es"
    assert firing.observed == 0.87
    assert firing.burn_rate == 14.4  # sloth_severity=page is the fast-burn tier
    assert firing.source == "alertmanager"
    assert firing.labels["sloth_id"] == "support-assistant-task-success"
    # A resolved alert is a resolution, never a trigger: no incident was opened for it.
    assert resolved.status is SignalStatus.RESOLVED
    assert resolved.dimension == "latency"  # from the catalog: the alert carries no dimension
    assert "support-assistant/ttft-p95" not in submitter.incidents
    assert second["dedupe_key"].startswith("alertmanager:c61b2f07aa93d514:resolved:")


async def test_redelivery_is_deduplicated(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    payload = am_payload([am_alert("support-assistant", "task-success", "aa11")])
    for _ in range(3):
        response = await client.post(
            "/v1/signals/alertmanager", content=body_of(payload), headers=bearer(AM_TOKEN)
        )
        assert response.status_code == 202
    assert len(submitter.submitted) == 1
    assert len(submitter.incidents) == 1


async def test_alerts_for_one_key_join_one_incident(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    alerts = [am_alert("support-assistant", "task-success", f"f{i}") for i in range(4)]
    response = await client.post(
        "/v1/signals/alertmanager", content=body_of(am_payload(alerts)), headers=bearer(AM_TOKEN)
    )
    assert [i["status"] for i in response.json()["incidents"]] == ["accepted"] * 4
    assert list(submitter.incidents) == ["support-assistant/task-success"]
    assert (submitter.started, submitter.joined) == (1, 3)


async def test_truncated_alerts_are_recorded_and_warned(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    payload = am_payload([am_alert("support-assistant", "task-success", "t1")], truncated=7)
    with structlog.testing.capture_logs() as logs:
        response = await client.post(
            "/v1/signals/alertmanager", content=body_of(payload), headers=bearer(AM_TOKEN)
        )
    assert response.status_code == 202
    assert response.json()["truncated_alerts"] == 7
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert warnings
    assert warnings[0]["truncated_alerts"] == 7
    metrics = (await client.get("/metrics")).text
    assert 'orchestrator_ingest_truncated_alerts_total{source="alertmanager"} 7' in metrics


async def test_grafana_webhook(client: httpx.AsyncClient, submitter: MemorySubmitter) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    response = await client.post("/v1/signals/grafana", content=body, headers=grafana_headers(body))
    assert response.status_code == 202, response.text
    [incident] = response.json()["incidents"]
    assert incident["status"] == "accepted"
    assert incident["incident_id"] == "incident-support-assistant--language-gap"
    [signal] = submitter.submitted
    assert signal.source == "grafana"
    assert signal.dimension == "fairness"
    assert str(signal.segment) == "language=es"
    assert signal.observed == 5.8  # from the alert's values, refId "observed"
    assert signal.burn_rate == 14.4  # severity=critical
    assert signal.reason == "Task success gap between English and Spanish is 5.8 points"


async def test_generic_signal(client: httpx.AsyncClient, submitter: MemorySubmitter) -> None:
    response = await client.post(
        "/v1/signals", content=body_of(GENERIC_SIGNAL), headers=bearer(GENERIC_TOKEN)
    )
    assert response.status_code == 202, response.text
    [signal] = submitter.submitted
    assert (signal.source, signal.burn_rate, signal.window) == ("generic", 16.2, "1h")
    assert signal.dedupe_key.startswith("generic:")
    again = await client.post(
        "/v1/signals", content=body_of(GENERIC_SIGNAL), headers=bearer(GENERIC_TOKEN)
    )
    assert again.json()["incidents"][0]["dedupe_key"] == signal.dedupe_key
    assert len(submitter.submitted) == 1


async def test_generic_array_without_dimension(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    items = [
        {
            "service": "support-assistant",
            "slo": "language-gap",
            "segment": {"key": "language", "value": "es"},
            "dedupe_key": "ticket-1",
        },
        {"service": "support-assistant", "slo": "task-success", "status": "resolved"},
    ]
    response = await client.post(
        "/v1/signals", content=body_of(items), headers=bearer(GENERIC_TOKEN)
    )
    assert response.status_code == 202, response.text
    statuses = [i["status"] for i in response.json()["incidents"]]
    assert statuses == ["accepted", "no-open-incident"]
    assert submitter.submitted[0].dimension == "fairness"
    assert submitter.submitted[0].dedupe_key == "generic:ticket-1"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        # Pyrra: slo label, long window, severity; service propagated from pyrra.dev/service
        (
            {
                "service": "support-assistant",
                "slo": "ttft-p95",
                "long": "6h",
                "short": "30m",
                "severity": "critical",
                "exhaustion": "4d",
            },
            6.0,
        ),
        (
            {
                "service": "support-assistant",
                "slo": "ttft-p95",
                "long": "1h",
                "severity": "critical",
            },
            14.4,
        ),
        ({"service": "support-assistant", "slo": "ttft-p95", "severity": "warning"}, 3.0),
        (
            {
                "sloth_service": "support-assistant",
                "sloth_slo": "ttft-p95",
                "sloth_severity": "ticket",
            },
            3.0,
        ),
        (
            {
                "sloth_service": "support-assistant",
                "sloth_slo": "ttft-p95",
                "burn_rate": "9.5",
                "sloth_severity": "page",
            },
            9.5,
        ),
        ({"service": "support-assistant", "slo": "ttft-p95"}, None),
    ],
)
async def test_burn_rate_tiers(
    client: httpx.AsyncClient,
    submitter: MemorySubmitter,
    labels: dict[str, str],
    expected: float | None,
) -> None:
    alert = am_alert("x", "y", "b1")
    alert["labels"] = labels
    response = await client.post(
        "/v1/signals/alertmanager", content=body_of(am_payload([alert])), headers=bearer(AM_TOKEN)
    )
    assert response.status_code == 202, response.text
    assert submitter.submitted[0].burn_rate == expected


async def test_every_alert_problem_is_named(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    payload = sample(ALERTMANAGER_V4)
    payload["alerts"][0]["labels"]["segment"] = "no-equals-sign"
    del payload["alerts"][1]["labels"]["sloth_slo"]
    response = await client.post(
        "/v1/signals/alertmanager", content=body_of(payload), headers=bearer(AM_TOKEN)
    )
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [p["alert"] for p in problems] == [0, 1]
    assert "segment" in problems[0]["message"]
    assert "no SLO label" in problems[1]["message"]
    assert submitter.submitted == []

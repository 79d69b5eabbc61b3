"""Realistic payloads in each format, shaped as the senders document them."""

from __future__ import annotations

import copy
import json
from typing import Any

AM_TOKEN = "am-token-7f3a9c"
GRAFANA_TOKEN = "grafana-token-51be0d"
GENERIC_TOKEN = "generic-token-c4e2a8"
GRAFANA_HMAC = "grafana-hmac-secret-0b9e1f"
GRAFANA_TS_HEADER = "X-Grafana-Alerting-Timestamp"

ALERTMANAGER_V4: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}/{sloth_service="support-assistant"}:{alertname="SupportAssistantSLOBurn"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "orchestrator",
    "groupLabels": {"alertname": "SupportAssistantSLOBurn"},
    "commonLabels": {
        "alertname": "SupportAssistantSLOBurn",
        "sloth_service": "support-assistant",
    },
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example.internal:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "SupportAssistantSLOBurn",
                "sloth_id": "support-assistant-task-success",
                "sloth_service": "support-assistant",
                "sloth_slo": "task-success",
                "sloth_severity": "page",
                "segment": "language=es",
            },
            "annotations": {
                "title": "(page) support-assistant task-success SLO error budget burn rate is too"
                " fast.",
                "summary": "Task success for Spanish-speaking users is burning budget at 14.4x",
                "observed": "0.87",
            },
            "startsAt": "2026-11-26T09:14:03.218772918Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.internal:9090/graph?g0.expr=slo",
            "fingerprint": "8d3f0a9c1b2e4f67",
        },
        {
            "status": "resolved",
            "labels": {
                "alertname": "SupportAssistantSLOBurn",
                "sloth_id": "support-assistant-ttft-p95",
                "sloth_service": "support-assistant",
                "sloth_slo": "ttft-p95",
                "sloth_severity": "ticket",
            },
            "annotations": {"summary": "p95 time to first token is back under 800 ms"},
            "startsAt": "2026-11-26T07:02:41.5Z",
            "endsAt": "2026-11-26T09:10:11.5Z",
            "generatorURL": "http://prometheus.example.internal:9090/graph?g0.expr=slo",
            "fingerprint": "c61b2f07aa93d514",
        },
    ],
}

GRAFANA_WEBHOOK: dict[str, Any] = {
    "receiver": "orchestrator-webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "Spanish answer quality gap",
                "grafana_folder": "AI CX",
                "service": "support-assistant",
                "slo": "language-gap",
                "segment_key": "language",
                "segment_value": "es",
                "severity": "critical",
            },
            "annotations": {
                "summary": "Task success gap between English and Spanish is 5.8 points",
                "runbook_url": "https://runbooks.example.internal/support-assistant/fairness",
            },
            "startsAt": "2026-11-26T09:20:00+01:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.internal/alerting/grafana/aeb2/view",
            "fingerprint": "4f0c2a1e9b7d3c58",
            "silenceURL": "https://grafana.example.internal/alerting/silence/new?matcher=x",
            "dashboardURL": "https://grafana.example.internal/d/aicx",
            "panelURL": "https://grafana.example.internal/d/aicx?viewPanel=4",
            "values": {"observed": 5.8, "C": 1},
            "valueString": "[ var='observed' labels={} value=5.8 ], [ var='C' labels={} value=1 ]",
        }
    ],
    "groupLabels": {"alertname": "Spanish answer quality gap", "grafana_folder": "AI CX"},
    "commonLabels": {"alertname": "Spanish answer quality gap", "grafana_folder": "AI CX"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example.internal/",
    "version": "1",
    "groupKey": '{}/{}:{alertname="Spanish answer quality gap"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1] Spanish answer quality gap AI CX",
    "state": "alerting",
    "message": "**Firing**\n\nValue: observed=5.8\n",
}

GENERIC_SIGNAL: dict[str, Any] = {
    "service": "support-assistant",
    "slo": "task-success",
    "dimension": "accuracy",
    "status": "firing",
    "segment": "language=es",
    "observed": 0.87,
    "objective": 0.92,
    "window": "1h",
    "burn_rate": 16.2,
    "started_at": "2026-11-26T09:14:03Z",
    "labels": {"team": "cx-ai-platform"},
    "reason": "task success for Spanish speakers dropped after prompt answer-prompt-v42",
}


def sample(payload: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(payload)


def body_of(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def am_alert(service: str, slo: str, fingerprint: str, status: str = "firing") -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "SLOBurn", "sloth_service": service, "sloth_slo": slo},
        "annotations": {},
        "startsAt": "2026-11-26T09:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": fingerprint,
    }


def am_payload(alerts: list[dict[str, Any]], truncated: int = 0) -> dict[str, Any]:
    payload = sample(ALERTMANAGER_V4)
    payload["alerts"] = alerts
    payload["truncatedAlerts"] = truncated
    return payload


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def grafana_headers(
    body: bytes,
    *,
    timestamp: int | None = None,
    secret: str = GRAFANA_HMAC,
    token: str = GRAFANA_TOKEN,
) -> dict[str, str]:
    """What Grafana sends with an HMAC-configured contact point and a timestamp header."""
    import time

    from orchestrator.domain.signatures import signature

    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        **bearer(token),
        GRAFANA_TS_HEADER: stamp,
        "X-Grafana-Alerting-Signature": signature(secret, body, stamp),
    }

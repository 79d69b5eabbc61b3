"""Grafana Alerting's webhook contact-point payload and its mapping to breach signals.

Grafana's default webhook body is the Alertmanager group data extended with ``orgId``, ``title``,
``state``, ``message`` and, per alert, ``values`` (refId -> number), ``silenceURL``,
``dashboardURL``, ``panelURL``, ``imageURL``; ``version`` is ``"1"``. Unknown fields are ignored.
A contact point with a custom payload template is not this shape and is refused with a 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.ingest.delivery import (
    ParseContext,
    Parsed,
    check_alerts_array,
    invalid_payload,
    label_fingerprint,
    map_alerts,
    require_object,
    start_time,
)
from orchestrator.ingest.mapping import AlertFacts

SOURCE = "grafana"
Status = Literal["firing", "resolved"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class GrafanaAlert(_Model):
    status: Status
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = Field(default=None, alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(default="", max_length=128)
    silence_url: str = Field(default="", alias="silenceURL")
    dashboard_url: str = Field(default="", alias="dashboardURL")
    panel_url: str = Field(default="", alias="panelURL")
    values: dict[str, float | None] | None = None
    value_string: str = Field(default="", alias="valueString")


class GrafanaPayload(_Model):
    receiver: str = ""
    status: Status
    org_id: int | None = Field(default=None, alias="orgId")
    alerts: list[GrafanaAlert]
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    version: str = "1"
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    title: str = ""
    state: str = ""
    message: str = ""


def alert_facts(index: int, alert: GrafanaAlert, payload: GrafanaPayload) -> AlertFacts:
    labels = {**payload.common_labels, **alert.labels}
    values = {k: v for k, v in (alert.values or {}).items() if v is not None}
    return AlertFacts(
        index=index,
        status=alert.status,
        labels=labels,
        annotations={**payload.common_annotations, **alert.annotations},
        fingerprint=alert.fingerprint or label_fingerprint(labels),
        starts_at=start_time(alert.starts_at),
        values=values,
    )


def parse(document: Any, ctx: ParseContext) -> Parsed:
    body = require_object(document, "Grafana webhook")
    check_alerts_array(body, ctx.max_alerts)
    try:
        payload = GrafanaPayload.model_validate(body)
    except pydantic.ValidationError as exc:
        raise invalid_payload(exc, "Grafana webhook") from None
    facts = [alert_facts(i, alert, payload) for i, alert in enumerate(payload.alerts)]
    return Parsed(
        signals=map_alerts(facts, SOURCE, ctx),
        truncated_alerts=payload.truncated_alerts,
        group_key=payload.group_key,
        extra={"receiver": payload.receiver, "org_id": payload.org_id},
    )

"""The Alertmanager webhook payload, version 4, and its mapping to breach signals.

Shape (``webhook_config`` in Alertmanager's configuration reference)::

    {"version": "4", "groupKey": "...", "truncatedAlerts": 0, "status": "firing|resolved",
     "receiver": "...", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
     "externalURL": "...",
     "alerts": [{"status": "firing|resolved", "labels": {}, "annotations": {},
                 "startsAt": "RFC3339", "endsAt": "RFC3339", "generatorURL": "...",
                 "fingerprint": "..."}]}

Unknown fields are ignored so a newer Alertmanager still gets through.
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

SOURCE = "alertmanager"
Status = Literal["firing", "resolved"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class AlertmanagerAlert(_Model):
    status: Status
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = Field(default=None, alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(default="", max_length=128)


class AlertmanagerPayload(_Model):
    version: Literal["4"]
    group_key: str = Field(alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    status: Status
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[AlertmanagerAlert]


def alert_facts(
    index: int,
    alert: AlertmanagerAlert,
    common_labels: dict[str, str],
    common_annotations: dict[str, str],
) -> AlertFacts:
    labels = {**common_labels, **alert.labels}
    return AlertFacts(
        index=index,
        status=alert.status,
        labels=labels,
        annotations={**common_annotations, **alert.annotations},
        fingerprint=alert.fingerprint or label_fingerprint(labels),
        starts_at=start_time(alert.starts_at),
    )


def parse(document: Any, ctx: ParseContext) -> Parsed:
    body = require_object(document, "Alertmanager webhook")
    check_alerts_array(body, ctx.max_alerts)
    try:
        payload = AlertmanagerPayload.model_validate(body)
    except pydantic.ValidationError as exc:
        raise invalid_payload(exc, "Alertmanager webhook (version 4)") from None
    facts = [
        alert_facts(i, alert, payload.common_labels, payload.common_annotations)
        for i, alert in enumerate(payload.alerts)
    ]
    return Parsed(
        signals=map_alerts(facts, SOURCE, ctx),
        truncated_alerts=payload.truncated_alerts,
        group_key=payload.group_key,
        extra={"receiver": payload.receiver},
    )

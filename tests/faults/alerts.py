"""Alertmanager deliveries for the campaign, and delivery as Alertmanager does it: a 503 (or a
refused connection) is retried after the Retry-After the answer names, until it is accepted."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

TOKEN = "faults-am-token-2f9c41d0"
SERVICE = "support-assistant"
SLO = "language-gap"


@dataclass
class Delivery:
    language: str
    status: str
    starts_at: datetime
    answers: list[int] = field(default_factory=list)
    """Every status the API answered, in order (0: no answer, the API was away)."""
    retry_after: list[str] = field(default_factory=list)
    """The Retry-After of every 503 ("" when it had none)."""

    @property
    def fingerprint(self) -> str:
        return f"faults-{self.language}"

    @property
    def dedupe_key(self) -> str:
        return f"alertmanager:{self.fingerprint}:{self.status}:{self.starts_at.isoformat()}"

    @property
    def accepted(self) -> bool:
        return bool(self.answers) and self.answers[-1] == 202

    def body(self) -> bytes:
        alert = {
            "status": self.status,
            "labels": {
                "alertname": "LanguageGapBreach",
                "service": SERVICE,
                "slo": SLO,
                "segment": f"language={self.language}",
                "burn_rate": "9.2",
            },
            "annotations": {"observed": "7.4", "summary": "fault campaign"},
            "startsAt": self.starts_at.isoformat().replace("+00:00", "Z"),
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": self.fingerprint,
        }
        return json.dumps(
            {
                "version": "4",
                "groupKey": f"{{}}:{{alertname=LanguageGapBreach,language={self.language}}}",
                "status": self.status,
                "receiver": "orchestrator",
                "groupLabels": {},
                "commonLabels": {},
                "commonAnnotations": {},
                "externalURL": "http://alertmanager.faults",
                "alerts": [alert],
            }
        ).encode()


def starts(minute: int) -> datetime:
    return datetime(2026, 12, 5, 9, minute, tzinfo=UTC)


async def deliver(http: httpx.AsyncClient, delivery: Delivery, *, timeout: float = 120.0) -> None:
    """POST until accepted (202) or refused for good (4xx); a 503 waits its Retry-After."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            answer = await http.post(
                "/v1/signals/alertmanager",
                content=delivery.body(),
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )
        except httpx.TransportError:
            delivery.answers.append(0)
            await asyncio.sleep(1.0)
            continue
        delivery.answers.append(answer.status_code)
        if answer.status_code != 503:
            return
        delivery.retry_after.append(answer.headers.get("Retry-After", ""))
        await asyncio.sleep(min(float(answer.headers.get("Retry-After", "1")), 2.0))

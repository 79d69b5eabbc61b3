"""A local stand-in for PagerDuty's Events API v2, as its documentation describes it.

``POST /v2/enqueue`` with a JSON event: ``routing_key`` (32 characters, the integration key),
``event_action`` (``trigger``, ``acknowledge``, ``resolve``), ``dedup_key`` (at most 255
characters; generated for a trigger without one; required for acknowledge and resolve), and for
a trigger a ``payload`` with ``summary`` (at most 1024), ``source`` and ``severity`` (critical,
error, warning, info). Answers: 202 ``{"status": "success", "message": "Event processed",
"dedup_key": ...}``; 400 ``{"status": "invalid event", "message": "Event object is invalid",
"errors": [...]}``; 429 when ``budget`` events were taken within ``window_seconds`` (with
``Retry-After`` when ``send_retry_after``); failures and hangs injected as the base allows.

Alerts as PagerDuty keeps them: a trigger whose dedup key names an open (triggered or
acknowledged) alert joins it (no new incident); after a resolve, the same key opens a new one.
An acknowledge or resolve for a key with no open alert is accepted and does nothing (events are
processed asynchronously). The wording of a refusal for an unknown routing key is the fake's own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.providers.fake_http import FakeHttpServer, Reply, Request

SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")


@dataclass
class Alert:
    dedup_key: str
    summary: str
    severity: str
    status: str = "triggered"
    events: list[dict[str, Any]] = field(default_factory=list)


def invalid(*errors: str) -> Reply:
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": [*errors]}
    return Reply(400, body)


class FakePagerDuty(FakeHttpServer):
    def __init__(
        self,
        routing_keys: set[str],
        *,
        budget: int | None = None,
        window_seconds: float = 60.0,
        send_retry_after: bool = True,
    ) -> None:
        super().__init__(budget=budget, window_seconds=window_seconds)
        self.routing_keys = set(routing_keys)
        self.send_retry_after = send_retry_after
        self.incidents: list[Alert] = []
        """Every alert opened, in order (a re-trigger of an open one adds none)."""

    @property
    def events_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    def open_alert(self, dedup_key: str) -> Alert | None:
        for alert in reversed(self.incidents):
            if alert.dedup_key == dedup_key:
                return alert if alert.status != "resolved" else None
        return None

    def handle(self, request: Request) -> Reply:
        if request.path != "/v2/enqueue" or request.method != "POST":
            return Reply(404, {"status": "not found", "message": "Not found"})
        limited = self._rate_limited()
        if limited is not None:
            return limited
        try:
            event = request.json()
        except ValueError:
            return invalid("Event object is not valid JSON")
        if not isinstance(event, dict):
            return invalid("Event object must be a JSON object")
        problem = self._refusal(event)
        if problem is not None:
            return problem
        dedup = event.get("dedup_key") or uuid.uuid4().hex
        if event["event_action"] == "trigger":
            self._trigger(dedup, event)
        else:
            alert = self.open_alert(dedup)
            if alert is not None:
                alert.events.append(event)
                alert.status = (
                    "acknowledged" if event["event_action"] == "acknowledge" else "resolved"
                )
        return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": dedup})

    def _trigger(self, dedup: str, event: dict[str, Any]) -> None:
        alert = self.open_alert(dedup)
        if alert is None:
            payload = event["payload"]
            alert = Alert(dedup, payload["summary"], payload["severity"])
            self.incidents.append(alert)
        alert.events.append(event)

    def _refusal(self, event: dict[str, Any]) -> Reply | None:
        key = event.get("routing_key")
        if not isinstance(key, str) or len(key) != 32:
            return invalid("Length of 'routing_key' is incorrect (should be 32 characters)")
        if key not in self.routing_keys:
            return invalid("'routing_key' does not name an Events API v2 integration")
        action = event.get("event_action")
        if action not in ACTIONS:
            return invalid("'event_action' must be one of trigger, acknowledge, resolve")
        dedup = event.get("dedup_key")
        if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
            return invalid("'dedup_key' must be a string of at most 255 characters")
        if action != "trigger":
            return None if dedup else invalid(f"'dedup_key' is required for {action}")
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return invalid("'payload' is missing or not an object")
        required = ("summary", "source", "severity")
        errors = [f"'payload.{name}' is missing" for name in required if not payload.get(name)]
        if len(str(payload.get("summary", ""))) > 1024:
            errors.append("'payload.summary' is longer than 1024 characters")
        if payload.get("severity") and payload["severity"] not in SEVERITIES:
            errors.append("'payload.severity' must be one of critical, error, warning, info")
        return invalid(*errors) if errors else None

    def _rate_limited(self) -> Reply | None:
        wait = self.over_budget()
        if wait is None:
            return None
        headers = {"Retry-After": str(wait)} if self.send_retry_after else {}
        body = {"status": "throttle event", "message": "Requests are arriving too quickly"}
        return Reply(429, body, headers)

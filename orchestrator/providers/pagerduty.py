"""PagerDuty as the pager, through the Events API v2 (``POST /v2/enqueue``).

One event per call: ``routing_key`` (the integration key of one service's Events API v2
integration), ``event_action`` (``trigger``, ``acknowledge``, ``resolve``) and ``dedup_key``; a
trigger also carries ``payload`` (``summary``, ``source``, ``severity`` of critical, error,
warning or info, and optional ``component``, ``group``, ``class``, ``custom_details``) and
``links``. PagerDuty answers 202 ``{"status": "success", "message": "Event processed",
"dedup_key": ...}``; 400 for an invalid event (``status``, ``message``, ``errors``: permanent);
429 when the integration sends too fast (retried after ``Retry-After`` when given, else with the
activity's backoff); 5xx (retried).

The ``dedup_key`` is the page's idempotency key (:attr:`PageRequest.key`: incident, step or
purpose), so a re-sent trigger joins the open alert instead of paging twice; a key longer than
PagerDuty's 255 characters is shortened with a digest of the whole. Severity comes from the
incident's (``details["severity"]``: SEV1 critical, SEV2 error, SEV3 warning, SEV4 info), else
from the urgency (high: error, low: warning: PagerDuty's severity-based urgency pages at once for
critical and error only).

The Events API is write-only: it cannot be asked what it holds. So the adapter keeps what
PagerDuty accepted (the page, its dedup key, whether it was acknowledged or resolved) in a
small record in the state folder; :meth:`get` reads that record, and a page already in it is not
sent again (a trigger after a resolve would open a new PagerDuty incident). The routing key is a
:class:`~orchestrator.secrets.Secret`: never logged, never in a message, never in the record.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx

from orchestrator.domain.ops_models import Page, PageRequest
from orchestrator.errors import ProviderError
from orchestrator.providers.http_api import HttpSender, json_object
from orchestrator.providers.local_json import Document, LockedJsonFile
from orchestrator.secrets import Secret, redact_text

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_DEDUP_KEY = 255
SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}
Action = Literal["trigger", "acknowledge", "resolve"]


def dedup_key_for(key: str) -> str:
    """The page key as PagerDuty's dedup key: unchanged when it fits, else cut and suffixed with
    a digest of the whole key (two long keys sharing a prefix stay apart)."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{key[: MAX_DEDUP_KEY - 33]}#{digest}"


def severity_for(request: PageRequest) -> str:
    severity = str(request.details.get("severity") or "").upper()
    if severity in SEVERITY:
        return SEVERITY[severity]
    return "error" if request.urgency == "high" else "warning"


class PagerDutyPager:
    """A :class:`~orchestrator.providers.paging.Pager` over PagerDuty's Events API v2."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        routing_key: Secret,
        record: Path,
        events_url: str = EVENTS_URL,
        link_base_url: str = "",
        source: str = "ai-cx-orchestrator",
        clock: Callable[[], float] = time.time,
        rate_limit_cap: float = 60.0,
    ) -> None:
        self._key = routing_key
        self._url = events_url
        self._links = link_base_url.rstrip("/")
        self._source = source
        self._send = HttpSender(
            http, "PagerDuty", (routing_key,), clock=clock, rate_limit_cap=rate_limit_cap
        )
        self._file = LockedJsonFile(record, "PagerDuty page record")

    def __repr__(self) -> str:
        return f"PagerDutyPager(events_url={redact_text(self._url)!r})"

    async def page(self, request: PageRequest, now: datetime) -> Page:
        dedup = dedup_key_for(request.key)
        known = await self._recorded(dedup)
        if known is not None:
            return known
        answered = await self._event("trigger", dedup, self._trigger_body(request))
        page = Page(**request.model_dump(), id=answered, created_at=now)

        def keep(doc: Document) -> Page:
            pages = doc.setdefault("pages", {})
            if answered not in pages:
                pages[answered] = {"page": page.model_dump(mode="json"), "state": "triggered"}
                doc.setdefault("by_incident", {}).setdefault(request.incident_id, [])
                doc["by_incident"][request.incident_id].append(answered)
            return Page.model_validate(pages[answered]["page"])

        return await self._file.change(keep)

    async def get(self, page_id: str) -> Page | None:
        return await self._recorded(page_id)

    async def state(self, page_id: str) -> str | None:
        """``triggered``, ``acknowledged`` or ``resolved`` as this adapter last told PagerDuty."""
        entry = (await self._file.read()).get("pages", {}).get(page_id)
        return None if entry is None else str(entry["state"])

    async def acknowledge_incident(self, incident_id: str, now: datetime) -> list[str]:
        """Acknowledge the incident's triggered pages (a person answered); their ids."""
        return await self._follow_up(incident_id, "acknowledge", ("triggered",))

    async def resolve_incident(self, incident_id: str, now: datetime) -> list[str]:
        """Resolve the incident's open pages (it recovered); their ids. Idempotent."""
        return await self._follow_up(incident_id, "resolve", ("triggered", "acknowledged"))

    async def _follow_up(
        self, incident_id: str, action: Action, from_states: tuple[str, ...]
    ) -> list[str]:
        doc = await self._file.read()
        pages = doc.get("pages", {})
        todo = [
            p
            for p in doc.get("by_incident", {}).get(incident_id, [])
            if pages.get(p, {}).get("state") in from_states
        ]
        state = "acknowledged" if action == "acknowledge" else "resolved"
        for dedup in todo:
            await self._event(action, dedup, {})

            def mark(doc: Document, dedup: str = dedup) -> None:
                doc["pages"][dedup]["state"] = state

            await self._file.change(mark)
        return todo

    async def _recorded(self, dedup: str) -> Page | None:
        entry = (await self._file.read()).get("pages", {}).get(dedup)
        return None if entry is None else Page.model_validate(entry["page"])

    def _trigger_body(self, request: PageRequest) -> dict[str, Any]:
        details = {
            "target": request.target,
            "urgency": request.urgency,
            "incident": request.incident_id,
            **request.details,
        }
        body: dict[str, Any] = {
            "payload": {
                "summary": request.summary[:1024],
                "source": self._source,
                "severity": severity_for(request),
                "component": request.incident_id,
                "group": request.target,
                "class": str(request.details.get("purpose") or request.details.get("step") or ""),
                "custom_details": details,
            },
            "client": "AI-CX remediation orchestrator",
        }
        if self._links:
            href = f"{self._links}/v1/incidents/{quote(request.incident_id, safe='')}"
            body["client_url"] = href
            body["links"] = [{"href": href, "text": f"Incident {request.incident_id}"}]
        return body

    async def _event(self, action: Action, dedup: str, extra: dict[str, Any]) -> str:
        """Send one event; the dedup key PagerDuty answered with."""
        what = f"{action} {dedup!r}"
        event = {
            "routing_key": self._key.reveal(),
            "event_action": action,
            "dedup_key": dedup,
            **extra,
        }
        response = await self._send.post(self._url, what, json=event)
        body = json_object(response)
        self._send.raise_for_status(response, what, _describe(body))
        if body.get("status") != "success" or not isinstance(body.get("dedup_key"), str):
            raise ProviderError(
                f"PagerDuty {what}: HTTP {response.status_code} without success and a dedup_key"
                f" ({self._send.scrub(str(body))[:200]})",
                retryable=True,
            )
        answered: str = body["dedup_key"]
        return answered


def _describe(body: dict[str, Any]) -> str:
    """PagerDuty's error body in words: its status, message and the list of errors."""
    parts = [str(body[k]) for k in ("status", "message") if body.get(k)]
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        parts.append("; ".join(str(e) for e in errors))
    return ": ".join(parts)

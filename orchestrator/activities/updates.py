"""Telling people as an incident moves on: its chat thread, and its pages' follow-ups.

The audit activity hands every batch it stored to :meth:`IncidentUpdates.after`: the audit
events are already the incident's story, one place for all of it, and no workflow code changes.
What happens:

* **chat**: the incident's opening is its root message; each decision and effect worth a person's
  eye (:data:`POSTED`) is a reply in that thread; its ending is a reply shown in the channel too.
  A chat that cannot thread (an incoming webhook) gets the opening and the ending only. Each post
  is keyed by its audit event, so a retried audit activity posts nothing twice.
* **webhook** (the generic outgoing one, :mod:`orchestrator.providers.signed_webhook`): the
  same notices a threading chat gets (opening, decisions and effects, ending), as signed JSON
  keyed by their audit event.
* **pages**: a person answering an approval (granted or denied) acknowledges the incident's
  pages; the incident resolving (the SLO recovered) resolves them. An incident that failed or was
  aborted keeps its pages open: a person still has to act.

Bookkeeping beside the mitigation, never in its way: all of it is best effort within
:data:`UPDATES_BUDGET` seconds per batch; a failure is logged (redacted) and the audit activity
succeeds all the same.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import quote

import structlog

from orchestrator.activities.releases import utc_now
from orchestrator.audit.model import AuditEvent, AuditKind
from orchestrator.errors import ProviderError
from orchestrator.providers.chat import ChatNotifier
from orchestrator.providers.paging import PageFollowUps
from orchestrator.providers.signed_webhook import Notice, SignedWebhook
from orchestrator.secrets import redact_text

UPDATES_BUDGET = 10.0
ENDINGS = {
    AuditKind.INCIDENT_RESOLVED: ":white_check_mark: resolved",
    AuditKind.INCIDENT_CLOSED: ":lock: closed",
    AuditKind.INCIDENT_ABORTED: ":x: aborted",
}
POSTED = {
    AuditKind.SEVERITY_CLASSIFIED: "severity",
    AuditKind.PLAYBOOK_SELECTED: "playbook",
    AuditKind.MANUAL_LAUNCH: "manual launch",
    AuditKind.EFFECT_APPLIED: "done",
    AuditKind.VERIFICATION_PASSED: "verified",
    AuditKind.VERIFICATION_FAILED: ":warning: not verified",
    AuditKind.STEP_FAILED: ":warning: step failed",
    AuditKind.APPROVAL_REQUESTED: ":raising_hand: approval needed",
    AuditKind.APPROVAL_GRANTED: "approved",
    AuditKind.APPROVAL_DENIED: "denied",
    AuditKind.ESCALATED: ":mega: escalated",
}
ANSWERED = (AuditKind.APPROVAL_GRANTED, AuditKind.APPROVAL_DENIED)

_EMOJI = re.compile(r":[a-z_]+:")
_log = structlog.get_logger("orchestrator.activities.updates")


def _escape(text: str) -> str:
    """Slack's three control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class IncidentUpdates:
    def __init__(
        self,
        chat: ChatNotifier | None = None,
        pages: PageFollowUps | None = None,
        *,
        link_base_url: str = "",
        clock: Callable[[], datetime] = utc_now,
        budget: float = UPDATES_BUDGET,
        webhook: SignedWebhook | None = None,
    ) -> None:
        self._chat = chat
        self._pages = pages
        self._webhook = webhook
        self._links = link_base_url.rstrip("/")
        self._clock = clock
        self._budget = budget

    async def after(self, events: Sequence[AuditEvent]) -> None:
        """Post and follow up what ``events`` (just stored) call for; never raises."""
        if self._chat is None and self._pages is None and self._webhook is None:
            return
        try:
            async with asyncio.timeout(self._budget):
                # The opening first: it is the root, whatever the workflow recorded before it.
                for event in sorted(events, key=lambda e: e.kind is not AuditKind.INCIDENT_OPENED):
                    await self._post(event)
                    await self._notify(event)
                    await self._follow_up(event)
        except TimeoutError:
            _log.warning("incident updates cut short", budget_seconds=self._budget)

    def _link(self, incident_id: str) -> str | None:
        return f"{self._links}/v1/incidents/{quote(incident_id, safe='')}" if self._links else None

    def notice(self, event: AuditEvent) -> Notice | None:
        """What the webhook gets about ``event`` (what a threading chat gets); None: nothing."""
        label = {AuditKind.INCIDENT_OPENED: "opened", **ENDINGS, **POSTED}.get(event.kind)
        if label is None:
            return None
        return Notice(
            id=event.event_key,
            type=event.kind.value,
            title=_EMOJI.sub("", label).strip(),  # the chat's words without Slack's emoji
            incident_id=event.incident_id,
            service=event.service,
            slo=event.slo,
            summary=event.summary,
            at=event.at.isoformat(),
            final=event.kind in ENDINGS,
            link=self._link(event.incident_id),
        )

    def text(self, event: AuditEvent) -> str | None:
        """What the chat says about ``event``; None when it says nothing."""
        summary = _escape(event.summary)
        if event.kind is AuditKind.INCIDENT_OPENED:
            where = f" ({event.service} / {event.slo})" if event.service else ""
            text = f":rotating_light: *{_escape(event.incident_id)}* opened{where}: {summary}"
            link = self._link(event.incident_id)
            if link:
                text += f"\n<{link}|incident record>"
            return text
        if event.kind in ENDINGS:
            return f"{ENDINGS[event.kind]}: {summary}"
        if self._chat is not None and self._chat.threads and event.kind in POSTED:
            return f"{POSTED[event.kind]}: {summary}"
        return None

    async def _post(self, event: AuditEvent) -> None:
        text = None if self._chat is None else self.text(event)
        if self._chat is None or text is None:
            return
        try:
            await self._chat.post(
                event.incident_id, event.event_key, text, final=event.kind in ENDINGS
            )
        except Exception as exc:  # bookkeeping: logged, never failing the write
            self._failed("chat post", event, exc)

    async def _notify(self, event: AuditEvent) -> None:
        notice = None if self._webhook is None else self.notice(event)
        if self._webhook is None or notice is None:
            return
        try:
            await self._webhook.send(notice)
        except Exception as exc:  # bookkeeping: logged, never failing the write
            self._failed("webhook notice", event, exc)

    async def _follow_up(self, event: AuditEvent) -> None:
        if self._pages is None:
            return
        try:
            if event.kind is AuditKind.INCIDENT_RESOLVED:
                await self._pages.resolve_incident(event.incident_id, self._clock())
            elif event.kind in ANSWERED:
                await self._pages.acknowledge_incident(event.incident_id, self._clock())
        except Exception as exc:  # bookkeeping: logged, never failing the write
            self._failed("page follow-up", event, exc)

    @staticmethod
    def _failed(what: str, event: AuditEvent, exc: Exception) -> None:
        _log.warning(
            f"{what} not sent",
            incident_id=event.incident_id,
            kind=event.kind.value,
            retryable=isinstance(exc, ProviderError) and exc.retryable,
            error=f"{type(exc).__name__}: {redact_text(str(exc))}",
        )

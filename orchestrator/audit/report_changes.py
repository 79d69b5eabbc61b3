"""The report's changes (before/after, by whom) and approvals (principals, waits), from stored
events; and :func:`cut`, the one-line form of an untrusted value in a report cell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.audit.model import AuditKind, StoredEvent
from orchestrator.audit.model import canonical_json as _json
from orchestrator.audit.report_figures import format_duration, is_change
from orchestrator.audit.report_model import ApprovalRow, ChangeRow

MAX_CELL = 300


def changes(events: Sequence[StoredEvent]) -> tuple[ChangeRow, ...]:
    approvers = {
        str(e.data.get("step")): ", ".join(str(p) for p in e.data.get("approvals") or [e.actor])
        for e in events
        if e.kind is AuditKind.APPROVAL_GRANTED
    }
    rows: list[ChangeRow] = []
    for event in (e for e in events if is_change(e)):
        d = event.data
        step = str(d.get("step", ""))
        subject, before, after = _before_after(d)
        if d.get("undo"):
            subject = next((c.subject for c in reversed(rows) if c.step == step), subject)
        by = event.actor
        if step in approvers and not d.get("undo"):
            by += f" (approved by {approvers[step]})"
        rows.append(
            ChangeRow(
                number=len(rows) + 1,
                seq=event.seq,
                at=event.at,
                step=cut(step),
                action=cut(str(d.get("action", ""))),
                subject=cut(subject),
                before=cut(before),
                after=cut(after),
                by=cut(by),
                undo=bool(d.get("undo")),
                outcome="applied" if event.kind is AuditKind.EFFECT_APPLIED else "already in place",
            )
        )
    return tuple(rows)


def _before_after(d: Mapping[str, Any]) -> tuple[str, str, str]:
    if d.get("undo"):
        return (str(d.get("step", "")), "(the change above)", f"undone: {d.get('why', '')}")
    if "flag" in d:
        old, new = d.get("before"), d.get("after")
        return (str(d["flag"]), _json(old) if old is not None else "-", _json(new) if new else "-")
    subject = str(d.get("component", d.get("service", "?")))
    if "version_before" in d or "version_after" in d:
        return (subject, str(d.get("version_before")), str(d.get("version_after")))
    if str(d.get("action")) == "release.freeze":
        until = d.get("until") or "lifted by hand"
        return (f"releases of {subject}", "not frozen", f"frozen until {until}")
    if "replicas_before" in d or "replicas_after" in d:
        return (subject, str(d.get("replicas_before")), str(d.get("replicas_after")))
    return (subject, "-", cut(str(d.get("detail", "-"))))


def approvals(events: Sequence[StoredEvent]) -> tuple[ApprovalRow, ...]:
    rows: list[ApprovalRow] = []
    for request in (e for e in events if e.kind is AuditKind.APPROVAL_REQUESTED):
        step = str(request.data.get("step_id", ""))
        decision = next(
            (
                e
                for e in events
                if e.seq > request.seq
                and e.kind in (AuditKind.APPROVAL_GRANTED, AuditKind.APPROVAL_DENIED)
                and e.data.get("step") == step
            ),
            None,
        )
        waited = (decision.at if decision else events[-1].at) - request.at
        principals = decision.data.get("approvals") or [decision.actor] if decision else []
        rows.append(
            ApprovalRow(
                step=cut(step),
                requested_at=request.at,
                decided_at=decision.at if decision else None,
                outcome=decision.kind.value.removeprefix("approval_") if decision else "pending",
                principals=cut(", ".join(str(p) for p in principals)) or "-",
                waited=format_duration(waited.total_seconds())
                + ("" if decision else " (still waiting)"),
                reason=cut(str(request.data.get("reason", ""))),
            )
        )
    return tuple(rows)


def cut(text: str, limit: int = MAX_CELL) -> str:
    """One line (control characters escaped), at most ``limit`` characters."""
    cleaned = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."

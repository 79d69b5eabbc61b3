"""``orchestrator status`` and ``orchestrator incidents``: what is open, and where it stands."""

from __future__ import annotations

import dataclasses
from typing import Any

import typer

from orchestrator.audit.factory import open_audit_store
from orchestrator.audit.model import IncidentState
from orchestrator.audit.query import MAX_PAGE, EventFilter, FilterError, parse_state
from orchestrator.cli.common import echo, echo_json, fail, run, settings_of
from orchestrator.cli.incident_rows import COLUMNS, IncidentListing, merge
from orchestrator.cli.query_cmd import SERVICE, SEVERITY, SINCE, SLO, UNTIL, build_filter
from orchestrator.cli.tabular import FORMAT_OPTION, check_format, emit
from orchestrator.client.connect import connect
from orchestrator.client.queries import IncidentRow, incident_state, list_incidents
from orchestrator.config.settings import Settings
from orchestrator.errors import NotFoundError, OrchestratorError
from orchestrator.workflows.types import IncidentState as LiveState


def _render_state(state: LiveState) -> str:
    lines = [
        f"incident  {state.incident_id}",
        f"service   {state.service} / {state.slo}",
        f"phase     {state.phase.value}{' (firing)' if state.firing else ' (resolved)'}",
        f"severity  {state.severity or '-'}  {state.severity_explanation or ''}".rstrip(),
        f"playbook  {state.playbook or '-'}"
        + (f"  launched by {state.launched_by}" if state.launched_by else ""),
        f"signals   {state.signals_received} received,"
        f" {state.duplicates_ignored} duplicates ignored",
    ]
    if state.error:
        lines.append(f"error     {state.error}")
    pending = state.pending_approval
    if pending is not None:
        who = ", ".join(pending.approvals) or "nobody yet"
        lines.append(
            f"waiting   approval of {pending.step_id} ({pending.action}): {pending.reason};"
            f" {len(pending.approvals)}/{pending.needed} ({who}); on timeout"
            f" {pending.on_timeout} after {pending.timeout_seconds:g}s"
        )
    for effect in state.effects:
        flags = " temporary" if effect.temporary else ""
        done = f" UNDONE: {effect.undo_detail}" if effect.undone else ""
        lines.append(f"effect    {effect.step_id}{flags}: {effect.summary}{done}")
    for step in state.steps:
        lines.append(f"  [{step.status:>7}] {step.id} ({step.action}) {step.detail}")
    return "\n".join(lines)


def status(
    ctx: typer.Context,
    incident_id: str | None = typer.Argument(None, help="Incident id; omit to list open incidents"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Show an incident's live state (phase, severity, playbook, steps) from its workflow."""
    if incident_id is None:
        listing = IncidentListing(state=IncidentState.OPEN.value)
        _print(ctx, listing, "jsonl" if as_json else "table", as_json=as_json)
        return
    settings = settings_of(ctx)

    async def body() -> LiveState:
        return await incident_state(await connect(settings), incident_id)

    state = run(body)
    echo_json(state.model_dump(mode="json")) if as_json else echo(_render_state(state))


def incidents(
    ctx: typer.Context,
    service: str | None = SERVICE,
    slo: str | None = SLO,
    severity: str | None = SEVERITY,
    state: str | None = typer.Option(None, "--state", help="open, resolved, closed or aborted"),
    since: str | None = SINCE,
    until: str | None = UNTIL,
    limit: int = typer.Option(50, "--limit", help=f"At most this many, 1 to {MAX_PAGE}"),
    fmt: str = FORMAT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list)"),
) -> None:
    """List incidents, most recently active first: the audit history (every incident, whatever
    Temporal's retention), with the live phase and playbook of those still open from Temporal
    visibility (open ones the audit has not seen yet too).

    --since/--until keep incidents active in that window; --severity is the latest
    classification; --state the latest lifecycle event (open, resolved, closed, aborted).
    """
    check_format(fmt)
    if not 1 <= limit <= MAX_PAGE:
        raise fail(f"--limit must be between 1 and {MAX_PAGE}, got {limit}")
    listing = IncidentListing(
        service=service,
        slo=slo,
        severity=severity,
        state=state,
        since=since,
        until=until,
        limit=limit,
    )
    _print(ctx, listing, fmt, as_json=as_json)


def _print(ctx: typer.Context, listing: IncidentListing, fmt: str, *, as_json: bool) -> None:
    flt = build_filter(dataclasses.asdict(listing))
    try:
        state = parse_state(listing.state)
    except FilterError as exc:
        raise fail(str(exc)) from None
    settings = settings_of(ctx)

    async def body() -> tuple[list[dict[str, Any]], str | None]:
        store = open_audit_store(settings.effective_audit_url)
        try:
            audited = await store.incidents(flt=flt, state=state, limit=listing.limit)
        finally:
            await store.close()
        live, problem = await _live(settings, flt, state)
        return merge(audited, live, flt, state, listing.limit), problem

    rows, problem = run(body)
    if problem:
        echo(f"warning: {problem}", err=True)
    if as_json:
        echo_json(rows)
    elif not rows and fmt == "table":
        typer.echo("no incidents")
    else:
        emit(rows, COLUMNS, fmt)


async def _live(
    settings: Settings, flt: EventFilter, state: IncidentState | None
) -> tuple[list[IncidentRow], str | None]:
    """Temporal's open incidents (none needed when only closed ones are asked for); a problem
    reaching Temporal is a warning: the audit's rows are shown without the live columns."""
    if state not in (None, IncidentState.OPEN):
        return [], None
    try:
        client = await connect(settings)
        return await list_incidents(client, service=flt.service), None
    except NotFoundError:
        return [], None  # a service name visibility cannot hold: nothing open for it
    except OrchestratorError as exc:
        return [], f"live state not shown: {exc}"


def register(app: typer.Typer) -> None:
    app.command()(status)
    app.command()(incidents)

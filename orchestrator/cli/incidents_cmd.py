"""``orchestrator status`` and ``orchestrator incidents``: what is open, and where it stands."""

from __future__ import annotations

import typer

from orchestrator.cli.common import echo, echo_json, run, settings_of
from orchestrator.client.connect import connect
from orchestrator.client.queries import IncidentRow, incident_state, list_incidents
from orchestrator.workflows.types import IncidentState


def _render_state(state: IncidentState) -> str:
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
        incidents(ctx, service=None, all_=False, as_json=as_json)
        return
    settings = settings_of(ctx)

    async def body() -> IncidentState:
        return await incident_state(await connect(settings), incident_id)

    state = run(body)
    echo_json(state.model_dump(mode="json")) if as_json else echo(_render_state(state))


def incidents(
    ctx: typer.Context,
    service: str | None = typer.Option(None, help="Only this service"),
    all_: bool = typer.Option(False, "--all", help="Include closed incidents (Temporal retention)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List incidents from Temporal visibility (open ones unless --all)."""
    settings = settings_of(ctx)

    async def body() -> list[IncidentRow]:
        client = await connect(settings)
        return await list_incidents(client, service=service, include_closed=all_)

    rows = [row.model_dump() for row in run(body)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        typer.echo("no incidents")
        return
    cols = ["incident_id", "severity", "state", "playbook", "started"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    echo("  ".join(c.upper().ljust(widths[c]) for c in cols))
    for row in rows:
        echo("  ".join(str(row[c]).ljust(widths[c]) for c in cols))


def register(app: typer.Typer) -> None:
    app.command()(status)
    app.command()(incidents)

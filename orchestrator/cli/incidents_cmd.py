"""``orchestrator status`` and ``orchestrator incidents``: what is open, and where it stands."""

from __future__ import annotations

import typer
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.cli.common import connect, echo_json, run, settings_of
from orchestrator.errors import NotFoundError
from orchestrator.workflows.types import (
    QUERY_STATE,
    SA_PLAYBOOK,
    SA_SERVICE,
    SA_SEVERITY,
    SA_SLO,
    SA_STATE,
    IncidentState,
)


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
        client = await connect(settings)
        handle = client.get_workflow_handle(incident_id)
        try:
            state: IncidentState = await handle.query(QUERY_STATE, result_type=IncidentState)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise NotFoundError(f"no incident {incident_id!r}") from None
            raise
        return state

    state = run(body)
    echo_json(state.model_dump(mode="json")) if as_json else typer.echo(_render_state(state))


def incidents(
    ctx: typer.Context,
    service: str | None = typer.Option(None, help="Only this service"),
    all_: bool = typer.Option(False, "--all", help="Include closed incidents (Temporal retention)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List incidents from Temporal visibility (open ones unless --all)."""
    settings = settings_of(ctx)

    async def body() -> list[dict[str, str]]:
        client = await connect(settings)
        query = "WorkflowType = 'IncidentWorkflow'"
        if not all_:
            query += " AND ExecutionStatus = 'Running'"
        if service:
            query += f" AND Service = '{service.replace(chr(39), '')}'"
        rows = []
        async for wf in client.list_workflows(query):
            attrs = wf.typed_search_attributes
            rows.append(
                {
                    "incident_id": wf.id,
                    "service": attrs.get(SA_SERVICE) or "",
                    "slo": attrs.get(SA_SLO) or "",
                    "severity": attrs.get(SA_SEVERITY) or "-",
                    "playbook": attrs.get(SA_PLAYBOOK) or "-",
                    "state": attrs.get(SA_STATE) or "-",
                    "running": str(wf.status == WorkflowExecutionStatus.RUNNING).lower(),
                    "started": wf.start_time.isoformat(timespec="seconds"),
                }
            )
        return rows

    rows = run(body)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        typer.echo("no incidents")
        return
    cols = ["incident_id", "severity", "state", "playbook", "started"]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    typer.echo("  ".join(c.upper().ljust(widths[c]) for c in cols))
    for row in rows:
        typer.echo("  ".join(row[c].ljust(widths[c]) for c in cols))


def register(app: typer.Typer) -> None:
    app.command()(status)
    app.command()(incidents)

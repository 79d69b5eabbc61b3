"""``orchestrator audit``: post-incident questions, answered from the durable audit store."""

from __future__ import annotations

import typer

from orchestrator.audit.factory import open_audit_store
from orchestrator.audit.model import ChainReport, StoredEvent
from orchestrator.audit.render import format_incidents, format_timeline
from orchestrator.audit.spool import AuditSpool
from orchestrator.cli import proof_cmd, query_cmd
from orchestrator.cli.common import echo, echo_json, fail, run, settings_of
from orchestrator.errors import NotFoundError


def audit(
    ctx: typer.Context,
    incident: str | None = typer.Option(
        None, "--incident", "-i", help="Incident id: print its timeline"
    ),
    service: str | None = typer.Option(None, help="List incidents of this service"),
    verify: bool = typer.Option(False, "--verify", help="Verify the whole hash chain"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Print an incident's timeline, list audited incidents, or verify the hash chain.

    --verify also reports audit events dead-lettered on this host (the store did not take them;
    they wait in the state folder's audit-spool/ for a worker to drain) and then exits 1.

    The audit store outlives Temporal's retention; it is the record for post-incident review.
    Subcommand query filters the events (by service, SLO, severity, actor, kind, action,
    target, outcome, time, ...); export, verify and digest prove it was not edited
    (docs/audit.md).
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_of(ctx)

    async def body() -> list[StoredEvent] | ChainReport | str:
        store = open_audit_store(settings.effective_audit_url)
        try:
            if verify:
                return await store.verify()
            if incident:
                events = await store.timeline(incident)
                if not events:
                    raise NotFoundError(f"no audit events for incident {incident!r}")
                return events
            return format_incidents(await store.incidents(service=service))
        finally:
            await store.close()

    result = run(body)
    if isinstance(result, ChainReport):
        spooled = AuditSpool(settings.audit_spool_dir).pending()
        if as_json:
            echo_json(
                {
                    **result.model_dump(mode="json"),
                    "dead_lettered": [e.event_key for e in spooled],
                }
            )
        else:
            echo(
                f"chain ok: {result.checked} events"
                if result.ok
                else f"CHAIN BROKEN at seq {result.first_bad_seq}: {result.problem}"
            )
            if spooled:
                typer.echo(
                    f"GAP: {len(spooled)} audit events are dead-lettered in"
                    f" {settings.audit_spool_dir}, not in the store yet (a worker on this host"
                    " drains them once the store takes writes):"
                )
                for event in spooled:
                    typer.echo(f"  {event.at.isoformat()}  {event.event_key}")
        if not result.ok or spooled:
            raise typer.Exit(1)
    elif isinstance(result, list):
        echo_json([e.model_dump(mode="json") for e in result]) if as_json else echo(
            format_timeline(result)
        )
    elif as_json:
        raise fail("--json is only for --incident and --verify")
    else:
        echo(result)


def register(app: typer.Typer) -> None:
    group = typer.Typer(invoke_without_command=True, rich_markup_mode=None)
    group.callback()(audit)
    proof_cmd.register(group)
    group.command("query")(query_cmd.query)
    app.add_typer(group, name="audit")

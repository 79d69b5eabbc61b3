"""``orchestrator approve|deny|abort|fast-track``: a person's decisions on running incidents.

Each goes through :mod:`orchestrator.client.control` (the same functions the HTTP API calls);
who decides is recorded in the audit history (``--by``, default ``$ORCHESTRATOR_ACTOR``/$USER).
"""

from __future__ import annotations

from typing import TypeVar

import typer

from orchestrator.cli.common import echo_json, run, settings_of
from orchestrator.client import control as incident_control
from orchestrator.client.connect import connect
from orchestrator.client.submission import SubmitResult
from orchestrator.client.submitter import connect_submitter
from orchestrator.config.files import load_catalog_and_playbooks
from orchestrator.domain.keys import incident_key
from orchestrator.domain.signals import BreachSignal, Segment
from orchestrator.errors import ValidationError
from orchestrator.workflows.types import ControlAck

BY_HELP = "Who decides (recorded); default $ORCHESTRATOR_ACTOR or $USER"
T = TypeVar("T")


def _report(ack: ControlAck | SubmitResult, as_json: bool) -> None:
    if as_json:
        echo_json(ack.model_dump(mode="json"))
    elif isinstance(ack, ControlAck):
        step = f" {ack.step_id}" if ack.step_id else ""
        typer.echo(f"{ack.outcome}:{step} ({ack.incident_id}) {ack.detail}".rstrip())
    else:
        typer.echo(f"{ack.status.value}: incident {ack.incident_id} (fast-track)")


def _by(ctx: typer.Context, by: str | None) -> str:
    who = (by or settings_of(ctx).actor).strip()
    if not who or who == "unknown":
        raise ValidationError("say who decides: --by NAME (or set ORCHESTRATOR_ACTOR)")
    return who


def approve(
    ctx: typer.Context,
    incident_id: str = typer.Argument(..., help="Incident id (see `orchestrator incidents`)"),
    step: str | None = typer.Option(None, help="The step you approve (guards against another)"),
    by: str | None = typer.Option(None, help=BY_HELP),
    reason: str = typer.Option("", help="Why (recorded)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Approve the step the incident waits on. With a two-person rule the launcher may not
    approve, and an automatic incident needs two different people."""
    settings = settings_of(ctx)

    async def body() -> ControlAck:
        who = _by(ctx, by)
        client = await connect(settings)
        return await incident_control.approve(client, incident_id, by=who, step=step, reason=reason)

    _report(run(body), as_json)


def deny(
    ctx: typer.Context,
    incident_id: str = typer.Argument(..., help="Incident id"),
    reason: str = typer.Option(..., help="Why (recorded)"),
    step: str | None = typer.Option(None, help="The step you deny"),
    by: str | None = typer.Option(None, help=BY_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Deny the step the incident waits on: it does not run, the playbook goes on."""
    settings = settings_of(ctx)

    async def body() -> ControlAck:
        who = _by(ctx, by)
        client = await connect(settings)
        return await incident_control.deny(client, incident_id, by=who, step=step, reason=reason)

    _report(run(body), as_json)


def abort(
    ctx: typer.Context,
    incident_id: str = typer.Argument(..., help="Incident id"),
    reason: str = typer.Option(..., help="Why (recorded)"),
    by: str | None = typer.Option(None, help=BY_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Stop the incident's playbook cleanly: the step in flight finishes, nothing more starts,
    what is in place stays (listed in the audit record), and the incident ends aborted."""
    settings = settings_of(ctx)

    async def body() -> ControlAck:
        who = _by(ctx, by)
        client = await connect(settings)
        return await incident_control.abort(client, incident_id, by=who, reason=reason)

    _report(run(body), as_json)


def fast_track(
    ctx: typer.Context,
    playbook: str = typer.Argument(..., help="Playbook to run at once (rollback-and-freeze...)"),
    service: str = typer.Option(..., help="Service name from the catalog"),
    reason: str = typer.Option(..., help="Why (recorded)"),
    slo: str | None = typer.Option(
        None, help="SLO of the incident (default: the service's first in the playbook's dimensions)"
    ),
    component: str | None = typer.Option(None, help="Label `component` (what to roll back)"),
    version: str | None = typer.Option(
        None, help="Label `version`: known-good, previous, or a version"
    ),
    segment: str | None = typer.Option(None, help="Affected segment as key=value"),
    by: str | None = typer.Option(None, help=BY_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """On-call's fast path: run a playbook now, in the running incident of the service and SLO
    (or as a new one). Your approval is given to its one-person approval steps and the waits
    between mitigations are skipped; recorded as a fast-track by you. Two-person steps still need
    a second person."""
    settings = settings_of(ctx)

    async def body() -> ControlAck | SubmitResult:
        who = _by(ctx, by)
        catalog, library = load_catalog_and_playbooks(settings)
        book = library.by_name(playbook)
        svc = catalog.service(service)
        matching = [s for s in svc.slos if s.dimension in book.match.dimensions]
        spec = svc.slo(slo) if slo else (matching[0] if matching else None)
        if spec is None:
            raise ValidationError(f"service {service} has no SLO playbook {playbook} handles")
        labels = {k: v for k, v in (("component", component), ("version", version)) if v}
        try:
            seg = Segment.parse(segment) if segment else None
        except ValueError as exc:
            raise ValidationError(str(exc), "--segment") from None
        signal = BreachSignal(
            service=svc.name,
            slo=spec.name,
            dimension=spec.dimension,
            segment=seg,
            objective=spec.objective,
            window=spec.window,
            source="cli",
            actor=who,
            reason=reason,
            labels=labels,
        )
        client, submitter = await connect_submitter(settings, catalog, library)
        incident_id = incident_key(signal, catalog, library, settings.workflow_id_prefix)
        return await incident_control.fast_track(client, submitter, signal, book, incident_id)

    _report(run(body), as_json)


def register(app: typer.Typer) -> None:
    app.command()(approve)
    app.command()(deny)
    app.command()(abort)
    app.command("fast-track")(fast_track)

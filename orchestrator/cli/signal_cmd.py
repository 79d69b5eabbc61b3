"""``orchestrator signal`` and ``orchestrator launch``: the on-call engineer's ways in."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from temporalio.client import Client

from orchestrator.cli.common import echo_json, fail, run, settings_of
from orchestrator.client import control as incident_control
from orchestrator.client.launch import launch_signal, signal_from_fields
from orchestrator.client.submission import SubmitResult
from orchestrator.client.submitter import TemporalSubmitter, connect_submitter
from orchestrator.config.files import load_catalog_and_playbooks
from orchestrator.domain.keys import incident_key
from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus
from orchestrator.errors import ValidationError
from orchestrator.workflows.types import ControlAck


def _segment(text: str | None) -> Segment | None:
    if text is None:
        return None
    try:
        return Segment.parse(text)
    except ValueError as exc:
        raise fail(f"--segment: {exc}") from None


def _build(**fields: object) -> BreachSignal:
    return signal_from_fields("signal", **fields)


async def _submitter(ctx: typer.Context) -> tuple[Client, TemporalSubmitter]:
    settings = settings_of(ctx)
    catalog, library = load_catalog_and_playbooks(settings)
    return await connect_submitter(settings, catalog, library)


async def _submit(ctx: typer.Context, signal: BreachSignal) -> SubmitResult:
    _, submitter = await _submitter(ctx)
    return await submitter.submit(signal)


def _report(result: SubmitResult | ControlAck) -> None:
    if isinstance(result, ControlAck):
        typer.echo(f"{result.outcome}: incident {result.incident_id} {result.detail}".rstrip())
        return
    typer.echo(
        f"{result.status.value}: incident {result.incident_id} (dedupe key {result.dedupe_key})"
    )


def signal(
    ctx: typer.Context,
    service: str | None = typer.Option(None, help="Service name from the catalog"),
    slo: str | None = typer.Option(None, help="SLO name from the catalog"),
    segment: str | None = typer.Option(
        None, help="Affected segment as key=value, e.g. language=es"
    ),
    observed: float | None = typer.Option(None, help="Observed value of the SLI"),
    burn_rate: float | None = typer.Option(None, help="Error-budget burn rate"),
    status: SignalStatus = typer.Option(SignalStatus.FIRING, help="firing or resolved"),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Read the whole signal from a JSON file instead"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Send a breach (or resolution) signal by hand, as a monitoring system would.

    The dimension and objective are taken from the catalog's SLO. The signal joins the incident
    already open for the service and SLO, or starts one; a resolved signal never starts one.
    """
    settings = settings_of(ctx)

    async def body() -> SubmitResult:
        if file is not None:
            try:
                data = json.loads(file.read_text())  # noqa: ASYNC240 - one small file
            except (OSError, json.JSONDecodeError) as exc:
                raise ValidationError(f"cannot read a JSON signal: {exc}", str(file)) from None
            sig = _build(**{**data, "source": data.get("source", "cli")})
        else:
            if not service or not slo:
                raise ValidationError("--service and --slo are required (or --file)")
            catalog, _ = load_catalog_and_playbooks(settings)
            spec = catalog.service(service).slo(slo)
            sig = _build(
                service=service,
                slo=slo,
                dimension=spec.dimension,
                status=status,
                segment=_segment(segment),
                observed=observed,
                objective=spec.objective,
                window=spec.window,
                burn_rate=burn_rate,
                source="cli",
                actor=settings.actor,
            )
        return await _submit(ctx, sig)

    result = run(body)
    echo_json(result.model_dump(mode="json")) if as_json else _report(result)


def launch(
    ctx: typer.Context,
    playbook: str = typer.Argument(..., help="Playbook name (see `orchestrator playbooks list`)"),
    service: str = typer.Option(..., help="Service name from the catalog"),
    reason: str = typer.Option(
        ..., help="Why you are launching it (recorded in the audit history)"
    ),
    segment: str | None = typer.Option(
        None, help="Affected segment as key=value, e.g. language=es"
    ),
    slo: str | None = typer.Option(
        None,
        help="SLO the incident is about (default: the first SLO "
        "of the service in a dimension the playbook handles)",
    ),
    by: str | None = typer.Option(
        None, help="Who launches it (default: $ORCHESTRATOR_ACTOR or $USER)"
    ),
) -> None:
    """Launch a playbook by hand for a service; recorded with who launched it and why.

    Into the incident already open for the service and SLO (steps already done are not
    repeated), or as a new incident.
    """
    settings = settings_of(ctx)

    async def body() -> SubmitResult | ControlAck:
        catalog, library = load_catalog_and_playbooks(settings)
        sig = launch_signal(
            catalog,
            library,
            playbook=playbook,
            service=service,
            reason=reason,
            actor=by or settings.actor,
            slo=slo,
            segment=_segment(segment),
        )
        client, submitter = await _submitter(ctx)
        incident_id = incident_key(sig, catalog, library, settings.workflow_id_prefix)
        return await incident_control.launch_or_start(
            client, submitter, sig, library.by_name(playbook), incident_id
        )

    _report(run(body))


def register(app: typer.Typer) -> None:
    app.command()(signal)
    app.command()(launch)

"""``orchestrator signal``: send a breach signal by hand, as a monitoring system would.

It goes straight to Temporal, like the ingest. A launch by a person (a playbook named, a person
recorded) is ``orchestrator launch``, through the operator API with the caller's token.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from temporalio.client import Client

from orchestrator.cli.common import echo_json, fail, run, settings_of
from orchestrator.client.launch import signal_from_fields
from orchestrator.client.submission import SubmitResult
from orchestrator.client.submitter import TemporalSubmitter, connect_submitter
from orchestrator.config.files import load_catalog_and_playbooks
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
            if not isinstance(data, dict):
                raise ValidationError("a JSON signal is an object", str(file))
            named = sorted({"playbook", "actor"} & set(data))
            if named:
                raise ValidationError(
                    f"{' and '.join(named)} make a launch by a person: use `orchestrator launch`"
                    " (the operator API records who with their token)",
                    str(file),
                )
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


def register(app: typer.Typer) -> None:
    app.command()(signal)

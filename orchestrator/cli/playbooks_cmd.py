"""``orchestrator playbooks``: validate, list, dry-run (plan) playbooks, print their schema."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import typer

from orchestrator.cli.common import echo, echo_json, fail, settings_of
from orchestrator.config.files import load_catalog
from orchestrator.config.playbook_files import check_against_catalog, load_library, validate_path
from orchestrator.domain.policy_plan import IncidentPlan, plan_incident
from orchestrator.domain.policy_schema import playbook_json_schema
from orchestrator.domain.signals import BreachSignal
from orchestrator.errors import OrchestratorError

app = typer.Typer(
    help="Validate, list and dry-run playbooks; print their JSON Schema.", no_args_is_help=True
)


@app.command()
def validate(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None, help="A playbook file or folder (default: playbooks/)"
    ),
) -> None:
    """Check playbooks: YAML, schema, actions, arguments, templates, and flags against the catalog.

    Prints every problem with its file, step and field; exits 1 if there is any.
    """
    settings = settings_of(ctx)
    target = path or settings.playbooks_path
    errors = validate_path(target)
    if not errors:
        try:
            errors = check_against_catalog(
                load_library(target), load_catalog(settings.catalog_path)
            )
        except OrchestratorError as exc:
            errors = [str(exc)]
    for line in errors:
        echo(line, err=True)
    if errors:
        typer.echo(f"{len(errors)} problem(s) in {target}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {target}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the playbooks with what they match."""
    settings = settings_of(ctx)
    try:
        library = load_library(settings.playbooks_path)
    except OrchestratorError as exc:
        raise fail(str(exc)) from None
    for book in library.playbooks:
        sev = ",".join(s.value for s in book.match.severities)
        services = ",".join(book.match.services) or "any service"
        echo(
            f"{book.name}: {','.join(book.match.dimensions)} at {sev} for {services}"
            f" ({len(book.steps)} steps) - {book.description}"
        )


def _render_plan(plan: IncidentPlan) -> str:
    lines = [
        "dry run: nothing was changed",
        f"incident  {plan.incident_id}",
        f"signal    {plan.status} for {plan.service} / {plan.slo}"
        + (" (manual launch)" if plan.manual else "")
        + (" (fast-track)" if plan.fast_track else ""),
    ]
    if plan.severity is not None:
        lines.append(f"severity  {plan.severity.explanation}")
    lines.append(f"playbook  {plan.playbook or '-'}")
    if plan.note != "dry run: nothing was changed":
        lines.append(f"note      {plan.note}")
    if plan.kill_switch:
        lines.append("kill switch on: every destructive step becomes a notice")
    for step in plan.steps:
        mark = {"run": "run ", "refuse": "refuse"}.get(step.decision, step.decision)
        lines.append(
            f"  [{mark}] {step.id} ({step.action})"
            + (f": {step.skip_reason}" if step.skip_reason else "")
        )
        if step.error:
            lines.append(f"         error: {step.error}")
        if step.args is not None:
            lines.append(f"         args: {json.dumps(step.args, sort_keys=True)}")
        notes = []
        if step.approval:
            who = "two people" if step.approval["two_person"] else "a person"
            notes.append(
                f"waits for approval by {who}; {step.approval['on_timeout']} after"
                f" {step.approval['timeout_seconds']:g}s"
            )
        if step.temporary:
            notes.append("temporary: undone when the SLO recovers")
        if step.runs and step.destructive:
            notes.append("destructive: never after resolution; kill switch and breaker apply")
        for note in notes:
            lines.append(f"         {note}")
    if plan.resolution is not None and plan.on_failure is not None:
        lines.append(
            f"resolution: hold-down {plan.resolution.hold_down_seconds:g}s, open at most"
            f" {plan.resolution.max_open_seconds:g}s while firing; on failure:"
            f" {'compensate, ' if plan.on_failure.compensate else ''}"
            f"{'page' if plan.on_failure.page else 'stop'}"
        )
    return "\n".join(lines)


@app.command()
def plan(
    ctx: typer.Context,
    signal: Path = typer.Option(..., "--signal", "-s", help="A breach signal as JSON"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Dry run: the severity, the playbook and every step (with its rendered arguments) the
    orchestrator would run for the signal. Touches nothing: no Temporal, no flag, no provider."""
    settings = settings_of(ctx)
    try:
        data = json.loads(signal.read_text(encoding="utf-8"))
        breach = BreachSignal.model_validate(data)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read a signal from {signal}: {_first_line(exc)}") from None
    try:
        result = plan_incident(
            breach,
            load_catalog(settings.catalog_path),
            load_library(settings.playbooks_path),
            workflow_id_prefix=settings.workflow_id_prefix,
            kill_switch=settings.kill_switch,
        )
    except OrchestratorError as exc:
        raise fail(str(exc)) from None
    if as_json:
        echo_json(result.model_dump(mode="json"))
    else:
        echo(_render_plan(result))


def _first_line(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc).splitlines()[0]


@app.command()
def schema() -> None:
    """Print the JSON Schema of a playbook file (for editors: validation and completion)."""
    echo_json(playbook_json_schema())

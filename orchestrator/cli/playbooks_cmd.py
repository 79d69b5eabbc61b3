"""``orchestrator playbooks``: validate and list the playbook library."""

from __future__ import annotations

from pathlib import Path

import typer

from orchestrator.cli.common import fail, load_catalog, settings_of
from orchestrator.errors import OrchestratorError
from orchestrator.playbook_files import check_against_catalog, load_library, validate_path

app = typer.Typer(help="Validate and list playbooks.", no_args_is_help=True)


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
        typer.echo(line, err=True)
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
        typer.echo(
            f"{book.name}: {','.join(book.match.dimensions)} at {sev} for {services}"
            f" ({len(book.steps)} steps) - {book.description}"
        )

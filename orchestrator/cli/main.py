"""The ``orchestrator`` command: on-call actions, incident queries, audit, playbook checks.

The commands that run the stack itself (``up``, ``worker``, ``demo``) are added by the composition
root in ``workers/main.py``, the console-script entry point (the only module outside this
package that imports it).
"""

from __future__ import annotations

from pathlib import Path

import typer

from orchestrator import __version__
from orchestrator.cli import (
    audit_cmd,
    control_cmd,
    incidents_cmd,
    playbooks_cmd,
    query_cmd,
    report_cmd,
    reviews_cmd,
    safety_cmd,
    signal_cmd,
    slo_cmd,
    token_cmd,
)
from orchestrator.config.settings import Settings
from orchestrator.errors import OrchestratorError

HELP = """Incident response and remediation for AI-powered customer-experience services.

SLO breach signals become durable Temporal incidents that run severity-classified playbooks
(graceful fallback, rollback, freeze, RCA), change flags through LaunchDarkly or the local flag
store, verify the effect with the LaunchDarkly SDK, and record everything in a hash-chained audit
history. Settings come from ORCHESTRATOR_* environment variables (docs/operations.md); the options
below override them.
"""

app = typer.Typer(
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    state_dir: Path | None = typer.Option(
        None, help="Local state folder (Temporal DB, flag store, audit DB). Default .orchestrator"
    ),
    temporal_address: str | None = typer.Option(None, help="Temporal frontend host:port"),
    catalog: Path | None = typer.Option(None, help="Service and SLO catalog YAML"),
    playbooks: Path | None = typer.Option(None, help="Playbook file or folder"),
    audit_url: str | None = typer.Option(
        None, help="Audit store: sqlite:///path.db or postgresql://..."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit"
    ),
) -> None:
    try:
        settings = Settings.from_env()
    except OrchestratorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    overrides = {
        "state_dir": state_dir,
        "temporal_address": temporal_address,
        "catalog_path": catalog,
        "playbooks_path": playbooks,
        "audit_url": audit_url,
    }
    ctx.obj = settings.with_overrides(**{k: v for k, v in overrides.items() if v is not None})


signal_cmd.register(app)
incidents_cmd.register(app)
audit_cmd.register(app)
query_cmd.register(app)
report_cmd.register(app)
reviews_cmd.register(app)
app.add_typer(playbooks_cmd.app, name="playbooks")
app.add_typer(slo_cmd.app, name="slo")
control_cmd.register(app)
safety_cmd.register(app)
token_cmd.register(app)


def main() -> None:
    app()

"""``orchestrator report OCCURRENCE``: the incident report (a first draft of the post-incident
review) from the durable audit store, as Markdown or one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import typer

from orchestrator.audit.factory import open_audit_store
from orchestrator.cli.common import echo, fail, run, settings_of
from orchestrator.config.files import load_catalog
from orchestrator.domain.catalog import Catalog
from orchestrator.errors import OrchestratorError
from orchestrator.ingest.report_api import render_incident_report, report_format


def report(
    ctx: typer.Context,
    occurrence: str = typer.Argument(..., help="The occurrence (incident) id"),
    fmt: str = typer.Option("md", "--format", "-f", help="md or html"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file, not stdout"),
) -> None:
    """Write the incident report: summary, severity and its rubric rows, breach signals, changes
    (before/after, by whom), approvals and waits, verifications, time to detect / mitigate /
    verify / recover, RCA tasks, the timeline and the raw signals. See docs/audit.md.
    """
    settings = settings_of(ctx)
    try:
        chosen = report_format(fmt)
    except OrchestratorError as exc:
        raise fail(str(exc)) from None

    async def body() -> str:
        store = open_audit_store(settings.effective_audit_url)
        try:
            events = await store.timeline(occurrence)
        finally:
            await store.close()
        return render_incident_report(occurrence, events, _catalog(settings.catalog_path), chosen)

    text = run(body)
    if out is None:
        echo(text.rstrip("\n"))
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}") from None
    echo(f"report of {occurrence} written to {out}", err=True)


def _catalog(path: Path) -> Catalog | None:
    """The catalog for objectives a signal did not carry; the report goes on without it."""
    try:
        return load_catalog(path)
    except OrchestratorError:
        return None


def register(app: typer.Typer) -> None:
    app.command()(report)

"""``orchestrator reviews``: the incident reviews (RCA tasks) a playbook opened, and closing one
when the review is done. Both go through the operator API, which talks to the configured ticket
system (local, GitHub Issues, Jira Cloud) and records the close under your principal."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import typer

from orchestrator.cli.common import echo, echo_json
from orchestrator.cli.control_cmd import call

reviews_app = typer.Typer(
    help="Incident reviews (RCA tasks): show one, close it when the review is done.",
    no_args_is_help=True,
)
TICKET_HELP = "Ticket id as the ticket system has it: RCA-1, owner/repo#7, PROJ-12"


def _path(ticket: str) -> str:
    return f"/v1/reviews/{quote(ticket, safe='/')}"


def _line(ticket: dict[str, Any]) -> str:
    status = ticket["status"]
    if status == "closed" and ticket.get("resolution"):
        status = f"closed: {ticket['resolution']}"
    where = f"  {ticket['url']}" if ticket.get("url") else ""
    return (
        f"{ticket['id']}  {status}\n  incident {ticket['incident_id']}, owner {ticket['owner']},"
        f" due {ticket['deadline']}{where}"
    )


@reviews_app.command("show")
def show(
    ctx: typer.Context,
    ticket: str = typer.Argument(..., help=TICKET_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Show a review as the ticket system holds it (viewer role)."""
    answer = call(ctx, "GET", _path(ticket))
    echo_json(answer) if as_json else echo(_line(answer))


@reviews_app.command("close")
def close(
    ctx: typer.Context,
    ticket: str = typer.Argument(..., help=TICKET_HELP),
    resolution: str = typer.Option(..., help="What the review concluded (kept on the ticket)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Close a review when it is done (responder role): the ticket is closed with the
    resolution, read back, and the close is recorded in the incident's audit history under
    your principal. Closing a closed review changes nothing."""
    answer = call(ctx, "POST", f"{_path(ticket)}/close", {"resolution": resolution})
    if as_json:
        echo_json(answer)
    else:
        echo(_line(answer["ticket"]))
        echo(f"  closed by {answer['closed_by']} at {answer['closed_at']}")


def register(app: typer.Typer) -> None:
    app.add_typer(reviews_app, name="reviews")

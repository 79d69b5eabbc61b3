"""``orchestrator launch|approve|deny|abort|fast-track``: a person's decisions on incidents.

Each is a call to the operator API (orchestrator/client/api.py) with the CLI's token, so it is
recorded under that token's principal, never under a name typed on the command line: the
two-person rule compares principals (docs/security.md).
"""

from __future__ import annotations

from typing import Any

import typer

from orchestrator.cli.common import echo, echo_json, run, settings_of
from orchestrator.client.api import OperatorApi, resolve_token

INCIDENT_HELP = "Incident id (see `orchestrator incidents`)"
JSON_HELP = "Print JSON"


def operator_api(ctx: typer.Context) -> OperatorApi:
    """The operator API at ORCHESTRATOR_API_URL with the CLI's token."""
    settings = settings_of(ctx)
    token = resolve_token(settings.token, settings.local_token_path)
    return OperatorApi(settings.effective_api_url, token)


def call(ctx: typer.Context, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    async def go() -> Any:
        return await operator_api(ctx).call(method, path, body)

    return run(go)


def _report(answer: dict[str, Any], as_json: bool, note: str = "") -> None:
    if as_json:
        echo_json(answer)
    elif "outcome" in answer and answer.get("step_id"):
        line = f"{answer['outcome']}: {answer['step_id']} ({answer['incident_id']})"
        echo(f"{line} {answer['detail']}".rstrip())
    elif "outcome" in answer:
        echo(f"{answer['outcome']}: incident {answer['incident_id']} {answer['detail']}".rstrip())
    else:
        echo(f"{answer['status']}: incident {answer['incident_id']}{note}")


def _decide(ctx: typer.Context, incident_id: str, action: str, body: dict[str, Any]) -> Any:
    path = f"/v1/incidents/{incident_id}/{action}"
    return call(ctx, "POST", path, {k: v for k, v in body.items() if v})


def approve(
    ctx: typer.Context,
    incident_id: str = typer.Argument(..., help=INCIDENT_HELP),
    step: str | None = typer.Option(None, help="The step you approve (guards against another)"),
    reason: str = typer.Option("", help="Why (recorded)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Approve the step the incident waits on (approver role). With a two-person rule the
    launcher may not approve, and an automatic incident needs two different principals."""
    _report(_decide(ctx, incident_id, "approve", {"step": step, "reason": reason}), as_json)


def deny(
    ctx: typer.Context,
    incident_id: str = typer.Argument(..., help=INCIDENT_HELP),
    reason: str = typer.Option(..., help="Why (recorded)"),
    step: str | None = typer.Option(None, help="The step you deny"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Deny the step the incident waits on (approver role): it does not run, the playbook goes
    on."""
    _report(_decide(ctx, incident_id, "deny", {"step": step, "reason": reason}), as_json)


def abort(
    ctx: typer.Context,
    incident_id: str = typer.Argument(..., help=INCIDENT_HELP),
    reason: str = typer.Option(..., help="Why (recorded)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Stop the incident's playbook cleanly (responder role): the step in flight finishes,
    nothing more starts, what is in place stays (listed in the audit record), and the incident
    ends aborted."""
    _report(_decide(ctx, incident_id, "abort", {"reason": reason}), as_json)


def _launch(ctx: typer.Context, as_json: bool, **fields: Any) -> None:
    body = {k: v for k, v in fields.items() if v is not None and v is not False}
    note = " (fast-track)" if fields.get("fast_track") else ""
    _report(call(ctx, "POST", "/v1/incidents", body), as_json, note)


def launch(
    ctx: typer.Context,
    playbook: str = typer.Argument(..., help="Playbook name (see `orchestrator playbooks list`)"),
    service: str = typer.Option(..., help="Service name from the catalog"),
    reason: str = typer.Option(..., help="Why you launch it (recorded in the audit history)"),
    segment: str | None = typer.Option(None, help="Affected segment as key=value (language=es)"),
    slo: str | None = typer.Option(
        None, help="SLO of the incident (default: the service's first the playbook handles)"
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Launch a playbook by hand for a service (responder role); recorded with your principal
    and why. Into the incident already open for the service and SLO (steps already done are not
    repeated), or as a new incident."""
    _launch(
        ctx, as_json, playbook=playbook, service=service, reason=reason, segment=segment, slo=slo
    )


def fast_track(
    ctx: typer.Context,
    playbook: str = typer.Argument(..., help="Playbook to run at once (rollback-and-freeze...)"),
    service: str = typer.Option(..., help="Service name from the catalog"),
    reason: str = typer.Option(..., help="Why (recorded)"),
    slo: str | None = typer.Option(
        None, help="SLO of the incident (default: the service's first the playbook handles)"
    ),
    component: str | None = typer.Option(None, help="Label `component` (what to roll back)"),
    version: str | None = typer.Option(
        None, help="Label `version`: known-good, previous, or a version"
    ),
    segment: str | None = typer.Option(None, help="Affected segment as key=value"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """On-call's fast path (approver role): run a playbook now, in the running incident of the
    service and SLO (or as a new one). Your approval is given to its one-person approval steps
    and the waits between mitigations are skipped; recorded as a fast-track by you. Two-person
    steps still need a second principal."""
    _launch(
        ctx,
        as_json,
        playbook=playbook,
        service=service,
        reason=reason,
        slo=slo,
        component=component,
        version=version,
        segment=segment,
        fast_track=True,
    )


def register(app: typer.Typer) -> None:
    app.command()(launch)
    app.command()(approve)
    app.command()(deny)
    app.command()(abort)
    app.command("fast-track")(fast_track)

"""``orchestrator safety kill-switch`` and ``orchestrator freezes``: safety switches at run time.

The kill switch lives in the audit database, shared by every worker; it is changed through the
operator API (admin role), which records who and why. It makes every worker notify-only at the
next destructive step of every incident, running or new. ``ORCHESTRATOR_KILL_SWITCH`` set on a
worker is a floor: that worker stays notify-only whatever the database says. Release freezes
are the local provider's, in the state folder.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from orchestrator.cli.common import echo, echo_json, fail, run, settings_of
from orchestrator.cli.control_cmd import call
from orchestrator.domain.ops_models import Freeze, KillSwitch
from orchestrator.providers.local_ops import local_ops

kill_switch_app = typer.Typer(
    help="The kill switch: notify-only for every worker (on), or acting again (off).",
    no_args_is_help=True,
)
safety_app = typer.Typer(help="The safety switches shared by every worker.", no_args_is_help=True)
safety_app.add_typer(kill_switch_app, name="kill-switch")
freezes_app = typer.Typer(help="Release freezes: list them, lift one.", no_args_is_help=True)
BY_HELP = "Who lifts it (recorded); default $ORCHESTRATOR_ACTOR or $USER"


def _who(ctx: typer.Context, by: str | None) -> str:
    who = (by or settings_of(ctx).actor).strip()
    if not who or who == "unknown":
        raise fail("say who: --by NAME (or set ORCHESTRATOR_ACTOR)")
    return who


def _switch_line(switch: KillSwitch) -> str:
    if not switch.on:
        since = f" (off since {switch.at:%Y-%m-%d %H:%M} by {switch.by})" if switch.at else ""
        return f"kill switch off{since}"
    since = f" since {switch.at:%Y-%m-%d %H:%M}" if switch.at else ""
    return f"kill switch ON{since} by {switch.by}: {switch.reason} (notify-only)"


def _show(answer: dict[str, object], as_json: bool) -> None:
    if as_json:
        echo_json(answer)
    else:
        echo(_switch_line(KillSwitch.model_validate(answer["kill_switch"])))
        if answer.get("floor"):
            echo("ORCHESTRATOR_KILL_SWITCH is set on the API's host: it cannot be turned off there")


@kill_switch_app.command("status")
def kill_status(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON")
) -> None:
    """Show whether the orchestrator is notify-only (viewer role)."""
    _show(call(ctx, "GET", "/v1/safety"), as_json)


def _set(ctx: typer.Context, on: bool, reason: str, as_json: bool) -> None:
    _show(call(ctx, "POST", "/v1/safety/kill-switch", {"on": on, "reason": reason}), as_json)


@kill_switch_app.command("on")
def kill_on(
    ctx: typer.Context,
    reason: str = typer.Option(..., help="Why (recorded in the audit history)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Notify-only from the next destructive step of every incident on every worker (admin
    role): nothing changes what users get or what ships; the on-call is paged with what would
    have run. Recorded in the audit history with your principal and the reason."""
    _set(ctx, True, reason, as_json)


@kill_switch_app.command("off")
def kill_off(
    ctx: typer.Context,
    reason: str = typer.Option(..., help="Why (recorded in the audit history)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Let playbooks act again (admin role). Refused while ORCHESTRATOR_KILL_SWITCH is set on
    the API's host; a worker with it set stays notify-only whatever the database says."""
    _set(ctx, False, reason, as_json)


def _freeze_line(freeze: Freeze, now: datetime) -> str:
    state = "ACTIVE" if freeze.active_at(now) else "lifted" if freeze.lifted_at else "expired"
    until = f"until {freeze.until:%Y-%m-%d %H:%M}" if freeze.until else "until lifted"
    return (
        f"{state:7} {freeze.service}/{freeze.component} {until}, owner {freeze.owner}:"
        f" {freeze.reason}  [{freeze.id}]"
    )


@freezes_app.command("list")
def freezes_list(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include lifted and expired freezes"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List release freezes (in force, unless --all)."""
    settings = settings_of(ctx)
    freezes = run(local_ops(settings.state_dir).freezes.all)
    now = datetime.now(UTC)
    shown = [f for f in freezes if all_ or f.active_at(now)]
    if as_json:
        echo_json([f.model_dump(mode="json") for f in shown])
        return
    for freeze in shown:
        typer.echo(_freeze_line(freeze, now))
    if not shown:
        typer.echo("no release freezes in force" if not all_ else "no release freezes")


@freezes_app.command("lift")
def freezes_lift(
    ctx: typer.Context,
    freeze_id: str = typer.Argument(..., help="Freeze id (see `orchestrator freezes list`)"),
    reason: str = typer.Option(..., help="Why (recorded with the freeze)"),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    """Lift a release freeze by hand (the explicit unfreeze)."""
    settings = settings_of(ctx)
    who = _who(ctx, by)
    freezes = local_ops(settings.state_dir).freezes

    async def body() -> Freeze:
        return await freezes.lift(freeze_id, by=who, reason=reason, now=datetime.now(UTC))

    typer.echo(_freeze_line(run(body), datetime.now(UTC)))


def register(app: typer.Typer) -> None:
    app.add_typer(safety_app, name="safety")
    app.add_typer(kill_switch_app, name="kill-switch", hidden=True)  # the older spelling
    app.add_typer(freezes_app, name="freezes")

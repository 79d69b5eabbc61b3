"""``orchestrator kill-switch`` and ``orchestrator freezes``: the safety ledger and release
freezes of the local (file-backed) providers in the state folder, changed at run time.

The kill switch makes every worker that shares the state folder notify-only at the next
destructive step of every incident, running or new (``ORCHESTRATOR_KILL_SWITCH`` is the
start-up floor: when set, the switch cannot be turned off here).
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from orchestrator.cli.common import echo_json, fail, run, settings_of
from orchestrator.cli.control_cmd import BY_HELP
from orchestrator.domain.ops_models import Freeze, KillSwitch
from orchestrator.providers.local_ops import local_ops

kill_switch_app = typer.Typer(
    help="Turn the orchestrator notify-only (and back) at run time.", no_args_is_help=True
)
freezes_app = typer.Typer(help="Release freezes: list them, lift one.", no_args_is_help=True)


def _who(ctx: typer.Context, by: str | None) -> str:
    who = (by or settings_of(ctx).actor).strip()
    if not who or who == "unknown":
        raise fail("say who: --by NAME (or set ORCHESTRATOR_ACTOR)")
    return who


def _switch_line(switch: KillSwitch, floor: bool) -> str:
    if floor:
        return "kill switch ON (ORCHESTRATOR_KILL_SWITCH at start-up): notify-only"
    if not switch.on:
        since = f" (off since {switch.at:%Y-%m-%d %H:%M} by {switch.by})" if switch.at else ""
        return f"kill switch off{since}"
    return f"kill switch ON since {switch.at:%Y-%m-%d %H:%M} by {switch.by}: {switch.reason}"


@kill_switch_app.command("status")
def kill_status(ctx: typer.Context) -> None:
    """Show whether the orchestrator is notify-only."""
    settings = settings_of(ctx)
    switch = run(local_ops(settings.state_dir).safety.kill_switch)
    typer.echo(_switch_line(switch, settings.kill_switch))


def _set(ctx: typer.Context, on: bool, by: str | None, reason: str) -> None:
    settings = settings_of(ctx)
    if not on and settings.kill_switch:
        raise fail("ORCHESTRATOR_KILL_SWITCH is set at start-up; unset it there to turn it off")
    who = _who(ctx, by)
    ledger = local_ops(settings.state_dir).safety

    async def body() -> KillSwitch:
        return await ledger.set_kill_switch(on, by=who, reason=reason, now=datetime.now(UTC))

    typer.echo(_switch_line(run(body), False))


@kill_switch_app.command("on")
def kill_on(
    ctx: typer.Context,
    reason: str = typer.Option(..., help="Why (recorded)"),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    """Notify-only from the next destructive step of every incident: nothing changes what users
    get or what ships; the on-call is paged with what would have run."""
    _set(ctx, True, by, reason)


@kill_switch_app.command("off")
def kill_off(
    ctx: typer.Context,
    reason: str = typer.Option(..., help="Why (recorded)"),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    """Let playbooks act again."""
    _set(ctx, False, by, reason)


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
    app.add_typer(kill_switch_app, name="kill-switch")
    app.add_typer(freezes_app, name="freezes")

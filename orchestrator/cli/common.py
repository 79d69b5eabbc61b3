"""What every CLI command shares: settings, one-line errors, async running, JSON output."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from orchestrator.config.settings import Settings
from orchestrator.errors import ConfigError, OrchestratorError
from orchestrator.secrets import redact_text

T = TypeVar("T")


def settings_of(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        raise ConfigError("settings were not built")
    return settings


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {redact_text(message)}", err=True)
    return typer.Exit(code)


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async command body; an OrchestratorError becomes a one-line error, exit code 2."""
    try:
        return asyncio.run(_as_coro(coro_fn))
    except OrchestratorError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


SETTLE_SECONDS = 0.05


async def _as_coro(fn: Callable[[], Awaitable[T]]) -> T:
    """Run the body, then give the Temporal client's transport a moment before the loop closes.

    When an RPC fails (an unknown incident, a refused update) and the process exits at once, the
    SDK's native runtime can call back into a finalizing interpreter and abort it (about one run
    in eight, reproduced with a bare ``Client``); 50 ms of grace prevents it.
    """
    try:
        return await fn()
    finally:
        await asyncio.sleep(SETTLE_SECONDS)


def echo_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))

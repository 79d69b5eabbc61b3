"""What every CLI command shares: settings, one-line errors, async running, output.

Everything a command prints that carries data from elsewhere (an incident's state, an audit
timeline, a provider's error) goes through :func:`echo`, :func:`echo_json` or :func:`fail`, which
mask credentials (:mod:`orchestrator.secrets`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from orchestrator.config.settings import Settings
from orchestrator.errors import ConfigError, OrchestratorError
from orchestrator.secrets import redact, redact_text

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


def echo(text: str, *, err: bool = False) -> None:
    """Print a line (or lines) with credentials masked."""
    typer.echo(redact_text(text), err=err)


def echo_json(data: Any) -> None:
    """The one JSON printer of the CLI: secret-named keys and secrets inside values masked."""
    import json

    typer.echo(json.dumps(redact(_plain(data)), indent=2, sort_keys=True))


def _plain(data: Any) -> Any:
    """``data`` with every value JSON cannot hold as text (dates, paths), so redaction sees it."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    if data is None or isinstance(data, str | int | float | bool):
        return data
    return str(data)

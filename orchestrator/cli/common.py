"""What every CLI command shares: settings, one-line errors, async running, Temporal connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from orchestrator.domain.catalog import Catalog, parse_catalog
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.errors import ConfigError, OrchestratorError, TemporalUnavailableError
from orchestrator.playbook_files import load_library
from orchestrator.secrets import redact_text
from orchestrator.settings import Settings
from orchestrator.temporal_submitter import TemporalSubmitter

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
    except RPCError as exc:
        raise fail(f"Temporal refused: {exc.message}") from None
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


async def connect(settings: Settings) -> Client:
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
        )
    except RuntimeError as exc:
        raise TemporalUnavailableError(
            f"cannot reach Temporal at {settings.temporal_address} (is `orchestrator up` running?)"
        ) from exc


def load_catalog(path: Path) -> Catalog:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read catalog {path}: {exc.strerror}") from exc
    return parse_catalog(text, str(path))


async def connect_submitter(
    settings: Settings, catalog: Catalog, library: PlaybookLibrary
) -> tuple[Client, TemporalSubmitter]:
    """A Temporal client and the submitter every CLI way in uses."""
    client = await connect(settings)
    submitter = TemporalSubmitter(
        client,
        catalog,
        library,
        task_queue=settings.task_queue,
        kill_switch=settings.kill_switch,
        workflow_id_prefix=settings.workflow_id_prefix,
    )
    return client, submitter


def load_catalog_and_playbooks(settings: Settings) -> tuple[Catalog, PlaybookLibrary]:
    return load_catalog(settings.catalog_path), load_library(settings.playbooks_path)


def echo_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))

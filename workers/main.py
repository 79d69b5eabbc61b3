"""The console-script entry point: the ``orchestrator`` CLI plus the commands that run the stack.

The one module of ``workers/`` that imports ``orchestrator.cli``: it mounts the composition root's
commands (``up``, ``api``, ``worker``, ``demo``) on the CLI's app (docs/architecture.md).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from orchestrator.audit.factory import describe_url
from orchestrator.cli.common import echo, run, settings_of
from orchestrator.cli.main import app
from orchestrator.client.connect import connect
from orchestrator.config.ingest import SOURCES, IngestSettings
from orchestrator.config.principals import Principals
from orchestrator.config.settings import Settings
from orchestrator.logging import configure_logging
from workers.allocator import return_freed_memory, trimming
from workers.api import ApiServer, build_app, local_principals
from workers.runtime import build_runtime
from workers.stack import embedded_stack, wait_for_stop


def _print_access(
    settings: Settings, ingest: IngestSettings, principals: Principals, warning: str | None
) -> None:
    """Who may post signals and who may use the operator API, as configured."""
    if warning is not None:
        typer.echo(warning, err=True)
    elif not any(ingest.auth_for(src).configured for src in SOURCES):
        typer.echo(
            "           no ingest tokens configured: every post is refused (see docs/ingest.md)"
        )
    if not principals:
        typer.echo(
            "           no ORCHESTRATOR_TOKENS_FILE: the operator API refuses every call"
            " (docs/security.md)"
        )
    elif settings.tokens_file is None:
        typer.echo(
            f"operator   {', '.join(principals.names)} (admin), token in"
            f" {settings.local_token_path} (the CLI uses it)"
        )
    else:
        typer.echo(f"operator   {len(principals.names)} principals from {settings.tokens_file}")


@contextmanager
def _serving() -> Iterator[None]:
    """What every long-running command runs in: structured logs, and an allocator that gives
    freed memory back, as it is freed and now and then (workers/allocator.py)."""
    configure_logging()
    return_freed_memory()
    with trimming():
        yield


@app.command()
def up(ctx: typer.Context) -> None:
    """Run the embedded stack in the foreground until Ctrl-C.

    Starts the real Temporal dev server (SQLite file and Web UI in the state folder, the project's
    search attributes registered), a worker, and the local flag store. Stopping and starting again
    loses nothing: incidents that were waiting continue.
    """
    settings = settings_of(ctx)

    async def body() -> None:
        ingest = settings.ingest
        async with embedded_stack(settings) as stack:
            s = stack.settings
            principals = local_principals(s)
            app_ = build_app(stack.runtime, stack.client, ingest, principals)
            server = ApiServer(app_, s.api_host, s.api_port)
            await server.start()
            try:
                echo(f"Temporal   {s.temporal_address} (namespace {s.temporal_namespace})")
                typer.echo(f"Web UI     {stack.server.ui_url}")
                echo(f"API        {server.url} (OpenAPI at {server.url}/openapi.json)")
                _print_access(s, ingest, principals, server.warning)
                typer.echo(f"task queue {s.task_queue}")
                typer.echo(f"flags      {s.flag_state_path} (SDK file {s.flag_sdk_path})")
                echo(f"audit      {describe_url(s.effective_audit_url)}")
                typer.echo("ready; Ctrl-C to stop")
                await wait_for_stop()
            finally:
                await server.stop()
        typer.echo("stopped")

    with _serving():
        run(body)


@app.command()
def api(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Listen address (default $ORCHESTRATOR_API_HOST)"),
    port: int | None = typer.Option(None, help="Listen port (default $ORCHESTRATOR_API_PORT)"),
) -> None:
    """Serve the HTTP API: breach-signal webhooks and the on-call incident API.

    Endpoints and authentication are in docs/ingest.md and the OpenAPI document at /openapi.json.
    Needs a reachable Temporal; does not run workflows (run `worker` or `up` for that).
    """
    settings = settings_of(ctx)

    async def body() -> None:
        ingest = settings.ingest
        async with build_runtime(settings) as runtime:
            client = await connect(settings)
            server = ApiServer(
                build_app(runtime, client, ingest),
                host or settings.api_host,
                port or settings.api_port,
            )
            await server.start()
            echo(f"API on {server.url}; Ctrl-C to stop")
            _print_access(settings, ingest, settings.principals, server.warning)
            try:
                await wait_for_stop()
            finally:
                await server.stop()

    with _serving():
        run(body)


@app.command()
def worker(ctx: typer.Context) -> None:
    """Run only a worker against an existing Temporal (ORCHESTRATOR_TEMPORAL_ADDRESS)."""
    settings = settings_of(ctx)

    async def body() -> None:
        async with build_runtime(settings, keep_config=False) as runtime:
            client = await connect(settings)
            async with runtime.worker(client):
                echo(
                    f"worker on {settings.temporal_address}, queue {settings.task_queue};"
                    " Ctrl-C to stop"
                )
                await wait_for_stop()

    with _serving():
        run(body)


@app.command()
def demo(ctx: typer.Context) -> None:
    """Run the worked example end to end on a fresh embedded stack and print what happens.

    A prompt rollout lowers answer quality for Spanish-speaking users of the fintech support
    assistant: fairness and accuracy breach for language=es. The orchestrator routes Spanish
    traffic to the human queue through a flag rule, verifies it with the LaunchDarkly SDK, waits for
    recovery, and records everything in the audit store.
    """
    from workers.demo import run_demo

    settings = settings_of(ctx)
    configure_logging(level="WARNING")
    run(lambda: run_demo(settings))


def main() -> None:
    """Entry point: usage errors become one line (``error: ...``), exit code 2, no traceback."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())
            sys.exit(0)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        echo(f"error: {message}{hint}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)

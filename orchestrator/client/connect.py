"""Connecting to Temporal from settings, and the one translation of Temporal RPC errors.

Address, namespace, TLS (server CA, client certificate and key) and a Temporal Cloud API key all
come from :class:`~orchestrator.config.settings.Settings`; every caller (CLI, API, worker) connects
through :func:`connect`, and every RPC failure becomes an error of the project's tree through
:func:`rpc_error`, so "Temporal is unreachable" means the same thing everywhere.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from orchestrator.config.settings import Settings, TemporalTls
from orchestrator.errors import (
    ConfigError,
    NotFoundError,
    OrchestratorError,
    TemporalRefusedError,
    TemporalUnavailableError,
)

UNAVAILABLE = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}
)
"""Statuses that mean nothing was accepted and the same call may succeed later."""


def rpc_error(exc: RPCError, *, not_found: str | None = None) -> OrchestratorError:
    """The project's error for a Temporal RPC failure (raise it ``from exc``).

    NOT_FOUND becomes NotFoundError when the caller says what was not found; the unavailable
    statuses become TemporalUnavailableError; anything else is a refusal, in Temporal's words.
    """
    if exc.status is RPCStatusCode.NOT_FOUND and not_found is not None:
        return NotFoundError(not_found)
    if exc.status in UNAVAILABLE:
        return TemporalUnavailableError(f"Temporal is unreachable: {exc.message}")
    if exc.status in (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED):
        return TemporalRefusedError(f"Temporal refused the credentials: {exc.message}")
    return TemporalRefusedError(f"Temporal refused: {exc.message}")


T = TypeVar("T")
QUERY_ATTEMPTS = 3


async def query(
    client: Client, workflow_id: str, name: str, result_type: type[T], *, not_found: str
) -> T:
    """A workflow query (of the id's latest run). A query that reaches a run just as it
    continues as new can time out: a DEADLINE_EXCEEDED is asked again, a bounded number of
    times; every other failure is :func:`rpc_error`'s."""
    handle = client.get_workflow_handle(workflow_id)
    for attempt in range(1, QUERY_ATTEMPTS + 1):
        try:
            answer: T = await handle.query(name, result_type=result_type)
            return answer
        except RPCError as exc:
            if exc.status is not RPCStatusCode.DEADLINE_EXCEEDED or attempt == QUERY_ATTEMPTS:
                raise rpc_error(exc, not_found=not_found) from exc
            await asyncio.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the Temporal TLS {what} {path}: {exc.strerror}") from exc


def tls_config(tls: TemporalTls | None, *, api_key: bool) -> TLSConfig | bool:
    """What ``Client.connect(tls=...)`` takes: False for plain gRPC, True for system roots."""
    if tls is None:
        return api_key  # Temporal Cloud API keys go over TLS only
    return TLSConfig(
        server_root_ca_cert=_read(tls.ca_file, "CA file"),
        client_cert=_read(tls.cert_file, "client certificate"),
        client_private_key=_read(tls.key_file, "client key"),
        domain=tls.server_name,
    )


async def connect(settings: Settings) -> Client:
    """A Temporal client with the project's pydantic data converter."""
    api_key = settings.temporal_api_key
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
            tls=tls_config(settings.temporal_tls, api_key=api_key is not None),
            api_key=api_key.reveal() if api_key is not None else None,
        )
    except RPCError as exc:
        raise rpc_error(exc) from exc
    except RuntimeError as exc:
        raise TemporalUnavailableError(
            f"cannot reach Temporal at {settings.temporal_address} (is `orchestrator up` running?)"
        ) from exc

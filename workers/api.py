"""The HTTP service: breach-signal ingest plus the on-call API, built from a runtime and served."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
from collections.abc import Generator

import uvicorn
from starlette.applications import Starlette
from temporalio.client import Client

from orchestrator.audit.seen import open_seen_signatures
from orchestrator.client.submitter import submitter_for
from orchestrator.config.ingest import IngestSettings
from orchestrator.config.principals import Principals, new_token, token_hash, tokens_document
from orchestrator.config.settings import Settings
from orchestrator.domain.principals import Principal, Role
from orchestrator.errors import ConfigError
from orchestrator.ingest import IngestMetrics, create_app
from orchestrator.ingest.audit_api import AuditApi
from orchestrator.ingest.audit_metrics import AuditMetrics
from orchestrator.ingest.incidents import IncidentApi
from orchestrator.ingest.operators import OperatorGuard
from orchestrator.ingest.reviews_api import ReviewsApi
from orchestrator.ingest.safety_api import SafetyApi
from workers.devserver import port_in_use
from workers.runtime import Runtime


def build_app(
    runtime: Runtime,
    client: Client,
    ingest: IngestSettings,
    principals: Principals | None = None,
) -> Starlette:
    """The ingest + operator app. ``principals`` (default: the settings') are who may use the
    operator API. ``app.state.audit_metrics.follow()`` keeps incident and action metrics
    current; :class:`ApiServer` runs it."""
    submitter = submitter_for(client, runtime.settings, runtime.catalog, runtime.library)
    metrics = IngestMetrics()
    guard = OperatorGuard(
        runtime.settings.principals if principals is None else principals,
        max_body_bytes=ingest.max_body_bytes,
        max_depth=ingest.max_depth,
        retry_after_seconds=ingest.retry_after_seconds,
    )
    api = IncidentApi(
        guard=guard,
        client=client,
        submitter=submitter,
        catalog=runtime.catalog,
        library=runtime.library,
        audit=runtime.audit,
        workflow_id_prefix=runtime.settings.workflow_id_prefix,
    )
    safety = SafetyApi(guard, runtime.ops.safety, runtime.audit, floor=runtime.settings.kill_switch)
    reviews = ReviewsApi(guard, runtime.ops.tickets, runtime.audit)
    app = create_app(
        submitter,
        ingest,
        metrics,
        catalog=runtime.catalog,
        seen_signatures=open_seen_signatures(
            runtime.settings.effective_audit_url, window_seconds=ingest.timestamp_window_seconds
        ),
        extra_routes=[
            *api.routes(),
            *safety.routes(),
            *reviews.routes(),
            *AuditApi(guard, runtime.audit).routes(),
        ],
    )
    app.state.audit_metrics = AuditMetrics(runtime.audit, metrics.registry)
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def unauthenticated_warning(ingest: IngestSettings, host: str) -> str | None:
    """The start-up warning of unauthenticated ingest, or None when it is off. It is allowed on
    loopback only (a ConfigError elsewhere) and never opens the operator API."""
    if not ingest.allow_unauthenticated:
        return None
    if not is_loopback(host):
        raise ConfigError(
            "ORCHESTRATOR_INGEST_ALLOW_UNAUTHENTICATED is for a local demo: it is refused when the"
            f" API listens on {host}, not on loopback (127.0.0.1, ::1 or localhost)"
        )
    return (
        "WARNING: ORCHESTRATOR_INGEST_ALLOW_UNAUTHENTICATED is on: breach signals from sources"
        " with no token or secret are accepted unauthenticated (loopback only; the operator API"
        " still needs a token)"
    )


def local_principals(settings: Settings) -> Principals:
    """The operator principals of the embedded stack (``orchestrator up``): the tokens file when
    one is set, else a local admin named after ``ORCHESTRATOR_ACTOR``/$USER whose token is kept in
    the state folder (mode 0600), where the CLI finds it. Only on loopback."""
    if settings.principals or not is_loopback(settings.api_host):
        return settings.principals
    token_path, tokens_path = settings.local_token_path, settings.local_tokens_file
    if token_path.exists() and tokens_path.exists():
        return Principals.from_yaml(tokens_path.read_text(encoding="utf-8"), str(tokens_path))
    name = re.sub(r"[^A-Za-z0-9._@+-]", "-", settings.actor or "local-admin")[:128]
    admin = Principal(name=name if name[:1].isalnum() else "local-admin", roles=[Role.ADMIN])
    token = new_token()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    tokens_path.write_text(tokens_document([(token_hash(token), admin)]), encoding="utf-8")
    token_path.touch(mode=0o600)
    token_path.write_text(token + "\n", encoding="utf-8")
    return Principals.of([(token_hash(token), admin)])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """The process's own Ctrl-C handling stops the whole stack, this server included."""
        yield


class ApiServer:
    """uvicorn in the current event loop; ``stop()`` ends it gracefully."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._audit_metrics: AuditMetrics | None = getattr(app.state, "audit_metrics", None)
        self._host, self._port = host, port
        self.url = f"http://{host}:{port}"
        self.warning = unauthenticated_warning(app.state.settings, host)
        """Printed at start when unauthenticated ingest is on (refused off loopback)."""

    async def start(self) -> None:
        if port_in_use(self._port, self._host):
            raise ConfigError(f"port {self._port} on {self._host} is already in use (API)")
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                raise ConfigError(f"the API could not start on {self.url}")
            await asyncio.sleep(0.05)
        if self._audit_metrics is not None:
            self._follower = asyncio.create_task(self._audit_metrics.follow())

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        self._server.should_exit = True
        if self._task is not None:
            await self._task

"""The generic deploy webhook: a :class:`~orchestrator.providers.deploy.DeploymentProvider` for any
CI/CD system with an HTTP API (Argo CD, Spinnaker, a GitHub Actions workflow_dispatch), from the
per-operation templates of :mod:`orchestrator.domain.deploy_webhook`.

``state`` is one request whose answer's fields are read by JSON path. ``pin`` and ``scale``
compare and set by reading first: nothing is sent when the component already serves what was
asked, or when ``if_current`` no longer serves; after the request, ``state`` is read again (up to
``read_back.attempts`` times, ``read_back.interval_seconds`` apart, for systems that apply a
change asynchronously) and that state is returned, so the caller verifies the pin by what the
system reports, not by the request's status.

Answers: 2xx is success; 429 is rate-limited (its ``Retry-After``); 408, 5xx, timeouts and broken
connections are retried; every other 4xx is refused (a 404 from ``state`` is an unknown
component). Header secrets are :class:`~orchestrator.secrets.Secret` values, revealed only into
the request and masked in every message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from orchestrator.domain.deploy_webhook import SECRET_REF, DeployWebhookSpec
from orchestrator.domain.json_path import JsonPathError, lookup
from orchestrator.domain.ops_models import ComponentState
from orchestrator.domain.templating import render_string, render_value
from orchestrator.errors import PlaybookError, ProviderError
from orchestrator.providers.http_api import HttpSender, json_body, send
from orchestrator.secrets import Secret, redact_text

VENDOR = "deploy webhook"


class DeployWebhook:
    def __init__(
        self,
        http: httpx.AsyncClient,
        spec: DeployWebhookSpec,
        secrets: Mapping[str, Secret],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rate_limit_cap: float = 60.0,
    ) -> None:
        missing = spec.secret_names() - set(secrets)
        if missing:
            raise ValueError(f"no value for the header secrets {', '.join(sorted(missing))}")
        self.spec = spec
        self._http = http
        self._secrets = dict(secrets)
        values = tuple(self._secrets.values())
        self._send = HttpSender(http, VENDOR, values, clock=clock, rate_limit_cap=rate_limit_cap)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"DeployWebhook(operations={sorted(self.spec.operations)})"

    def has(self, operation: str) -> bool:
        return operation in self.spec.operations

    async def call(self, operation: str, variables: Mapping[str, Any], what: str) -> Any:
        """Send the operation's request; its JSON answer (None for an empty one)."""
        request = self.spec.operations[operation]  # type: ignore[index]
        what = f"{operation} {what}"
        try:
            url = str(render_string(request.url, variables, f"operations.{operation}.url"))
            body = render_value(request.body, variables, f"operations.{operation}.body")
        except PlaybookError as exc:
            raise ProviderError(
                f"{VENDOR} {what}: {self._send.scrub(str(exc))}", retryable=False
            ) from None
        headers = {**self.spec.headers, **request.headers}
        headers = {name: self._reveal(value) for name, value in headers.items()}
        options: dict[str, Any] = {"headers": headers}
        if request.body is not None:
            options["json"] = body
        if request.timeout_seconds is not None:
            options["timeout"] = request.timeout_seconds
        response = await send(
            self._http,
            request.method,
            url,
            what=f"{VENDOR} {what}",
            secret=tuple(self._secrets.values()),
            **options,
        )
        self._send.raise_for_status(response, what, response.text)
        return json_body(response, f"{VENDOR} {what}", empty_ok=True)

    def _reveal(self, value: str) -> str:
        return SECRET_REF.sub(lambda m: self._secrets[m.group(1)].reveal(), value)

    async def state(self, service: str, component: str) -> ComponentState:
        where = f"{service}/{component}"
        answer = await self.call("state", {"service": service, "component": component}, where)
        fields: dict[str, Any] = {}
        try:
            for field, path in self.spec.operations["state"].response.items():
                try:
                    fields[field] = lookup(answer, path)
                except JsonPathError:
                    if field != "previous":  # a first deployment has none
                        raise
        except JsonPathError as exc:
            raise ProviderError(
                f"{VENDOR} state {where}: {self._send.scrub(str(exc))}", retryable=False
            ) from None
        version = _text(fields["version"], "version", where)
        previous = fields.get("previous")
        previous = None if previous in (None, "") else _text(previous, "previous", where)
        replicas = fields.get("replicas", 1)
        if isinstance(replicas, str) and replicas.strip().isdigit():
            replicas = int(replicas)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ProviderError(
                f"{VENDOR} state {where}: replicas is not a count: {replicas!r}"[:300],
                retryable=False,
            )
        return ComponentState(
            service=service,
            component=component,
            version=version,
            history=(previous,) if previous and previous != version else (),
            replicas=replicas,
        )

    async def pin(
        self, service: str, component: str, version: str, *, ref: str, if_current: str | None = None
    ) -> ComponentState:
        state = await self.state(service, component)
        if state.version == version or (if_current is not None and state.version != if_current):
            return state
        variables = {"service": service, "component": component, "version": version, "ref": ref}
        await self.call("pin", {**variables, "if_current": state.version}, f"{service}/{component}")
        return await self._read_back(service, component, lambda s: s.version == version)

    async def scale(
        self,
        service: str,
        component: str,
        replicas: int,
        *,
        ref: str,
        if_current: int | None = None,
    ) -> ComponentState:
        where = f"{service}/{component}"
        if not self.has("scale"):
            raise ProviderError(
                f"{VENDOR}: no scale operation is configured ({where})", retryable=False
            )
        state = await self.state(service, component)
        if state.replicas == replicas or (if_current is not None and state.replicas != if_current):
            return state
        variables = {"service": service, "component": component, "replicas": replicas, "ref": ref}
        await self.call("scale", {**variables, "if_current": state.replicas}, where)
        return await self._read_back(service, component, lambda s: s.replicas == replicas)

    async def _read_back(
        self, service: str, component: str, done: Callable[[ComponentState], bool]
    ) -> ComponentState:
        """The state once ``done`` holds, or after the configured attempts (the caller
        verifies)."""
        read_back = self.spec.read_back
        for attempt in range(1, read_back.attempts + 1):
            state = await self.state(service, component)
            if done(state) or attempt == read_back.attempts:
                return state
            await self._sleep(read_back.interval_seconds)
        raise AssertionError("unreachable")  # pragma: no cover - attempts >= 1


def _text(value: Any, field: str, where: str) -> str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    shown = redact_text(repr(value))[:200]
    raise ProviderError(
        f"{VENDOR} state {where}: {field} is not a version: {shown}", retryable=False
    )

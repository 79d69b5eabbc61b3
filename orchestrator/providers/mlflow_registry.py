"""MLflow Model Registry as the home of component versions, through registered-model aliases.

A component mapped in the settings (:class:`~orchestrator.domain.model_registry.MlflowModel`)
serves the model version its alias (``champion`` by default) points at. Its REST API 2.0:

- ``GET /api/2.0/mlflow/registered-models/alias?name=&alias=``: the version the alias points at
  (the state, read before every write and after it);
- ``GET /api/2.0/mlflow/model-versions/search?filter=name='M' and tags.`orchestrator.version`='V'``
  and ``GET /api/2.0/mlflow/model-versions/get?name=&version=``: the version to pin;
- ``POST /api/2.0/mlflow/registered-models/set-tag``: the pin record (below), then
  ``POST /api/2.0/mlflow/registered-models/alias`` ``{name, alias, version}``: the pin.

**Versions.** The catalog names versions (``answer-prompt-v41``); MLflow numbers them. A model
version's name here is its ``orchestrator.version`` tag, else its number: pinning
``answer-prompt-v41`` moves the alias to the one READY version tagged so (none, or two: refused),
pinning ``3`` to version 3 when it carries no such tag.

**Before and undo.** Before moving the alias the adapter records on the registered model the tag
``orchestrator.<alias>.pin`` = ``{"from", "to", "by"}``; the state's ``previous`` is ``from``
while the alias still points at ``to`` (MLflow keeps no alias history of its own). An undo is a
pin back to the version recorded before, with ``if_current``: read before write, so an alias a
person moved since is left as it is (MLflow has no compare-and-set: a move between that read
and the write is not seen). The adapter never deletes an alias nor a version.

Errors (``{"error_code", "message"}``, or plain text from the basic-auth app's 401 and 403) are
classed as every HTTP adapter's (docs/provider-errors.md): 429 rate-limited, 5xx and transport
failures retryable, every other 4xx (unknown model or alias, bad version, 401, 403) refused.
Credentials are :class:`~orchestrator.secrets.Secret` values, never in a message or a log.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from orchestrator.domain.model_registry import MlflowModel, MlflowSettings
from orchestrator.domain.ops_models import ComponentState
from orchestrator.errors import ProviderError
from orchestrator.providers.http_api import (
    json_body,
    json_object,
    retry_after_seconds,
    send,
    status_error,
)
from orchestrator.secrets import Secret, redact_text

API = "/api/2.0/mlflow"
VERSION_TAG = "orchestrator.version"
_SAFE_VERSION = re.compile(r"[^'\"\\`\r\n]{1,250}")
_log = structlog.get_logger("orchestrator.mlflow")


def pin_tag(alias: str) -> str:
    """The registered-model tag that records the last pin of ``alias``."""
    return f"orchestrator.{alias}.pin"


def version_name(model_version: dict[str, Any]) -> str:
    """A model version as the catalog names it: its ``orchestrator.version`` tag, else its
    number."""
    for tag in model_version.get("tags") or ():
        if tag.get("key") == VERSION_TAG and tag.get("value"):
            return str(tag["value"])
    return str(model_version.get("version", ""))


class MlflowRegistry:
    """A :class:`~orchestrator.providers.deploy.DeploymentProvider` for the versions of the
    mapped components (no replicas: :meth:`scale` is refused; see
    :class:`~orchestrator.providers.deploy_routes.VersionRoutes`)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: MlflowSettings,
        *,
        clock: Callable[[], float] = time.time,
        rate_limit_cap: float = 60.0,
    ) -> None:
        self._http = http
        self._settings = settings
        self._clock = clock
        self._cap = rate_limit_cap
        self._secrets: tuple[Secret, ...] = tuple(
            s for s in (settings.token, settings.password) if s is not None
        )
        self._headers = {"Accept": "application/json"}
        if settings.token is not None:
            self._headers["Authorization"] = f"Bearer {settings.token.reveal()}"
        elif settings.password is not None:
            basic = f"{settings.username}:{settings.password.reveal()}".encode()
            encoded = Secret(base64.b64encode(basic).decode())
            self._secrets = (*self._secrets, encoded)
            self._headers["Authorization"] = f"Basic {encoded.reveal()}"

    def __repr__(self) -> str:
        return f"MlflowRegistry({redact_text(self._settings.tracking_uri)!r})"

    def owns(self, service: str, component: str) -> bool:
        return self._settings.model_for(service, component) is not None

    async def state(self, service: str, component: str) -> ComponentState:
        model = self._model(service, component)
        serving = await self._serving(model)
        return await self._state(service, component, model, serving)

    async def pin(
        self, service: str, component: str, version: str, *, ref: str, if_current: str | None = None
    ) -> ComponentState:
        model = self._model(service, component)
        serving = await self._serving(model)
        now = version_name(serving)
        if now == version or (if_current is not None and now != if_current):
            return await self._state(service, component, model, serving)
        target = await self._find(model, version)
        record = json.dumps({"from": now, "to": version, "by": ref}, separators=(",", ":"))
        await self._call(
            "POST",
            "/registered-models/set-tag",
            f"record the pin of {model.name}@{model.alias}",
            json={"name": model.name, "key": pin_tag(model.alias), "value": record},
        )
        await self._call(
            "POST",
            "/registered-models/alias",
            f"move {model.name}@{model.alias} to version {target['version']}",
            json={"name": model.name, "alias": model.alias, "version": str(target["version"])},
        )
        _log.info(
            "mlflow alias moved",
            model=model.name,
            alias=model.alias,
            before=now,
            after=version,
            version=str(target["version"]),
            ref=ref,
        )
        return await self.state(service, component)

    async def scale(
        self,
        service: str,
        component: str,
        replicas: int,
        *,
        ref: str,
        if_current: int | None = None,
    ) -> ComponentState:
        raise ProviderError(
            f"{component} of {service}: the MLflow Model Registry holds versions, not replicas",
            retryable=False,
        )

    def _model(self, service: str, component: str) -> MlflowModel:
        model = self._settings.model_for(service, component)
        if model is None:
            raise ProviderError(
                f"no MLflow registered model for {component!r} of {service!r}"
                " (ORCHESTRATOR_MLFLOW_MODELS)",
                retryable=False,
            )
        return model

    async def _serving(self, model: MlflowModel) -> dict[str, Any]:
        answer = await self._call(
            "GET",
            "/registered-models/alias",
            f"read {model.name}@{model.alias}",
            params={"name": model.name, "alias": model.alias},
            hint=f" (the alias must exist: set {model.alias!r} to the version serving now)",
        )
        serving = answer.get("model_version")
        if not isinstance(serving, dict) or not serving.get("version"):
            raise ProviderError(
                f"MLflow read {model.name}@{model.alias}: no model_version in the answer",
                retryable=True,
            )
        return serving

    async def _state(
        self, service: str, component: str, model: MlflowModel, serving: dict[str, Any]
    ) -> ComponentState:
        version = version_name(serving)
        record = await self._pin_record(model)
        history: tuple[str, ...] = ()
        pinned_by = None
        if record is not None and record.get("to") == version and record.get("from"):
            history = (str(record["from"]),)
            pinned_by = str(record.get("by") or "") or None
        return ComponentState(
            service=service,
            component=component,
            version=version,
            history=history,
            pinned_by=pinned_by,
        )

    async def _pin_record(self, model: MlflowModel) -> dict[str, Any] | None:
        answer = await self._call(
            "GET", "/registered-models/get", f"read {model.name}", params={"name": model.name}
        )
        tags = (answer.get("registered_model") or {}).get("tags") or ()
        raw = next((t.get("value") for t in tags if t.get("key") == pin_tag(model.alias)), None)
        try:
            record = json.loads(raw) if raw else None
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    async def _find(self, model: MlflowModel, version: str) -> dict[str, Any]:
        """The READY model version named ``version`` (its tag, else its number)."""
        where = f"{model.name}: version {version!r}"
        if not _SAFE_VERSION.fullmatch(version):
            raise ProviderError(f"MLflow {where}: not a version name", retryable=False)
        query = f"name='{model.name}' and tags.`{VERSION_TAG}`='{version}'"
        answer = await self._call(
            "GET", "/model-versions/search", f"find {where}", params={"filter": query}
        )
        found = [v for v in answer.get("model_versions") or () if isinstance(v, dict)]
        if not found and version.isdigit():
            got = await self._call(
                "GET",
                "/model-versions/get",
                f"read {where}",
                params={"name": model.name, "version": version},
            )
            found = [got.get("model_version") or {}]
            if version_name(found[0]) != version:
                raise ProviderError(
                    f"MLflow {where} is tagged {VERSION_TAG}={version_name(found[0])!r}:"
                    " pin it by that name",
                    retryable=False,
                )
        if len(found) != 1:
            numbers = ", ".join(str(v.get("version")) for v in found)
            raise ProviderError(
                f"MLflow {where}: {len(found) or 'no'} model versions tagged"
                f" {VERSION_TAG}={version!r}{f' ({numbers})' if numbers else ''}; exactly one"
                " must be",
                retryable=False,
            )
        if found[0].get("status", "READY") != "READY":
            raise ProviderError(
                f"MLflow {where} (version {found[0].get('version')}) is"
                f" {found[0].get('status')}, not READY",
                retryable=False,
            )
        return found[0]

    async def _call(
        self, method: str, path: str, what: str, *, hint: str = "", **kwargs: Any
    ) -> dict[str, Any]:
        what = f"MLflow {what}"
        response = await send(
            self._http,
            method,
            f"{self._settings.tracking_uri}{API}{path}",
            what=what,
            secret=self._secrets,
            headers=self._headers,
            **kwargs,
        )
        if not response.is_success:
            status = response.status_code
            message = redact_text(f"{what}: HTTP {status}{_describe(response)}", *self._secrets)
            if status in (400, 404):
                message += hint
            wait = retry_after_seconds(response.headers, self._clock(), reset_header=None)
            raise status_error(
                status, message, rate_limited=status == 429, retry_after=wait, cap=self._cap
            )
        body = json_body(response, what, empty_ok=True)
        return body if isinstance(body, dict) else {}


def _describe(response: httpx.Response) -> str:
    """MLflow's error in its own words: ``error_code: message``, or the plain text body."""
    body = json_object(response)
    if body:
        parts = [str(body[k]) for k in ("error_code", "message") if body.get(k)]
        return f": {': '.join(parts)[:500]}" if parts else ""
    text = response.text.strip()
    return f": {text[:300]}" if text else ""

"""The operator API as the CLI calls it: one bearer token, JSON in and out, one-line errors.

The CLI's decisions (launch, fast-track, approve, deny, abort, the kill switch) go through the
HTTP API like any other client's, so they are recorded under the principal of the token it sends
(``ORCHESTRATOR_TOKEN`` / ``_FILE``, else the one ``orchestrator up`` keeps in the state folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from orchestrator.errors import (
    ConfigError,
    NotFoundError,
    OrchestratorError,
    TemporalUnavailableError,
    ValidationError,
)
from orchestrator.secrets import Secret

TIMEOUT_SECONDS = 45.0
"""Longer than a decision's own wait for the incident (30 s), so the API answers first."""


class ApiRefusedError(OrchestratorError):
    """The API refused the call (401 or 403): the token is unknown or its roles are too low."""


def resolve_token(token: Secret | None, local_path: Path) -> Secret:
    """The CLI's token: the configured one, else the local admin's from ``orchestrator up``."""
    if token is not None:
        return token
    try:
        text = local_path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    if not text:
        raise ConfigError(
            "no operator token: set ORCHESTRATOR_TOKEN or ORCHESTRATOR_TOKEN_FILE (see"
            " `orchestrator token create`), or run `orchestrator up`, which keeps one in"
            f" {local_path}"
        )
    return Secret(text)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return f"HTTP {response.status_code}"


class OperatorApi:
    def __init__(self, base_url: str, token: Secret, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The JSON answer of ``method path``; an OrchestratorError naming what went wrong."""
        headers = {"Authorization": f"Bearer {self._token.reveal()}"}
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=self._timeout) as http:
                response = await http.request(method, path, json=body, headers=headers)
        except httpx.TimeoutException:
            raise TemporalUnavailableError(
                f"the API at {self.base_url} did not answer within {self._timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise TemporalUnavailableError(
                f"cannot reach the API at {self.base_url} ({type(exc).__name__}): is"
                " `orchestrator up` or `orchestrator api` running? (ORCHESTRATOR_API_URL)"
            ) from None
        if response.is_success:
            return response.json()
        message = _message(response)
        status = response.status_code
        if status in (401, 403):
            raise ApiRefusedError(f"the API refused: {message}")
        if status == 404:
            raise NotFoundError(message)
        if status == 503:
            raise TemporalUnavailableError(message)
        if 400 <= status < 500:
            raise ValidationError(message)
        raise OrchestratorError(f"the API failed (HTTP {status}): {message}")

"""What the HTTP adapters share: sending with transport errors translated, the status classes of
:mod:`orchestrator.domain.provider_failures` for services with no approval or version semantics
(PagerDuty, Slack), and reading how long a 429 asks to wait.

Every message is scrubbed of the adapter's own secrets (a routing key, a webhook URL, a token)
before it is raised: a transport error's text can hold the URL it failed on.
"""

from __future__ import annotations

import contextlib
import email.utils
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from orchestrator.errors import ProviderError, RateLimitedError
from orchestrator.secrets import Secret, redact_text


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """The wait a 429 asks for: ``Retry-After`` (seconds or an HTTP date) and LaunchDarkly's
    ``X-Ratelimit-Reset`` (epoch milliseconds), the longer of them; None when neither says."""
    waits: list[float] = []
    retry_after = headers.get("Retry-After")
    if retry_after is not None:
        try:
            waits.append(float(retry_after))
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):  # an HTTP date, or garbage
                when = email.utils.parsedate_to_datetime(retry_after)
                waits.append(when.timestamp() - now)
    reset = headers.get("X-Ratelimit-Reset")
    if reset is not None and reset.strip().isdigit():
        waits.append(int(reset) / 1000.0 - now)
    return max(0.0, *waits) if waits else None


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; {} for anything else (no body, text, a list)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class HttpSender:
    """One vendor's requests over the shared client, failures as :class:`ProviderError`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        vendor: str,
        secrets: tuple[Secret, ...],
        *,
        clock: Callable[[], float],
        rate_limit_cap: float,
    ) -> None:
        self._http = http
        self.vendor = vendor
        self._secrets = secrets
        self._clock = clock
        self.rate_limit_cap = rate_limit_cap

    def scrub(self, text: str) -> str:
        return redact_text(text, *self._secrets)

    async def post(
        self, url: str, what: str, *, json: Any, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """POST ``json``; a transport failure (refused, reset, timed out) is retryable."""
        try:
            return await self._http.post(url, json=json, headers=dict(headers or {}))
        except httpx.TransportError as exc:
            raise ProviderError(
                f"{self.vendor} {what}: {type(exc).__name__}: {self.scrub(str(exc))}"
                " (it may or may not have been delivered)",
                retryable=True,
            ) from exc

    def raise_for_status(self, response: httpx.Response, what: str, detail: str = "") -> None:
        """429: rate limited (its wait from the headers); 5xx and 408: retryable; every other
        4xx: permanent. ``detail`` is the vendor's own words for the error (scrubbed here)."""
        status = response.status_code
        if status < 400:
            return
        message = f"{self.vendor} {what}: HTTP {status}"
        if detail:
            message += f": {self.scrub(detail)[:500]}"
        if status == 429:
            raise RateLimitedError(
                message,
                retry_after_seconds=retry_after_seconds(response.headers, self._clock()),
                cap_seconds=self.rate_limit_cap,
            )
        raise ProviderError(message, retryable=status >= 500 or status == 408)

"""What the HTTP adapters share: one request with transport errors translated, JSON bodies, how
long a rate-limited answer asks the client to wait, and (:class:`HttpSender`) the status classes
for services with no approval or version semantics (PagerDuty, Slack).

Every message is scrubbed of the adapter's own secret and of known credential shapes
(:func:`~orchestrator.secrets.redact_text`) before it is raised.
"""

from __future__ import annotations

import contextlib
import email.utils
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from orchestrator.errors import ProviderError, RateLimitedError
from orchestrator.secrets import Secret, redact_text


def retry_after_seconds(
    headers: httpx.Headers,
    now: float,
    *,
    reset_header: str | None = "X-Ratelimit-Reset",
    reset_per_second: float = 1.0,
) -> float | None:
    """The longest wait the answer asks for: ``Retry-After`` (seconds or an HTTP date) and the
    epoch ``reset_header`` (``reset_per_second`` units a second: 1000 for milliseconds); None
    when neither says."""
    waits: list[float] = []
    retry_after = headers.get("Retry-After")
    if retry_after is not None:
        try:
            waits.append(float(retry_after))
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):  # an HTTP date, or garbage
                when = email.utils.parsedate_to_datetime(retry_after)
                waits.append(when.timestamp() - now)
    reset = headers.get(reset_header) if reset_header else None
    if reset is not None and reset.strip().isdigit():
        waits.append(int(reset) / reset_per_second - now)
    return max(0.0, *waits) if waits else None


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    what: str,
    secret: Secret | tuple[Secret, ...],
    error: Callable[[str], ProviderError] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One request; a transport error (timeout, refused, reset) is a retryable ProviderError
    (``error`` builds it: an adapter's own subclass) naming ``what``, scrubbed of ``secret``."""
    secrets = secret if isinstance(secret, tuple) else (secret,)
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        message = f"{what}: {type(exc).__name__}: {redact_text(str(exc), *secrets)}"
        raise (error or _unavailable)(message) from exc


def json_body(response: httpx.Response, what: str, *, empty_ok: bool = False) -> Any:
    """The JSON body of a success (with ``empty_ok``, None for an empty one: a 204); a
    retryable error when it is not JSON (a proxy's HTML page)."""
    if empty_ok and not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderError(
            f"{what}: HTTP {response.status_code} body is not JSON", retryable=True
        ) from exc


def _unavailable(message: str) -> ProviderError:
    return ProviderError(message, retryable=True)


def _maybe_delivered(message: str) -> ProviderError:
    """A POST that failed in transport: retryable, and it may have arrived all the same."""
    return ProviderError(f"{message} (it may or may not have been delivered)", retryable=True)


def status_error(
    status: int, message: str, *, rate_limited: bool, retry_after: float | None, cap: float
) -> ProviderError:
    """The error of a failed answer for the adapters whose APIs know no approvals or version
    conflicts: rate-limited, unavailable (5xx, retried) or refused (every other 4xx)."""
    if rate_limited:
        return RateLimitedError(message, retry_after_seconds=retry_after, cap_seconds=cap)
    return ProviderError(message, retryable=status >= 500)


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
        self,
        url: str,
        what: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST ``json`` (or the exact bytes ``content``, for a signed body); a transport failure
        (refused, reset, timed out) is retryable."""
        body: dict[str, Any] = {"json": json} if content is None else {"content": content}
        return await send(
            self._http,
            "POST",
            url,
            what=f"{self.vendor} {what}",
            secret=self._secrets,
            error=_maybe_delivered,
            headers=dict(headers or {}),
            **body,
        )

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
                retry_after_seconds=retry_after_seconds(
                    response.headers, self._clock(), reset_header=None
                ),
                cap_seconds=self.rate_limit_cap,
            )
        raise ProviderError(message, retryable=status >= 500 or status == 408)

"""LaunchDarkly as the flag store, through its REST API (v2) and semantic patch.

``GET /api/v2/flags/{project}/{flag}?env={env}`` reads a flag; ``PATCH`` on the same path with
``Content-Type: application/json; domain-model=launchdarkly.semanticpatch`` and a body of
``environmentKey``, ``instructions`` and ``comment`` changes it (all instructions or none) and
returns the updated flag. The access token goes, raw, in ``Authorization``.

Status mapping (the classes of :mod:`orchestrator.domain.provider_failures`): 429 is retryable
after ``retry_after_seconds`` (``Retry-After`` or ``X-Ratelimit-Reset``, epoch ms) up to the cap;
405 (the environment requires approval) makes the step wait for a person; 409 (a concurrent
change, documented as "retry your request") is a :class:`~orchestrator.errors.FlagConflictError`;
5xx and transport errors are retryable; every other 4xx is permanent (a 400 is a
:class:`LaunchDarklyBadRequestError`). A timed-out PATCH
may have been applied: after a retryable failure, re-plan from a fresh :meth:`get_flag` rather
than re-sending the same instructions (the planners then return ``[]``).

Versioned writes (``apply(..., expect_version=n)``), and what LaunchDarkly documents:

* The REST API overview, "Updates using JSON patch" (https://launchdarkly.com/docs/api#updates)
  documents a precondition for JSON patch only: a ``test`` operation, e.g.
  ``[{"op": "test", "path": "/version", "value": 10}, {"op": "replace", ...}]``, "tests whether
  the feature flag's version is 10, and if so" applies the rest. It does not say which status a
  failed ``test`` gets.
* "Updates using semantic patch" (same page) and "Update feature flag"
  (https://launchdarkly.com/docs/api/feature-flags/patch-feature-flag) document the semantic
  patch body as ``comment``, ``environmentKey`` and ``instructions`` only: there is **no version
  precondition for semantic patch**. Its "Conflicts" section is about pending scheduled changes
  and approval requests (a 400, ``ignoreConflicts=true`` to skip), not about versions.
* The error table (same overview page): 409 Conflict, "The API request can not be completed
  because it conflicts with a concurrent API request", possible solution "Retry your request".

So this adapter cannot make the semantic PATCH itself conditional. What it does instead, the
closest faithful option: with ``expect_version`` it reads the flag right before the PATCH and
raises FlagConflictError without patching when the environment's ``version`` is not
``expect_version``; LaunchDarkly's 409 is a FlagConflictError; and a 400 to a guarded PATCH is
a FlagConflictError when a read right after it shows the version has moved (instructions planned
against a rule that is gone, a ref that is taken now), a permanent error otherwise. The window
between that read and the PATCH remains: a change landing in it is not detected, but semantic
patch instructions say what to change (add this rule, remove that rule id), not the whole flag,
so they do not overwrite unrelated changes made in that window, and
:func:`~orchestrator.activities.flag_writes.write_planned` re-plans against the returned state.
A truly atomic check needs the JSON patch format with a ``test`` op (the docs' example tests
``/version``; they do not spell out the pointer of an environment's version), which would mean
translating the instructions into JSON pointer edits of the flag representation; this adapter
does not do that.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import pydantic

from orchestrator.domain.flags import (
    Clause,
    FlagState,
    Instruction,
    Rule,
    Target,
    Variation,
    instructions_json,
)
from orchestrator.domain.provider_failures import (
    DEFAULT_RATE_LIMIT_CAP_SECONDS,
    failure_for_status,
)
from orchestrator.errors import (
    ApprovalRequiredError,
    FailureClass,
    FlagConflictError,
    FlagProviderError,
    RateLimitedError,
)
from orchestrator.providers.http_common import retry_after_seconds
from orchestrator.secrets import Secret, redact_text

SEMANTIC_PATCH = "application/json; domain-model=launchdarkly.semanticpatch"
API_VERSION = "20240415"


class LaunchDarklyRateLimitedError(RateLimitedError, FlagProviderError):
    """HTTP 429: retry after ``retry_after_seconds`` (None when LaunchDarkly did not say); a
    longer wait than ``cap_seconds`` goes to a person."""


class LaunchDarklyApprovalRequiredError(ApprovalRequiredError, FlagProviderError):
    """HTTP 405: the environment requires approval for this change (LaunchDarkly's message)."""


class LaunchDarklyBadRequestError(FlagProviderError):
    """HTTP 400: LaunchDarkly refused the request as invalid (permanent)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class LaunchDarklyFlagProvider:
    """A :class:`~orchestrator.providers.flags.FlagProvider` over LaunchDarkly's REST API."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_token: Secret,
        project_key: str,
        environment_key: str,
        base_url: str = "https://app.launchdarkly.com",
        clock: Callable[[], float] = time.time,
        rate_limit_cap: float = DEFAULT_RATE_LIMIT_CAP_SECONDS,
    ) -> None:
        self._http = http
        self._token = api_token
        self.project_key = project_key
        self.environment_key = environment_key
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._rate_limit_cap = rate_limit_cap

    def __repr__(self) -> str:
        return (
            f"LaunchDarklyFlagProvider(base_url={redact_text(self.base_url)!r}, project_key="
            f"{self.project_key!r}, environment_key={self.environment_key!r})"
        )

    async def get_flag(self, key: str) -> FlagState:
        body = await self._request("GET", key, params={"env": self.environment_key})
        return self._state(key, body)

    async def apply(
        self,
        key: str,
        instructions: Sequence[Instruction],
        comment: str,
        *,
        expect_version: int | None = None,
    ) -> FlagState:
        """One semantic patch; with ``expect_version``, checked right before (module docstring)."""
        if expect_version is not None:
            current = await self.get_flag(key)
            self._check_version(key, current, expect_version)
            if not instructions:
                return current
        elif not instructions:
            return await self.get_flag(key)
        payload = {
            "environmentKey": self.environment_key,
            "instructions": instructions_json(instructions),
            "comment": comment,
        }
        try:
            body = await self._request(
                "PATCH",
                key,
                content=json.dumps(payload).encode(),
                headers={"Content-Type": SEMANTIC_PATCH},
            )
        except LaunchDarklyBadRequestError as exc:
            if expect_version is None:
                raise
            now = await self.get_flag(key)
            if now.version == expect_version:
                raise  # the flag is as planned: the instructions themselves are wrong
            raise FlagConflictError(
                f"{exc} (flag {key!r} changed from version {expect_version} to {now.version}"
                " meanwhile: plan again)",
                expected_version=expect_version,
                current_version=now.version,
            ) from exc
        return self._state(key, body)

    def _check_version(self, key: str, current: FlagState, expect_version: int) -> None:
        if current.version != expect_version:
            raise FlagConflictError(
                f"LaunchDarkly flag {key!r} ({self.project_key}/{self.environment_key}) is at"
                f" version {current.version}, not {expect_version}: it changed since it was read",
                expected_version=expect_version,
                current_version=current.version,
            )

    async def _request(
        self,
        method: str,
        key: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        what = f"{method} flag {key!r} ({self.project_key}/{self.environment_key})"
        url = (
            f"{self.base_url}/api/v2/flags/{quote(self.project_key, safe='')}/{quote(key, safe='')}"
        )
        all_headers = {
            "Authorization": self._token.reveal(),
            "LD-API-Version": API_VERSION,
            "Accept": "application/json",
            **(headers or {}),
        }
        try:
            response = await self._http.request(
                method, url, params=params, content=content, headers=all_headers
            )
        except httpx.TransportError as exc:
            raise FlagProviderError(
                f"LaunchDarkly {what}: {type(exc).__name__}: {self._scrub(str(exc))}",
                retryable=True,
            ) from exc
        self._raise_for_status(response, what)
        try:
            return response.json()
        except ValueError as exc:
            raise FlagProviderError(
                f"LaunchDarkly {what}: HTTP {response.status_code} body is not JSON", retryable=True
            ) from exc

    def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        message = f"LaunchDarkly {what}: HTTP {status}{self._scrub(_describe(response))}"
        failure = failure_for_status(status)
        if failure is FailureClass.RATE_LIMITED:
            raise LaunchDarklyRateLimitedError(
                message,
                retry_after_seconds=self._retry_after(response),
                cap_seconds=self._rate_limit_cap,
            )
        if failure is FailureClass.NEEDS_APPROVAL:
            raise LaunchDarklyApprovalRequiredError(message)
        if failure is FailureClass.CONFLICT:
            raise FlagConflictError(message)
        if status == 400:
            raise LaunchDarklyBadRequestError(message)
        raise FlagProviderError(message, retryable=failure is FailureClass.UNAVAILABLE)

    def _scrub(self, text: str) -> str:
        """Text from the wire, with known secret shapes and this provider's token masked."""
        return redact_text(text, self._token)

    def _retry_after(self, response: httpx.Response) -> float | None:
        return retry_after_seconds(response.headers, self._clock())

    def _state(self, key: str, body: Any) -> FlagState:
        try:
            return flag_state_from_rest(body, self.environment_key)
        except (KeyError, TypeError, ValueError, IndexError, pydantic.ValidationError) as exc:
            raise FlagProviderError(
                f"LaunchDarkly flag {key!r}: unexpected representation"
                f" ({type(exc).__name__}: {self._scrub(str(exc))})",
                retryable=False,
            ) from exc


def _describe(response: httpx.Response) -> str:
    """`` (code): message`` from LaunchDarkly's error body, bounded (the caller redacts)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    code, message = body.get("code"), body.get("message")
    text = f" ({code}): {message}" if code or message else ""
    return text[:500]


def _text(value: Any) -> str:
    """A variation value as text: strings as they are, other JSON (true, 3, {...}) as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _variation_id(variations: tuple[Variation, ...], index: Any) -> str | None:
    if index is None:
        return None
    return variations[int(index)].id


def flag_state_from_rest(body: dict[str, Any], environment_key: str) -> FlagState:
    """The environment's targeting in a REST flag representation, as a :class:`FlagState`."""
    variations = tuple(
        Variation(id=v["_id"], value=_text(v["value"]), name=v.get("name"))
        for v in body["variations"]
    )
    env = body["environments"][environment_key]
    fallthrough = env.get("fallthrough") or {}
    fallthrough_id = fallthrough.get("variationId") or _variation_id(
        variations, fallthrough.get("variation")
    )
    rules = tuple(
        Rule(
            id=r["_id"],
            ref=r.get("ref") or None,
            description=r.get("description") or None,
            clauses=tuple(
                Clause(
                    context_kind=c.get("contextKind") or "user",
                    attribute=c["attribute"],
                    op=c["op"],
                    values=tuple(_text(v) for v in c.get("values") or ()),
                    negate=bool(c.get("negate", False)),
                )
                for c in r.get("clauses") or ()
            ),
            variation_id=r.get("variationId") or _variation_id(variations, r.get("variation")),
        )
        for r in env.get("rules") or ()
    )
    targets = [
        Target(
            context_kind=t.get("contextKind") or "user",
            values=tuple(t["values"]),
            variation_id=variations[int(t["variation"])].id,
        )
        for t in [*(env.get("targets") or ()), *(env.get("contextTargets") or ())]
        if t.get("values")  # user-kind contextTargets entries are empty placeholders
    ]
    version = env.get("version", body.get("_version"))
    return FlagState(
        key=body["key"],
        on=bool(env["on"]),
        variations=variations,
        fallthrough_variation_id=fallthrough_id,
        off_variation_id=_variation_id(variations, env.get("offVariation")),
        rules=rules,
        targets=tuple(targets),
        version=int(version),
    )

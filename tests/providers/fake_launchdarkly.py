"""A local stand-in for LaunchDarkly speaking its documented endpoints (stdlib HTTP server).

REST API v2: ``GET``/``PATCH /api/v2/flags/{project}/{flag}`` with the access token in
``Authorization``; semantic patch only (``application/json`` with
``domain-model=launchdarkly.semanticpatch``; plain JSON is 400, anything else 415), the
documented error body (``code``, ``message``),
per-route rate limiting (``X-Ratelimit-Route-Remaining``, ``X-Ratelimit-Reset`` in epoch ms,
``Retry-After`` on 429). Semantic patches go through the domain's ``apply_instructions``.

Versions as LaunchDarkly documents them: each environment has its own ``version`` (one up per
change that changes something) and the flag a top-level ``_version``. A semantic patch carries no
version precondition (LaunchDarkly documents none: only JSON patch has a ``test`` op), so the
fake applies it to whatever the flag is then: an instruction that no longer fits (an unknown
``beforeRuleId``, a ``ref`` taken) is a 400, as in LaunchDarkly. :meth:`FakeLaunchDarkly.change`
is another writer (a person in the UI, another incident); ``before_patch`` runs right before a
semantic patch is applied, to land such a change between a client's read and its PATCH.

Server-side SDK: ``GET /sdk/latest-all`` (polling, ETag aware), ``GET /all`` (streaming: an SSE
``put`` then a ``patch`` per change), ``POST /bulk`` and ``/diagnostic`` (events), all with the
environment's SDK key in ``Authorization``.
"""

from __future__ import annotations

import hashlib
import json
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from email.message import Message
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from orchestrator.domain.catalog import FlagSpec
from orchestrator.domain.flag_sdk import to_sdk_flag
from orchestrator.domain.flags import (
    FlagState,
    Instruction,
    apply_instructions,
    new_flag_state,
    parse_instructions,
)
from orchestrator.errors import FlagRuleError, ValidationError
from tests.providers.fake_http import Reply, VendorHandler

SEMANTIC_PATCH_MODEL = "launchdarkly.semanticpatch"


class FakeLaunchDarkly:
    def __init__(
        self,
        *,
        api_token: str,
        project_key: str,
        sdk_keys: dict[str, str],
        route_budget: int | None = None,
        window_seconds: float = 10.0,
        send_retry_after: bool = True,
    ) -> None:
        self.api_token = api_token
        self.project_key = project_key
        self.sdk_keys = dict(sdk_keys)  # environment key -> SDK key
        self.route_budget = route_budget
        self.window_seconds = window_seconds
        self.send_retry_after = send_retry_after  # False: only X-Ratelimit-Reset says when
        self.flags: dict[str, dict[str, FlagState]] = {env: {} for env in sdk_keys}
        self.flag_versions: dict[str, int] = {}
        self.requests: list[tuple[str, str, str]] = []  # (method, path, authorization)
        self.patch_bodies: list[dict[str, Any]] = []
        self.sdk_requests: list[str] = []  # paths the SDK asked for (polls, streams, events)
        self.events_received = 0
        self.before_patch: Callable[[str, str], None] | None = None  # (environment, flag key)
        self.approval_required: set[str] = set()
        """Environments whose flag changes need an approval request: a direct PATCH gets 405."""
        self._failures: list[tuple[int, str, dict[str, str], bool]] = []
        self._hangs: list[float] = []
        self.changes: list[tuple[str, FlagState, FlagState]] = []
        """Every change a flag took, in order: (flag key, before, after) — the write log."""
        self._windows: dict[str, tuple[float, int]] = {}
        self._streams: dict[str, list[queue.Queue[str]]] = {env: [] for env in sdk_keys}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def seed(self, spec: FlagSpec) -> None:
        with self._lock:
            for env_flags in self.flags.values():
                env_flags[spec.key] = new_flag_state(spec)
            self.flag_versions[spec.key] = 1

    def fail_next(
        self,
        status: int,
        times: int = 1,
        message: str = "injected failure",
        headers: dict[str, str] | None = None,
        *,
        echo_request: bool = False,
    ) -> None:
        """Answer the next ``times`` REST requests with ``status`` (a 5xx, a 409, a 429 with its
        ``Retry-After`` in ``headers``, ...). With ``echo_request`` the answer echoes the
        request's credentials back, as careless servers and proxies do: its ``Authorization``
        header in the message and in an ``X-Echo-Authorization`` header, and its URL."""
        with self._lock:
            self._failures.extend([(status, message, dict(headers or {}), echo_request)] * times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` REST requests ``seconds`` before answering them (a provider
        that hangs: the client's timeout fires first when it is shorter)."""
        with self._lock:
            self._hangs.extend([seconds] * times)

    def change(
        self, key: str, instructions: Sequence[Instruction], env: str | None = None
    ) -> FlagState:
        """Another writer's change (the UI, another client): applied now, as a PATCH would be."""
        with self._lock:
            return self._apply(env or next(iter(self.flags)), key, instructions)

    @contextmanager
    def running(self) -> Iterator[FakeLaunchDarkly]:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(0.05), daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)

    # -- REST --------------------------------------------------------------------------------
    def rest(self, method: str, path: str, query: str, headers: Message, body: bytes) -> _Reply:
        self.requests.append((method, path, headers.get("Authorization", "")))
        if headers.get("Authorization") != self.api_token:
            return _error(401, "unauthorized", "Invalid access token")
        limited, limit_headers = self._rate_limit(f"{method} flag")
        if limited is not None:
            return limited
        with self._lock:
            hang = self._hangs.pop(0) if self._hangs else None
        if hang is not None:
            time.sleep(hang)  # this request's own handler thread
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, message, extra, echo = failure
            code = "rate_limited" if status == 429 else "injected"
            if echo:
                auth = headers.get("Authorization", "")
                message += f" (request {method} {path}?{query} with Authorization: {auth})"
                extra = {**extra, "X-Echo-Authorization": auth}
            return _error(status, code, message, {**limit_headers, **extra})
        parts = [unquote(p) for p in path.split("/")[4:]]
        if len(parts) != 2 or parts[0] != self.project_key:
            return _error(404, "not_found", "Unknown project", limit_headers)
        key = parts[1]
        if all(key not in env_flags for env_flags in self.flags.values()):
            return _error(404, "not_found", "Unknown flag", limit_headers)
        if method == "GET":
            envs = parse_qs(query).get("env")
            return _Reply(200, self._rest_flag(key, envs), limit_headers)
        return self._patch(key, headers, body, limit_headers)

    def _rate_limit(self, route: str) -> tuple[_Reply | None, dict[str, str]]:
        if self.route_budget is None:
            return None, {}
        now = time.time()
        with self._lock:
            start, count = self._windows.get(route, (now, 0))
            if now >= start + self.window_seconds:
                start, count = now, 0
            end = start + self.window_seconds
            reset = {"X-Ratelimit-Reset": str(int(end * 1000))}
            if count >= self.route_budget:
                headers = {**reset, "X-Ratelimit-Route-Remaining": "0"}
                if self.send_retry_after:
                    headers["Retry-After"] = str(max(1, math.ceil(end - now)))
                return _error(429, "rate_limited", "Rate limited", headers), headers
            self._windows[route] = (start, count + 1)
            remaining = str(self.route_budget - count - 1)
        return None, {**reset, "X-Ratelimit-Route-Remaining": remaining}

    def _patch(self, key: str, headers: Message, body: bytes, extra: dict[str, str]) -> _Reply:
        media_type = headers.get_content_type()
        if media_type != "application/json":
            return _error(415, "unsupported_media_type", f"Unsupported {media_type}", extra)
        if headers.get_param("domain-model") != SEMANTIC_PATCH_MODEL:
            return _error(400, "invalid_request", "Request body is not a valid JSON patch", extra)
        try:
            payload = json.loads(body)
            self.patch_bodies.append(payload)
            env = payload["environmentKey"]
            instructions = parse_instructions(payload["instructions"])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            return _error(400, "invalid_request", f"Invalid semantic patch: {exc}", extra)
        if env not in self.flags or not instructions:
            return _error(400, "invalid_request", "Unknown environment or no instructions", extra)
        if env in self.approval_required:
            return _error(
                405,
                "method_not_allowed",
                f"Environment {env} requires approval for changes: create an approval request",
                extra,
            )
        if self.before_patch is not None:
            self.before_patch(env, key)
        with self._lock:
            try:
                self._apply(env, key, instructions)
            except FlagRuleError as exc:
                return _error(400, "invalid_request", str(exc), extra)
            return _Reply(200, self._rest_flag(key, None), extra)

    def _apply(self, env: str, key: str, instructions: Sequence[Instruction]) -> FlagState:
        """All or nothing (FlagRuleError); version + 1 and an SDK patch event if it changed."""
        before = self.flags[env][key]
        after = apply_instructions(before, instructions)
        if after != before:
            self.flags[env][key] = after
            self.flag_versions[key] += 1
            self.changes.append((key, before, after))
            event = {"path": f"/flags/{key}", "data": to_sdk_flag(after)}
            self._publish(env, f"event: patch\ndata: {json.dumps(event)}\n\n")
        return after

    def _rest_flag(self, key: str, envs: list[str] | None) -> dict[str, Any]:
        states = {env: f[key] for env, f in self.flags.items() if envs is None or env in envs}
        any_state = next(iter(f[key] for f in self.flags.values()))
        return {
            "key": key,
            "name": key,
            "kind": "multivariate",
            "_version": self.flag_versions[key],
            "variations": [
                {"_id": v.id, "value": v.value, "name": v.name} for v in any_state.variations
            ],
            "environments": {env: _rest_env(env, s) for env, s in states.items()},
        }

    # -- SDK ---------------------------------------------------------------------------------
    def sdk_env(self, headers: Message) -> str | None:
        key = headers.get("Authorization")
        return next((env for env, sdk_key in self.sdk_keys.items() if sdk_key == key), None)

    def sdk_payload(self, env: str) -> dict[str, Any]:
        with self._lock:
            flags = {k: to_sdk_flag(s) for k, s in self.flags[env].items()}
        return {"flags": flags, "segments": {}}

    def subscribe(self, env: str) -> queue.Queue[str]:
        q: queue.Queue[str] = queue.Queue()
        with self._lock:
            put = {"path": "/", "data": self.sdk_payload(env)}
            q.put(f"event: put\ndata: {json.dumps(put)}\n\n")
            self._streams[env].append(q)
        return q

    def unsubscribe(self, env: str, q: queue.Queue[str]) -> None:
        with self._lock:
            if q in self._streams[env]:
                self._streams[env].remove(q)

    def _publish(self, env: str, message: str) -> None:
        for q in self._streams[env]:
            q.put(message)


class _Reply:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, {"code": code, "message": message, "id": "fake-error"}, headers)


def _rest_env(env: str, state: FlagState) -> dict[str, Any]:
    index = {v.id: n for n, v in enumerate(state.variations)}
    sdk = to_sdk_flag(state)
    return {
        "on": state.on,
        "archived": False,
        "salt": sdk["salt"],
        "sel": "fake",
        "lastModified": 0,
        "version": state.version,
        "targets": [{**t, "contextKind": "user"} for t in sdk["targets"]],
        "contextTargets": sdk["contextTargets"],
        "rules": [
            {
                "_id": r.id,
                "variation": index[r.variation_id or ""],
                "clauses": [
                    {"_id": f"{r.id}-{n}", **c.model_dump(mode="json")}
                    for n, c in enumerate(r.clauses)
                ],
                "trackEvents": False,
                **({"description": r.description} if r.description else {}),
                **({"ref": r.ref} if r.ref else {}),
            }
            for r in state.rules
        ],
        "fallthrough": sdk["fallthrough"],
        "offVariation": sdk.get("offVariation"),
        "prerequisites": [],
        "_environmentName": env.title(),
        "trackEvents": False,
        "trackEventsFallthrough": False,
    }


class _Handler(VendorHandler):
    owner: FakeLaunchDarkly

    def dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        body = self.read_body()
        owner = self.owner
        if split.path.startswith("/api/v2/flags/") and method in ("GET", "PATCH"):
            self._send(owner.rest(method, split.path, split.query, self.headers, body))
            return
        env = owner.sdk_env(self.headers)
        owner.sdk_requests.append(split.path)
        if split.path in ("/sdk/latest-all", "/all", "/bulk", "/diagnostic") and env is None:
            self._send(_error(401, "unauthorized", "Invalid SDK key"))
        elif env is not None and method == "GET" and split.path == "/sdk/latest-all":
            self._send_poll(env)
        elif env is not None and method == "GET" and split.path == "/all":
            self._stream(env)
        elif method == "POST" and split.path in ("/bulk", "/diagnostic"):
            owner.events_received += 1
            self._send(_Reply(202, None))
        else:
            self._send(_error(404, "not_found", "Unknown route"))

    def _send(self, reply: _Reply) -> None:
        self.send_reply(Reply(reply.status, reply.body, reply.headers))

    def _send_poll(self, env: str) -> None:
        data = json.dumps(self.owner.sdk_payload(env)).encode()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if self.headers.get("If-None-Match") == etag:
            self._send(_Reply(304, None, {"ETag": etag}))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, env: str) -> None:
        owner = self.owner
        q = owner.subscribe(env)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        try:
            while not owner._stopping.is_set():
                try:
                    message = q.get(timeout=0.2)
                except queue.Empty:
                    message = ":\n\n"  # comment line as heartbeat; notices closed sockets
                chunk = message.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        except OSError:
            pass
        finally:
            owner.unsubscribe(env, q)

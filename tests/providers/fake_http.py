"""What every local vendor server shares (PagerDuty, Slack, GitHub, Jira; LaunchDarkly uses the
handler): a real HTTP server on a free port in a thread, a request log, a request budget per window,
injected failures (a status with headers and a body, for the next N requests) and hangs.

A request goes: recorded; :meth:`FakeHttpServer.admit` (the vendor's own checks that come before
anything else, such as auth or a rate limit; none by default); an injected hang, then an injected
failure, else :meth:`FakeHttpServer.handle` (under the lock); then :meth:`FakeHttpServer.finish`
(outside the lock, on the injected failure or the handled answer: headers every answer carries, a
late answer).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int
    body: Any = None
    """JSON (a dict or list), raw text (a str: sent as text/plain), or None (no body)."""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str = "") -> str:
        """The first value of query parameter ``name``."""
        return parse_qs(self.query).get(name, [default])[0]


class Waits(list[float]):
    """A client's waits between attempts, recorded instead of slept (pass as its ``sleep``)."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class FakeHttpServer:
    json_type = "application/json"
    """The Content-Type of a JSON answer, as the vendor sends it."""

    def __init__(self, *, budget: int | None = None, window_seconds: float = 1.0) -> None:
        self.budget = budget
        """Requests taken per window before 429s (None: no limit)."""
        self.window_seconds = window_seconds
        self._window: tuple[float, int] = (0.0, 0)
        self.requests: list[Request] = []
        self._failures: list[Reply] = []
        self._hangs: list[float] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def admit(self, request: Request) -> Reply | None:
        """A refusal that comes before injected failures (auth, the vendor's rate limit), if any."""
        return None

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def finish(self, request: Request, reply: Reply) -> Reply:
        """The answer as sent, from an injected failure or :meth:`handle` (outside the lock)."""
        return reply

    def over_budget(self) -> int | None:
        """Count one request against the budget; the seconds to wait when it is spent."""
        if self.budget is None:
            return None
        now = time.time()
        with self.lock:
            start, count = self._window
            if now >= start + self.window_seconds:
                start, count = now, 0
            if count >= self.budget:
                return max(1, math.ceil(start + self.window_seconds - now))
            self._window = (start, count + 1)
        return None

    def fail_next(self, reply: Reply, times: int = 1) -> None:
        """Answer the next ``times`` admitted requests with ``reply`` instead of handling them."""
        with self.lock:
            self._failures.extend([reply] * times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` requests ``seconds`` before answering (a client timeout)."""
        with self.lock:
            self._hangs.extend([seconds] * times)

    def answer(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            refusal = self.admit(request)
            if refusal is not None:
                return refusal
            hang = self._hangs.pop(0) if self._hangs else None
        if hang is not None:
            time.sleep(hang)  # this request's own handler thread
        with self.lock:
            failure = self._failures.pop(0) if self._failures else None
            reply = failure if failure is not None else self.handle(request)
        return self.finish(request, reply)

    @contextmanager
    def running(self) -> Iterator[FakeHttpServer]:
        owner = self

        class Handler(_Handler):
            fake = owner

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        server = self._server
        thread = threading.Thread(target=lambda: server.serve_forever(0.05), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


class VendorHandler(BaseHTTPRequestHandler):
    """A quiet HTTP/1.1 handler that hands every GET, POST and PATCH to :meth:`dispatch`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """TCP_NODELAY, as real API front ends answer: without it the body, written after the headers,
    waits for the client's delayed ACK, and every keep-alive request took 40 ms more."""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def dispatch(self, method: str) -> None:
        raise NotImplementedError

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_reply(self, reply: Reply, json_type: str = "application/json") -> None:
        if reply.body is None:
            data, kind = b"", None
        elif isinstance(reply.body, str):
            data, kind = reply.body.encode(), "text/plain; charset=utf-8"
        else:
            data, kind = json.dumps(reply.body).encode(), json_type
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if kind is not None:
            self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a hang the test made): nobody to answer


class _Handler(VendorHandler):
    fake: FakeHttpServer

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        body = self.read_body()
        reply = self.fake.answer(Request(method, split.path, split.query, self.headers, body))
        self.send_reply(reply, self.fake.json_type)

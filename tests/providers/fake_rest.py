"""What the local stand-ins of REST APIs share (GitHub, Jira): a real HTTP server in a thread on a
free port, a request log, and injected failures and hangs. A subclass answers the routes."""

from __future__ import annotations

import json
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
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]


class FakeRestServer:
    """Subclasses implement :meth:`handle`; :meth:`fail_next` and :meth:`hang_next` come first."""

    def __init__(self) -> None:
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

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def fail_next(self, reply: Reply, times: int = 1) -> None:
        """Answer the next ``times`` authenticated requests with ``reply``."""
        with self.lock:
            self._failures.extend([reply] * times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` requests ``seconds`` before answering (a client's timeout)."""
        with self.lock:
            self._hangs.extend([seconds] * times)

    def injected(self) -> Reply | None:
        """The injected failure due now (after any injected hang), if any."""
        with self.lock:
            hang = self._hangs.pop(0) if self._hangs else None
        if hang is not None:
            time.sleep(hang)  # this request's own handler thread
        with self.lock:
            return self._failures.pop(0) if self._failures else None

    def answer(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
        return self.handle(request)

    @contextmanager
    def running(self) -> Iterator[FakeRestServer]:
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


class _Handler(BaseHTTPRequestHandler):
    fake: FakeRestServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(method, split.path, parse_qs(split.query), self.headers, body)
        reply = self.fake.answer(request)
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a hang the test made)

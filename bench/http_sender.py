"""A sender that costs little: HTTP/1.1 POSTs of prepared bytes over kept-alive connections.

The storm arm measures what ``orchestrator api`` accepts per second. With httpx as the sender, the
bench process itself was the limit (4.9 ms of its CPU per request: 9.8 s for 2,000 deliveries
that the API handled in 73 ms each), as Alertmanager, written in Go, is not. This client writes a
request built once and reads the status line, the headers and a ``Content-Length`` body: nothing
else. A connection the server closed (uvicorn closes one idle for 5 s) is opened again and the
delivery sent again, as a sender does: it was not answered, so nothing was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def request_bytes(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Connection:
    """One kept-alive connection; ``post`` sends one request and reads its answer."""

    host: str
    port: int
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    reopened: list[int] = field(default_factory=list)

    async def open(self) -> None:
        """Connect now (before a clock starts), unless connected."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, request: bytes) -> Answer:
        for _ in range(5):
            await self.open()
            assert self.reader is not None
            assert self.writer is not None
            try:
                self.writer.write(request)
                return await self._answer(self.reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.reopened.append(1)
                await self.close()
        raise ConnectionError(f"{self.host}:{self.port} closed the connection 5 times in a row")

    @staticmethod
    async def _answer(reader: asyncio.StreamReader) -> Answer:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Answer(int(status_line.split(" ")[1]), headers, body)

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def connection_to(url: str) -> Connection:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return Connection(parts.hostname, parts.port)

"""Through a real uvicorn server on a free 127.0.0.1 port: the body limit holds on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from orchestrator.domain.catalog import Catalog
from orchestrator.ingest import create_app
from tests.ingest.conftest import make_settings, seen_signatures_in, wall_clock
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.samples import ALERTMANAGER_V4, AM_TOKEN, bearer, body_of
from tests.ingest.serving import served

LIMIT = 64 * 1024


@pytest.fixture
async def server(
    catalog: Catalog, tmp_path: Path
) -> AsyncIterator[tuple[str, int, MemorySubmitter]]:
    submitter = MemorySubmitter(catalog)
    app: Starlette = create_app(
        submitter,
        make_settings(max_body_bytes=LIMIT),
        catalog=catalog,
        seen_signatures=seen_signatures_in(tmp_path),
        clock=wall_clock,
    )
    async with served(app) as (host, port):
        yield host, port, submitter


async def test_real_server_accepts_a_delivery(
    server: tuple[str, int, MemorySubmitter],
) -> None:
    host, port, submitter = server
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
        response = await client.post(
            "/v1/signals/alertmanager", content=body_of(ALERTMANAGER_V4), headers=bearer(AM_TOKEN)
        )
        assert response.status_code == 202, response.text
        assert (await client.get("/healthz")).status_code == 200
    assert len(submitter.submitted) == 2


async def test_chunked_body_over_the_limit_is_refused_mid_stream(
    server: tuple[str, int, MemorySubmitter],
) -> None:
    """The sender never finishes its chunked body; the 413 comes anyway, once the limit passes."""
    host, port, submitter = server
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            (
                "POST /v1/signals/alertmanager HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\n"
                f"Authorization: Bearer {AM_TOKEN}\r\n"
                "Content-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        chunk = b"[" + b" " * 8190 + b"\n"
        for _ in range(LIMIT // len(chunk) + 2):
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        await writer.drain()
        # Deliberately no terminating 0-length chunk: the server must not wait for the end.
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 413 "), head
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await asyncio.wait_for(reader.readexactly(length), 10)
        assert b"body_too_large" in body
    finally:
        writer.close()
    assert submitter.submitted == []


async def test_chunked_body_over_the_limit_with_httpx(
    server: tuple[str, int, MemorySubmitter],
) -> None:
    host, port, _ = server

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(LIMIT // 4096 + 1):
            yield b" " * 4096

    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
        response = await client.post(
            "/v1/signals/alertmanager", content=chunks(), headers=bearer(AM_TOKEN)
        )
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"

"""The embedded dev server starts on fresh ports when one it picked is taken before it binds it.

`free_port()` finds a port free, then the dev server binds it a moment later: meanwhile another
process can take it (an outgoing connection's local port, another test's server). CI saw the dev
server exit with "bind: address already in use" and a test fail at setup.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.errors import TemporalUnavailableError
from workers import devserver
from workers.devserver import start_dev_server


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port bound by this process and not listening: free to ``port_in_use``, not bindable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


async def test_a_picked_port_taken_before_the_server_binds_it_is_picked_again(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    picks = iter([taken_port])
    real = devserver.free_port
    monkeypatch.setattr(devserver, "free_port", lambda: next(picks, 0) or real())
    server = await start_dev_server(tmp_path / "temporal.db")
    try:
        assert server.address != f"127.0.0.1:{taken_port}"
        assert server.process.poll() is None
    finally:
        server.stop()
    assert b"address already in use" in (tmp_path / "temporal.log").read_bytes()


async def test_a_port_the_caller_chose_is_not_changed(tmp_path: Path, taken_port: int) -> None:
    with pytest.raises(TemporalUnavailableError, match="exited"):
        await start_dev_server(
            tmp_path / "temporal.db", port=taken_port, ui_port=devserver.free_port()
        )

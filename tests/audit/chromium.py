"""Headless Chromium (Debian's ``chromium``) for testing HTML output: dump the DOM, screenshot,
print to PDF, with every request sent to a trap proxy that records it (and answers nothing).

Each run is its own process group, killed by its id when it ends or overruns; nothing is left
running.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

QUIET = (
    "--headless",
    "--disable-gpu",
    "--no-sandbox",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
)


def chromium_binary() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip(
            "chromium is not installed (Debian: apt-get install -y chromium; .ci/run does it):"
            " the HTML report is not checked in a browser"
        )
    return binary


BROWSER_OWN = ("accounts.google.com", "update.googleapis.com", "clients2.google.com")
"""Hosts headless Chromium calls on its own at start (sign-in, component updates, network time),
whatever the page, even with background networking disabled: not the page's requests."""


@dataclass
class Trap:
    """A proxy that records every request line it gets and answers 502."""

    port: int = 0
    requests: list[str] = field(default_factory=list)

    def page_requests(self) -> list[str]:
        """What reached the proxy, less the browser's own calls (:data:`BROWSER_OWN`)."""
        return [r for r in self.requests if not any(host in r for host in BROWSER_OWN)]


@contextlib.contextmanager
def trap_proxy() -> Iterator[Trap]:
    trap = Trap()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            trap.requests.append(f"{self.command} {self.path}")
            self.send_error(502)

        do_GET = do_POST = do_HEAD = do_CONNECT = _refuse  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    trap.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield trap
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_chromium(page: Path, trap: Trap, *extra: str, timeout: float = 60) -> str:
    """Load ``page`` (a file) once; every request goes to ``trap`` (the proxy; loopback is not
    bypassed) and no host name resolves. Returns stdout (the DOM with ``--dump-dom``)."""
    args = [
        chromium_binary(),
        *QUIET,
        f"--proxy-server=http://127.0.0.1:{trap.port}",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={page.parent / 'chromium-profile'}",
        "--window-size=1200,1600",
        *extra,
        page.resolve().as_uri(),
    ]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its renderer and zygote children too
        proc.wait()
    assert proc.returncode == 0, f"chromium exited {proc.returncode}"
    return out


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")

"""The real monitoring parts for end-to-end tests: Debian's ``prometheus`` and
``prometheus-alertmanager`` as child processes on free ports, and a small exporter of synthetic SLI
counters whose success ratio per language the test sets as it goes.

Every process is started by the test, stopped by its PID when the test ends (even when it fails),
and logs to a file in the test's folder that a failing assertion can show.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from workers.devserver import free_port

PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"
"""Debian's names for the binaries (`apt-get install prometheus prometheus-alertmanager`)."""


def missing_binaries() -> list[str]:
    return [name for name in (PROMETHEUS, ALERTMANAGER) if shutil.which(name) is None]


@dataclass
class Process:
    """A started child process, its address and its log."""

    name: str
    popen: subprocess.Popen[bytes]
    url: str
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running(name: str, argv: list[str], url: str, log: Path) -> Iterator[Process]:
    """Start ``argv``, wait until ``url``/-/ready answers 200, and stop it by PID afterwards."""
    with log.open("wb") as out:
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    process = Process(name, popen, url, log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if popen.poll() is not None:
                raise RuntimeError(f"{name} exited with {popen.returncode}:\n{process.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{name} was not ready within 30 s:\n{process.tail()}")
        yield process
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=10)


def write_yaml(path: Path, document: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(document), sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def alertmanager(folder: Path, webhook_url: str, bearer_token: str) -> Iterator[Process]:
    """Alertmanager routing every alert, at once and on resolution too, to ``webhook_url`` with
    the orchestrator's bearer token (read from a file, as in production)."""
    folder.mkdir(parents=True, exist_ok=True)
    token_file = folder / "orchestrator.token"
    token_file.write_text(bearer_token, encoding="utf-8")
    token_file.chmod(0o600)
    config = write_yaml(
        folder / "alertmanager.yml",
        {
            "route": {
                "receiver": "orchestrator",
                "group_by": ["alertname", "service", "slo", "segment", "language"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "orchestrator",
                    "webhook_configs": [
                        {
                            "url": webhook_url,
                            "send_resolved": True,
                            "http_config": {
                                "authorization": {
                                    "type": "Bearer",
                                    "credentials_file": str(token_file),
                                }
                            },
                        }
                    ],
                }
            ],
        },
    )
    port = free_port()
    argv = [
        ALERTMANAGER,
        f"--config.file={config}",
        f"--storage.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=info",
    ]
    with running("alertmanager", argv, f"http://127.0.0.1:{port}", folder / "log.txt") as p:
        yield p


@contextlib.contextmanager
def prometheus(
    folder: Path, rules: Path, scrape_target: str, alertmanager_url: str
) -> Iterator[Process]:
    """Prometheus scraping ``scrape_target`` and evaluating ``rules`` every second, sending its
    alerts to ``alertmanager_url`` (and re-sending every second, so a resolution is not late)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_yaml(
        folder / "prometheus.yml",
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [
                {"job_name": "sli", "static_configs": [{"targets": [scrape_target]}]}
            ],
            "alerting": {
                "alertmanagers": [
                    {"static_configs": [{"targets": [alertmanager_url.split("//", 1)[1]]}]}
                ]
            },
        },
    )
    port = free_port()
    argv = [
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--rules.alert.resend-delay=1s",
        "--log.level=info",
    ]
    with running("prometheus", argv, f"http://127.0.0.1:{port}", folder / "log.txt") as p:
        yield p


def firing_alerts(prometheus_url: str) -> list[dict[str, Any]]:
    """The alerts Prometheus holds now (pending and firing), for progress output and errors."""
    with contextlib.suppress(httpx.HTTPError):
        reply = httpx.get(f"{prometheus_url}/api/v1/alerts", timeout=2).json()
        return list(reply["data"]["alerts"])
    return []


@dataclass
class SliExporter:
    """Synthetic judgements of a support assistant's answers, as one counter with an ``outcome``
    label (``success`` or ``failure``) and a ``language`` label: ``rate`` answers a second per
    language, of which the share set by :meth:`set_success` succeed. Counters only ever grow, as
    real ones do; a new share applies from the moment it is set."""

    metric: str
    labels: Mapping[str, str]
    rate: float = 20.0
    success: dict[str, float] = field(default_factory=dict)
    _counts: dict[tuple[str, str], float] = field(default_factory=dict)
    _at: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set_success(self, **shares: float) -> None:
        with self._lock:
            self._advance()
            self.success.update(shares)

    def _advance(self) -> None:
        now = time.monotonic()
        elapsed, self._at = now - self._at, now
        for language, share in self.success.items():
            answers = self.rate * elapsed
            for outcome, part in (("success", share), ("failure", 1.0 - share)):
                key = (language, outcome)
                self._counts[key] = self._counts.get(key, 0.0) + answers * part

    def exposition(self) -> str:
        with self._lock:
            self._advance()
            lines = [f"# TYPE {self.metric} counter"]
            for (language, outcome), value in sorted(self._counts.items()):
                labels = {**self.labels, "language": language, "outcome": outcome}
                text = ",".join(f'{k}="{v}"' for k, v in labels.items())
                lines.append(f"{self.metric}{{{text}}} {value:.3f}")
            return "\n".join(lines) + "\n"

    @contextlib.contextmanager
    def serving(self) -> Iterator[str]:
        """Serve ``/metrics`` on a free port; yields ``host:port``."""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                body = exporter.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

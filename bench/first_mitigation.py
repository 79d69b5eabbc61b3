"""Breach to first mitigating change, against bare Temporal, in one run on one dev server.

Run: .venv/bin/python -m bench.first_mitigation [--rounds 3] [--levels 1,10,100] [--singles 10]
     [--storm 2000] [--rss-open 1000] [--rss-wave 100] [--server-db file|memory] [--quick]

Two arms, interleaved round by round (the order alternates) at each concurrency level, and at 1
incident by incident (``--singles`` of each per round):
- bare: start N workflows that each run one activity making one semantic-patch PATCH to the local
  LaunchDarkly (bench/bare_worker.py, default worker options);
- project: N concurrent POSTs of a firing fairness breach (a fresh incident key each) to
  ``orchestrator api`` (bench/http_sender.py, connections opened beforehand);
  ``orchestrator worker`` runs the real playbook against the same server.
Latency: from just before the start call / POST to the PATCH's arrival at LaunchDarkly (stamped
there). Then: worker CPU seconds per incident per arm (the project's incidents are aborted once
measured, ending included), an Alertmanager storm through the API against a raw signal-with-start
loop over the same keys (a task queue no worker polls: ingest alone), and the worker's RSS with
``--rss-open`` incidents open and waiting for an approval (opened ``--rss-wave`` at a time), read
as the last wave waits and again once the worker is quiet (its trimming thread has looked).
docs/BENCHMARKS.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.arms import (
    Batch,
    bare_batch,
    open_and_wait,
    project_batch,
    storm_api,
    storm_keys,
    storm_raw,
)
from bench.bench_stack import api_client, bench_stack
from bench.procs import Proc
from orchestrator.logging import configure_logging
from workers.allocator import QUIET, TRIM_EVERY


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def batches_at(level: int, singles: int) -> int:
    """Batches per arm and round at ``level``: one, or at 1 concurrent incident ``singles`` of
    them one after the other (the arms alternating), so that the percentiles at 1 rest on more
    than one incident per round: with three, the p95 was the slowest of three."""
    return singles if level == 1 else 1


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def header() -> None:
    print(f"date      {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine   {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    print(f"load avg  {' '.join(f'{x:.2f}' for x in os.getloadavg())} (at start)")


def report_latency(levels: list[int], results: dict[tuple[str, int], list[Batch]]) -> None:
    print("\nbreach -> first PATCH at LaunchDarkly (ms), all rounds pooled")
    print(
        f"{'level':>5} {'arm':>8} {'n':>4} {'p50':>8} {'p95':>8} {'p99':>8} {'cpu/inc':>9}"
        f" {'api/inc':>8} {'server/inc':>10}"
    )
    for n in levels:
        row = {}
        for arm in ("bare", "project"):
            batches = results[(arm, n)]
            ms = [x * 1000 for b in batches for x in b.latencies]
            count = len(ms)
            cpu = sum(b.cpu for b in batches) / count
            api = sum(b.api_cpu for b in batches) / count
            server = sum(b.server_cpu for b in batches) / count
            row[arm] = [pct(ms, q) for q in (0.5, 0.95, 0.99)]
            print(
                f"{n:>5} {arm:>8} {count:>4} {row[arm][0]:>8.1f} {row[arm][1]:>8.1f}"
                f" {row[arm][2]:>8.1f} {cpu * 1000:>7.0f}ms {api * 1000:>6.0f}ms"
                f" {server * 1000:>8.0f}ms"
            )
        ratios = [p / b for p, b in zip(row["project"], row["bare"], strict=True)]
        print(
            f"{n:>5} {'ratio':>8} {'':>4} {ratios[0]:>7.2f}x {ratios[1]:>7.2f}x {ratios[2]:>7.2f}x"
        )


async def main(args: argparse.Namespace) -> None:
    levels = [int(x) for x in args.levels.split(",")]
    header()
    measured = args.rounds * sum(n * batches_at(n, args.singles) for n in levels)
    services = max(2 + measured + args.rss_open, -(-args.storm_keys // 5))
    memory = args.server_db == "memory"
    async with (
        bench_stack(services, keep=args.keep, server_in_memory=memory) as stack,
        api_client(stack.api_url) as http,
    ):
        print(
            f"stack up: dev server {stack.server.address} (database: {args.server_db}),"
            f" state in {stack.tmp}"
        )
        await bare_batch(stack, ["warm0"])  # first workflow tasks, SDK streams, sqlite
        await project_batch(stack, ["warm1"])
        await stack.clean_flags()
        results: dict[tuple[str, int], list[Batch]] = {}
        for r in range(args.rounds):
            for n in levels:
                this: dict[str, list[Batch]] = {"bare": [], "project": []}
                started = time.monotonic()
                for k in range(batches_at(n, args.singles)):
                    order = ("bare", "project") if (r + n + k) % 2 == 0 else ("project", "bare")
                    for arm in order:
                        values = [f"{arm[0]}{r}x{n}x{k}x{i}" for i in range(n)]
                        if arm == "bare":
                            batch = await bare_batch(stack, values)
                        else:
                            batch = await project_batch(stack, values)
                        this[arm].append(batch)
                        await stack.clean_flags()
                        await stack.settle()  # what the batch left (incidents ending) is done
                for arm, batches in this.items():
                    results.setdefault((arm, n), []).extend(batches)
                    latencies = [x for b in batches for x in b.latencies]
                    retried = sum(len(b.retried) for b in batches)
                    print(
                        f"  round {r + 1} level {n:>3} {arm:>7}: p50"
                        f" {pct(latencies, 0.5) * 1000:7.1f} ms, max"
                        f" {max(latencies) * 1000:7.1f} ms"
                        + (f" ({len(batches)} one at a time)" if len(batches) > 1 else "")
                        + (f", {retried} POSTs sent again after a 503" if retried else ""),
                        flush=True,
                    )
                print(f"  round {r + 1} level {n:>3}: {time.monotonic() - started:.1f} s")
        if results:
            report_latency(levels, results)
        if args.storm:
            keys = storm_keys(stack, args.storm_keys)
            print(
                f"\nstorm: {args.storm} deliveries over {len(keys)} keys,"
                f" {args.concurrency} at a time"
            )
            await stack.settle()
            raw = await storm_raw(stack, keys, args.storm, args.concurrency)
            await stack.settle()
            api = await storm_api(stack, keys, args.storm, args.concurrency)
            for name, s in (("api", api), ("raw", raw)):
                print(
                    f"  {name}: {args.storm / s.seconds:6.0f} deliveries/s ({s.seconds:.1f} s),"
                    f" statuses {dict(s.statuses)}, {s.workflows} runs / {s.ids} ids,"
                    f" {s.signals} signals in histories"
                    + (f", API CPU {s.cpu:.1f} s" if s.cpu else "")
                )
            print(f"  ratio api/raw {raw.seconds / api.seconds:.2f}")
            ok = all(
                s.statuses.get(202) == args.storm
                and s.ids == s.workflows == len(keys)
                and s.signals == args.storm
                for s in (api, raw)
            )
            print(
                "  checks: "
                + ("one workflow per key, every delivery in a history" if ok else "MISMATCH")
            )
        if args.rss_open:
            print(f"\nRSS: {args.rss_open} incidents open, waiting for an approval")
            await stack.settle()
            rss_before = stack.worker.rss_mb()
            seconds, rss, cpu = await open_and_wait(stack, http, args.rss_open, args.rss_wave)
            quiet = await trimmed(stack.worker)
            print(
                f"  worker RSS {stack.worker.rss_mb():.0f} MB once quiet"
                f"{'' if quiet else ' (NOT QUIET: maybe not trimmed)'}, {rss:.0f} MB as the"
                f" last wave waited (was {rss_before:.0f} MB); opening took {seconds:.0f} s,"
                f" worker CPU {cpu:.1f} s ({cpu / args.rss_open * 1000:.0f} ms per incident)"
            )
    print(f"load avg  {' '.join(f'{x:.2f}' for x in os.getloadavg())} (at end)")


async def trimmed(worker: Proc, tries: int = 6) -> bool:
    """Wait until the worker's trimming thread has had a quiet look (workers/allocator.py):
    under ``QUIET`` x ``TRIM_EVERY`` CPU seconds over ``2 x TRIM_EVERY + 1`` s holds one whole
    quiet interval between two looks. False when that did not happen within ``tries`` windows."""
    window = 2 * TRIM_EVERY + 1
    for _ in range(tries):
        cpu0 = worker.cpu_seconds()
        await asyncio.sleep(window)
        if worker.cpu_seconds() - cpu0 < QUIET * TRIM_EVERY:
            return True
    return False


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds; each runs every level, both arms (3; 0: skip the latency arms)",
    )
    parser.add_argument(
        "--levels",
        default="1,10,100",
        help="concurrent incidents per batch, comma-separated (1,10,100)",
    )
    parser.add_argument(
        "--singles",
        type=int,
        default=10,
        help="incidents per arm and round at level 1, one after the other, the arms alternating"
        " (10)",
    )
    parser.add_argument(
        "--storm", type=int, default=2000, help="storm deliveries per arm (2000; 0: skip)"
    )
    parser.add_argument(
        "--storm-keys", type=int, default=100, help="distinct keys the storm spreads over (100)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="storm senders sending at once (64)"
    )
    parser.add_argument(
        "--rss-open",
        type=int,
        default=1000,
        help="incidents left open and waiting when the worker's RSS is read (1000; 0: skip)",
    )
    parser.add_argument(
        "--rss-wave",
        type=int,
        default=100,
        help="open incidents this many at a time, each wave once the last one waits (100)",
    )
    parser.add_argument(
        "--server-db",
        choices=("file", "memory"),
        default="file",
        help="where the dev server keeps its SQLite database: a file in the run's folder (file),"
        " or in /dev/shm (memory) where the disk's fsyncs would make the engine itself the"
        " bottleneck (both arms share it either way)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a one-minute check: 1 round of 1,10; storm 200; 50 open",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temp folder (process logs, the bench DB); a failed run keeps it anyway",
    )
    args = parser.parse_args()
    if args.rss_wave < 1:
        parser.error("--rss-wave must be at least 1")
    if args.singles < 1:
        parser.error("--singles must be at least 1")
    if args.quick:
        args.rounds, args.levels, args.storm, args.rss_open = 1, "1,10", 200, 50
    configure_logging(level="WARNING")
    asyncio.run(main(args))

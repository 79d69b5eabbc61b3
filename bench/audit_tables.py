"""The audit scale benchmark's figures as the Markdown tables of docs/BENCHMARKS.md.

Run: .venv/bin/python -m bench.audit_tables .bench/audit-scale-both-1000000-10000.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _ms(figures: dict[str, Any]) -> str:
    return (
        f"p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms,"
        f" p99 {figures['p99_ms']:.1f} ms"
    )


def _goal(ok: bool) -> str:
    return "met" if ok else "**missed**"


def table(result: dict[str, Any]) -> str:
    tl, chain = result["timeline"], result["chain"]
    export, live = result["export"], result["live_verify"]
    rows = [
        ("Figure", "Value", "Goal"),
        ("---", "---", "---"),
        ("history generated and loaded", f"{result['prepare_s']:.0f} s", ""),
        (
            f"timeline of one incident, first read ({tl['n']} random incidents,"
            f" {tl['events_per_call']:.0f} events on average)",
            _ms(tl),
            f"p95 <= 10 ms: {_goal(tl['p95_ms'] <= 10)}",
        ),
    ]
    if "again" in tl:
        again = tl["again"]
        rows.append(
            (
                "the same timelines read again (cached)",
                _ms(again),
                f"p95 <= 10 ms: {_goal(again['p95_ms'] <= 10)}",
            )
        )
    if "query_first" in result:
        q = result["query_first"]
        rows.append(
            (
                "service + severity + last 30 days, first page of 100"
                f" ({q['n']} random pairs, {q['events_per_call']:.0f} events on average)",
                _ms(q),
                "",
            )
        )
        q = result["query_all"]
        rows.append(
            (
                f"the same, every page of 1,000 (the busiest pair, {q['pair']}:"
                f" {q['events']:,} events)",
                f"{q['s']:.2f} s",
                "",
            )
        )
        st = result["stats"]
        rows.append((f"stats of one service over 30 days ({st['n']} runs)", _ms(st), ""))
        st = result["stats_all"]
        rows.append(
            (
                f"stats of every service over 30 days ({st['events']:,} events,"
                f" {st['incidents']:,} incidents)",
                f"{st['s']:.1f} s",
                "",
            )
        )
    rows += [
        ("reading every row (pages of 1,000)", f"{chain['read_s']:.1f} s", ""),
        (
            f"raw SHA-256 over the same bytes ({chain['hashed_mb']:.0f} MB, read included)",
            f"{chain['raw_sha256_s']:.1f} s",
            "",
        ),
        (
            "full chain verification (`verify()`)",
            f"{chain['verify_s']:.1f} s ({chain['verify_events_per_s']:,.0f} events/s)",
            "",
        ),
        (
            "verify throughput / raw SHA-256 throughput",
            f"{chain['ratio']:.2f}x",
            f">= 0.5x: {_goal(chain['ratio'] >= 0.5)}",
        ),
        (
            "verification through the models (before this change)",
            f"{chain['verify_models_s']:.1f} s",
            "",
        ),
        (
            f"`orchestrator audit export` ({export['file_mb']:.0f} MB file)",
            f"{export['seconds']:.1f} s, peak RSS {export['peak_rss_mb']:.0f} MB",
            "bounded memory",
        ),
        (
            "`orchestrator audit verify` (chain and digests)",
            f"{live['seconds']:.1f} s, peak RSS {live['peak_rss_mb']:.0f} MB",
            "bounded memory",
        ),
    ]
    return "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)


def tables(report: dict[str, Any]) -> str:
    return "\n\n".join(f"### {r['backend']}\n\n{table(r)}" for r in report["results"])


if __name__ == "__main__":
    print(tables(json.loads(Path(sys.argv[1]).read_text())))

"""``python -m tests.faults``: run the fault campaign, print its table, exit 1 if a check fails."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from pathlib import Path

from tests.faults.campaign import Campaign
from tests.faults.checks import check, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.faults",
        description=(
            "The fault campaign on the worked example: waves of incidents while worker"
            " processes are SIGKILLed at random, the Temporal dev server is killed and restarted"
            " (mid-incident, and while the API takes alerts), and the flag and deployment"
            " providers fail (500, 429, a hang, a 403). Checks the providers' own write logs and"
            " the audit store, prints a table, exits 1 when a check fails."
        ),
    )
    parser.add_argument("--kills", type=int, default=50, help="worker SIGKILLs at least (50)")
    parser.add_argument(
        "--deadline", type=float, default=240.0, help="seconds an incident may take to end (240)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the random kill points (7)")
    parser.add_argument("--waves", type=int, default=2, help="waves of incidents at least (2)")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    parser.add_argument("--keep", action="store_true", help="keep the state folder and logs")
    args = parser.parse_args(argv)

    started = time.monotonic()
    campaign = Campaign(
        kills_wanted=args.kills, deadline=args.deadline, seed=args.seed, waves=args.waves
    )
    print(f"fault campaign: state and logs in {campaign.state}", flush=True)
    cluster = asyncio.run(campaign.run())
    rows = asyncio.run(check(campaign, cluster))
    report = table(rows) + f"\n\nTook {time.monotonic() - started:.0f} s (seed {args.seed}).\n"
    print(report, flush=True)
    if args.out:
        args.out.write_text(report)
    failed = [r for r in rows if not r.ok]
    if failed or args.keep:
        print(f"state and logs kept in {campaign.state}", file=sys.stderr)
    else:
        shutil.rmtree(campaign.state, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

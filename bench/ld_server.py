"""The local LaunchDarkly of tests/providers in its own process, logging when each PATCH arrives.

Also the local GitHub (the RCA reviews go there as issues, as in production, rather than into
the local ticket file, which is rewritten whole for every review).

Run by bench/first_mitigation.py: ``python -m bench.ld_server CATALOG``. Prints ``URL <url>``
and ``GITHUB <url>``,
then one line per semantic patch that adds a rule, stamped on arrival (before it is applied) with
``time.monotonic()`` (CLOCK_MONOTONIC: the same clock in every process of the machine):
``PATCH <seconds> <clause value>``. Reads commands on stdin: ``clean <prefix>`` removes every
rule whose ref starts with the prefix (the bare arm's, between batches), ``quit`` (or EOF) stops.
"""

from __future__ import annotations

import sys
import threading
import time
from email.message import Message
from pathlib import Path

from orchestrator.config.files import load_catalog
from orchestrator.domain.flags import RemoveRule
from tests.local_saas import GITHUB_REPO, GITHUB_TOKEN, LD_API_TOKEN, LD_ENV, LD_PROJECT, LD_SDK_KEY
from tests.providers.fake_github import FakeGitHub
from tests.providers.fake_launchdarkly import FakeLaunchDarkly

_out = threading.Lock()


def say(line: str) -> None:
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class TimedLaunchDarkly(FakeLaunchDarkly):
    def _patch(self, key: str, headers: Message, body: bytes, extra: dict[str, str]):  # type: ignore[no-untyped-def]
        arrived = time.monotonic()
        reply = super()._patch(key, headers, body, extra)
        for body_ in self.patch_bodies[-1:]:
            for instruction in body_.get("instructions", []):
                if instruction.get("kind") == "addRule":
                    for clause in instruction.get("clauses", []):
                        for value in clause.get("values", []):
                            say(f"PATCH {arrived:.6f} {value}")
        return reply

    def clean(self, prefix: str) -> int:
        with self._lock:
            removed = 0
            for env, flags in self.flags.items():
                for key, state in list(flags.items()):
                    gone = [
                        RemoveRule(rule_id=r.id)
                        for r in state.rules
                        if (r.ref or "").startswith(prefix)
                    ]
                    if gone:
                        self._apply(env, key, gone)
                        removed += len(gone)
            self.patch_bodies.clear()
            self.requests.clear()
            self.changes.clear()
            self.sdk_requests.clear()
            return removed


def main() -> None:
    ld = TimedLaunchDarkly(
        api_token=LD_API_TOKEN, project_key=LD_PROJECT, sdk_keys={LD_ENV: LD_SDK_KEY}
    )
    seeded: set[str] = set()
    for service in load_catalog(Path(sys.argv[1])).services:
        for spec in service.flags:
            if spec.key not in seeded:
                ld.seed(spec)
                seeded.add(spec.key)
    github = FakeGitHub(token=GITHUB_TOKEN, repo=GITHUB_REPO, rate_limit=1_000_000)
    with ld.running(), github.running():
        say(f"URL {ld.url}")
        say(f"GITHUB {github.url}")
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "clean":
                say(f"CLEANED {ld.clean(arg)}")
            elif command == "quit":
                break


if __name__ == "__main__":
    main()

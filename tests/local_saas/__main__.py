"""``python -m tests.local_saas [--state-dir DIR]`` (``make demo-saas``): the worked example of
``make demo`` with the flags in LaunchDarkly instead of the local flag file, the RCA reviews as
GitHub issues, pages to PagerDuty, the story in a Slack thread, and the prompt and model versions
in a real MLflow Model Registry (the rollback moves the ``champion`` alias). The orchestrator is
pointed at the local servers by configuration only (``LAUNCHDARKLY_*``,
``ORCHESTRATOR_TICKETS``/``_GITHUB_*``, ``ORCHESTRATOR_PAGER``/``_PAGERDUTY_*``,
``ORCHESTRATOR_CHAT``/``_SLACK_*``, ``ORCHESTRATOR_MODEL_REGISTRY``/``_MLFLOW_*``): it writes
flags through LaunchDarkly's REST API (semantic patch), verifies through the real server-side SDK
in streaming mode, opens each review as one labelled GitHub issue, and pins versions by moving
registered-model aliases. Prints the demo as it runs, then what the local servers received.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.local_saas import ROOT, SLACK_CHANNEL, LocalSaas, local_saas

CLI = Path(sys.executable).parent / "orchestrator"


def received(saas: LocalSaas) -> list[str]:
    """What each local server was asked, in a few lines."""
    ld = saas.launchdarkly
    kinds = Counter(i["kind"] for body in ld.patch_bodies for i in body.get("instructions", []))
    streams = sum(1 for path in ld.sdk_requests if "/all" in path or "stream" in path)
    return [
        f"LaunchDarkly REST: {len(ld.requests)} requests, {len(ld.patch_bodies)} semantic patches"
        f" ({', '.join(f'{k} x{n}' for k, n in sorted(kinds.items())) or 'none'})",
        f"LaunchDarkly SDK: {streams} streaming connection(s), {ld.events_received} event"
        " payload(s)",
        *(
            f"  {key}: {len(before.rules)} -> {len(after.rules)} targeting rule(s)"
            for key, before, after in ld.changes
        ),
        f"GitHub Issues: {len(saas.github.issues)} RCA issue(s) in {saas.github.repo}",
        *(f"  #{n} [{i['state']}] {i['title']}" for n, i in sorted(saas.github.issues.items())),
        f"PagerDuty: {len(saas.pagerduty.incidents)} alert(s)",
        *(f"  {a.severity} [{a.status}] {a.summary}" for a in saas.pagerduty.incidents),
        f"Slack: {len(saas.slack.roots())} incident message(s) in {SLACK_CHANNEL},"
        f" {len(saas.slack.messages) - len(saas.slack.roots())} thread repl(ies)",
        f"MLflow Model Registry: {len(saas.models)} registered model(s)",
        *(
            f"  {model}@champion: {first} -> {saas.serving(model)}"
            for model, first in sorted(saas.models.items())
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.local_saas", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".orchestrator" / "saas")
    args = parser.parse_args()
    with local_saas() as saas:
        print(f"local LaunchDarkly at {saas.launchdarkly.url}", flush=True)
        print(f"local GitHub at {saas.github.url} ({saas.github.repo})", flush=True)
        print(f"MLflow tracking server at {saas.mlflow.url}", flush=True)
        env = {**os.environ, **saas.env}
        done = subprocess.run(
            [str(CLI), "--state-dir", str(args.state_dir), "demo"], env=env, check=False
        )
        for line in received(saas):
            print(line, flush=True)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())

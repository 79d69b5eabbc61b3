"""Time from a breach signal to the first mitigating effect, on the embedded stack.

Run: .venv/bin/python bench/breach_to_mitigation.py [--incidents N]

For each incident: submit a firing fairness breach for language=<lang> (a fresh incident each time,
through a distinct workflow-id prefix) and measure
  - accepted:  submit() returned (Temporal holds the signal durably),
  - mitigated: the flag store serves the human queue to that language (the effect users feel),
  - verified:  the incident's verification step passed (the LaunchDarkly SDK serves it).
Prints percentiles; docs/BENCHMARKS.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from orchestrator.client import control as incident_control
from orchestrator.client.submitter import submitter_for
from orchestrator.config.settings import Settings
from orchestrator.domain.signals import BreachSignal, Segment
from orchestrator.workflows.types import QUERY_STATE, IncidentState
from workers.stack import embedded_stack

ROOT = Path(__file__).resolve().parent.parent
FLAG = "support-assistant-answer-mode"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def one(stack, n: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    lang = f"l{n:03d}"
    settings = stack.settings.with_overrides(workflow_id_prefix=f"bench{n}")
    submitter = submitter_for(stack.client, settings, stack.runtime.catalog, stack.runtime.library)
    signal = BreachSignal(
        service="support-assistant",
        slo="language-gap",
        dimension="fairness",
        segment=Segment(key="language", value=lang),
        observed=7.4,
        objective=3.0,
        burn_rate=9.2,
        source="bench",
    )
    t0 = time.perf_counter()
    result = await submitter.submit(signal)
    accepted = time.perf_counter() - t0
    mitigated = verified = 0.0
    handle = stack.client.get_workflow_handle(result.incident_id)
    while True:
        now = time.perf_counter() - t0
        if not mitigated:
            flag = await stack.runtime.flags.get_flag(FLAG)
            if any(lang in c.values for r in flag.rules for c in r.clauses):
                mitigated = now
        state: IncidentState = await handle.query(QUERY_STATE, result_type=IncidentState)
        if any(s.id == "verify-segment" and s.status == "done" for s in state.steps):
            verified = time.perf_counter() - t0
            mitigated = mitigated or verified
            break
        if now > 60:
            raise RuntimeError(f"incident {result.incident_id} not verified within 60 s")
        await asyncio.sleep(0.005)
    # End it without waiting out the playbook (or the resolution hold-down): abort is immediate.
    await incident_control.abort(stack.client, result.incident_id, by="bench", reason="measured")
    await handle.result()
    return accepted, mitigated, verified


async def main(incidents: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            state_dir=Path(tmp),
            catalog_path=ROOT / "catalog" / "catalog.yaml",
            playbooks_path=ROOT / "playbooks",
        )
        async with embedded_stack(settings, fixed_ports=False) as stack:
            await one(stack, 999)  # warm-up: first workflow task, SDK, sqlite
            rows = []
            for n in range(incidents):
                rows.append(await one(stack, n))
                print(f"\r{n + 1}/{incidents}", end="", flush=True)
            print()
    for name, col in (("accepted", 0), ("mitigated", 1), ("verified", 2)):
        ms = [r[col] * 1000 for r in rows]
        print(
            f"{name:>9}: p50 {statistics.median(ms):7.1f} ms  p95 {pct(ms, 0.95):7.1f} ms"
            f"  max {max(ms):7.1f} ms  (n={len(ms)})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=30, help="incidents to measure (30)")
    asyncio.run(main(parser.parse_args().incidents))

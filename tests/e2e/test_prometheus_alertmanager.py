"""From the SLO definition to the verified recovery, with the real parts: the catalog's rules as
``orchestrator slo rules`` writes them (windows scaled down), Debian's Prometheus evaluating them
over a synthetic exporter, Debian's Alertmanager routing the alert to the orchestrator's
Alertmanager endpoint with its bearer token (over HTTP, uvicorn), the worker on the Temporal dev
server, and the flag change made through the LaunchDarkly REST adapter and read back through the
real LaunchDarkly SDK (streaming from the local LaunchDarkly server in tests/providers).

The worked example: Spanish task success drops from 0.93 to 0.85 while English stays at 0.94, a
gap of 9 points against an objective of 3. Spanish speakers must be routed to the human queue and
English speakers kept on the assistant; when Spanish recovers, the routing is undone and the
incident resolves. Run twice: the segment as the rule's grouping label (``language="es"``) and as
an explicit ``segment="language=es"`` label.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.config.settings import Settings
from orchestrator.domain.keys import incident_key
from orchestrator.ingest import create_app
from orchestrator.workflows.types import IncidentPhase
from tests.e2e.parts import (
    SliExporter,
    alertmanager,
    firing_alerts,
    missing_binaries,
    prometheus,
    write_yaml,
)
from tests.ingest.conftest import make_settings, seen_signatures_in, wall_clock
from tests.ingest.samples import AM_TOKEN
from tests.ingest.serving import served
from tests.workflows.conftest import HarnessFactory
from tests.workflows.harness import Harness
from tests.workflows.helpers import occurrence_of
from tests.workflows.ld_stack import launchdarkly_harness
from tests.workflows.signals import SPANISH, breach

SCALE = "1/1200"
"""Windows scaled so the test takes about a minute: 1h -> 3 s, 2h -> 6 s, 6h -> 18 s, 1d -> 72 s,
3d -> 216 s (Prometheus scrapes and evaluates every second)."""
FLAG = "support-assistant-answer-mode"
MITIGATION_BOUND = 45.0
"""Seconds from the Spanish drop to the SDK serving Spanish speakers the human queue: Prometheus
(1 s scrapes, windows filling), Alertmanager (1 s group wait), the orchestrator (well under 1 s)."""
RECOVERY_BOUND = 90.0
"""Seconds from Spanish recovering to the incident resolved: the 6h window (18 s here) letting go
of the drop, Alertmanager's resolved notice, the playbook's 15 s hold-down, then the undo."""

pytestmark = pytest.mark.skipif(
    bool(missing_binaries()),
    reason=f"{', '.join(missing_binaries())} not installed: apt-get install prometheus"
    " prometheus-alertmanager (.ci/run does)",
)


def generated_rules(folder: Path, segment_label: bool) -> Path:
    """The catalog's rules for the language-gap SLO, through the CLI as a user runs it."""
    everything = folder / "all-rules.yml"
    cli = Path(sys.executable).parent / "orchestrator"
    command = [str(cli), "slo", "rules", "--service", "support-assistant"]
    command += ["--window-scale", SCALE, "--out", str(everything)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    document = yaml.safe_load(everything.read_text(encoding="utf-8"))
    groups = [g for g in document["groups"] if "language-gap" in g["name"]]
    assert groups, f"no language-gap rules in {[g['name'] for g in document['groups']]}"
    for rule in (r for g in groups for r in g["rules"] if "alert" in r):
        # The generated alerts name the segment in an annotation too; take it away so that the
        # segment travels only as the label under test.
        rule.get("annotations", {}).pop("segment", None)
        if segment_label:
            rule["labels"]["segment"] = "language={{ $labels.language }}"
    return write_yaml(folder / "rules.yml", {"groups": groups})


@contextlib.asynccontextmanager
async def ingest_api(h: Harness, folder: Path) -> AsyncIterator[str]:
    """The orchestrator's ingest API over HTTP on a free port, submitting to the worker's
    Temporal server."""
    app = create_app(
        h.submitter(),
        make_settings(),
        catalog=h.runtime.catalog,
        seen_signatures=seen_signatures_in(folder),
        clock=wall_clock,
    )
    async with served(app) as (host, port):
        yield f"http://{host}:{port}"


async def eventually(what: str, bound: float, check: Any, progress: Any) -> float:
    """Poll ``check`` until true; the seconds it took, or fail naming what was awaited."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < bound:
        if await check():
            return loop.time() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not within {bound:g} s; {progress()}")


@pytest.mark.parametrize("segment_label", [False, True], ids=["language-label", "segment-label"])
async def test_spanish_gap_from_prometheus_to_recovery(
    make_dev_harness: HarnessFactory, settings: Settings, tmp_path: Path, segment_label: bool
) -> None:
    rules = generated_rules(tmp_path, segment_label)
    exporter = SliExporter(
        "ai_cx_task_judgements_total", {"service": "support-assistant"}, rate=50.0
    )
    exporter.set_success(es=0.93, en=0.94)
    async with (
        launchdarkly_harness(make_dev_harness, settings) as stack,
        ingest_api(stack.harness, tmp_path) as api,
    ):
        h = stack.harness
        with (
            exporter.serving() as target,
            alertmanager(tmp_path / "am", f"{api}/v1/signals/alertmanager", AM_TOKEN) as am,
            prometheus(tmp_path / "prom", rules, target, am.url) as prom,
        ):

            def progress() -> str:
                alerts = [(a["state"], a["labels"].get("tier")) for a in firing_alerts(prom.url)]
                return f"Prometheus alerts {alerts}; Alertmanager log:\n{am.tail(5)}"

            async def serves(language: str, variation: str) -> bool:
                return await h.served(FLAG, "language", language) == variation

            await asyncio.sleep(8)  # a healthy baseline: nothing fires, nothing changes
            assert firing_alerts(prom.url) == [], progress()
            assert await serves("es", "assistant")

            exporter.set_success(es=0.85)
            took = await eventually(
                "Spanish speakers routed to humans",
                MITIGATION_BOUND,
                lambda: serves("es", "human-queue"),
                progress,
            )
            print(f"\ndrop -> es served human-queue in {took:.1f} s ({segment_label=})")
            assert await serves("en", "assistant")

            key = incident_key(
                breach("language-gap", segment=SPANISH),
                h.runtime.catalog,
                h.runtime.library,
                h.runtime.settings.workflow_id_prefix,
            )
            h.started.add(key)
            incident = await occurrence_of(h.client, key)
            h.started.add(incident)
            state = await h.state(incident)
            # Scoped to Spanish speakers (not SEV1 for all users), mitigated without approval.
            assert "scope segment" in state.severity_explanation, state.severity_explanation
            assert state.severity in ("SEV2", "SEV3"), state.severity_explanation
            # The SDK can see the change before the workflow has recorded it: wait for the record.

            async def audited() -> bool:
                return await h.applied(incident, "route-segment-to-humans") == 1

            await eventually("the routing change audited once", 15.0, audited, progress)

            exporter.set_success(es=0.93)

            async def resolved() -> bool:
                return (await h.state(incident)).phase is IncidentPhase.RESOLVED

            took = await eventually("the incident resolved", RECOVERY_BOUND, resolved, progress)
            print(f"recovery -> incident resolved in {took:.1f} s")
            assert await h.undone(incident, "route-segment-to-humans")
            assert await serves("es", "assistant")
            assert await serves("en", "assistant")

"""10,000 deliveries for 100 incident keys: exactly 100 incidents, every delivery counted, and
/healthz answering throughout."""

from __future__ import annotations

from pathlib import Path

import httpx
import structlog

from orchestrator.domain.catalog import Catalog
from orchestrator.ingest import IngestMetrics, create_app
from tests.ingest.conftest import make_settings, seen_signatures_in, wall_clock
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.storm import incident_keys, run_storm, storm_catalog

DELIVERIES = 10_000


async def test_alert_storm(catalog: Catalog, tmp_path: Path) -> None:
    big = storm_catalog(catalog, 20)
    keys = incident_keys(big)
    assert len(keys) == 100
    submitter = MemorySubmitter(big)
    metrics = IngestMetrics()
    seen = seen_signatures_in(tmp_path)
    app = create_app(
        submitter, make_settings(), metrics, catalog=big, seen_signatures=seen, clock=wall_clock
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://storm") as client:
        with structlog.testing.capture_logs() as logs:
            report = await run_storm(client, keys, deliveries=DELIVERIES, concurrency=64)
        page = (await client.get("/metrics")).text
    print(
        f"\nstorm: {DELIVERIES} deliveries in {report.seconds:.1f} s,"
        f" {report.health_checks} health checks, slowest {report.slowest_health_check:.3f} s"
    )
    assert report.statuses == {202: DELIVERIES}
    assert len(submitter.incidents) == 100
    assert (submitter.started, submitter.joined) == (100, DELIVERIES - 100)
    assert len(submitter.submitted) == DELIVERIES
    assert (
        metrics.value(
            "orchestrator_ingest_deliveries_total", source="alertmanager", outcome="accepted"
        )
        == DELIVERIES
    )
    assert (
        metrics.value(
            "orchestrator_ingest_signals_total", source="alertmanager", outcome="accepted"
        )
        == DELIVERIES
    )
    assert (
        metrics.value("orchestrator_ingest_request_duration_seconds_count", source="alertmanager")
        == DELIVERIES
    )
    assert (
        f'orchestrator_ingest_deliveries_total{{outcome="accepted",source="alertmanager"}}'
        f" {float(DELIVERIES)}" in page
    )
    assert report.health_checks >= 20
    assert report.health_failures == 0
    assert not [e for e in logs if e["log_level"] in ("warning", "error")]

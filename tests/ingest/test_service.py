"""Health, readiness, metrics, the OpenAPI document, and the extension point."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orchestrator.ingest import IngestMetrics, LabelMapping, create_app
from orchestrator.ingest.openapi import build_openapi
from tests.ingest.conftest import make_settings, seen_signatures_in
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.samples import ALERTMANAGER_V4, AM_TOKEN, bearer, body_of

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_follows_the_submitter(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    assert (await client.get("/readyz")).status_code == 200
    submitter.available = False
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


async def test_readyz_survives_a_broken_probe(catalog: object, tmp_path: Path) -> None:
    class Broken(MemorySubmitter):
        async def ready(self) -> bool:
            raise ConnectionError("boom")

    seen = seen_signatures_in(tmp_path)
    app = create_app(Broken(catalog), make_settings(), seen_signatures=seen)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/readyz")).status_code == 503


async def test_metrics_text_format(client: httpx.AsyncClient) -> None:
    await client.post(
        "/v1/signals/alertmanager", content=body_of(ALERTMANAGER_V4), headers=bearer(AM_TOKEN)
    )
    await client.post("/v1/signals/alertmanager", content=b"{}", headers=bearer("nope"))
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE orchestrator_ingest_deliveries_total counter" in text
    assert (
        'orchestrator_ingest_deliveries_total{outcome="accepted",source="alertmanager"} 1.0' in text
    )
    assert (
        'orchestrator_ingest_deliveries_total{outcome="unauthorized",source="alertmanager"} 1.0'
        in text
    )
    assert 'orchestrator_ingest_signals_total{outcome="accepted",source="alertmanager"} 2.0' in text
    assert 'orchestrator_ingest_incidents_total{status="accepted"} 1.0' in text
    assert 'orchestrator_ingest_incidents_total{status="no-open-incident"} 1.0' in text
    assert "# TYPE orchestrator_ingest_request_duration_seconds histogram" in text
    assert (
        'orchestrator_ingest_request_duration_seconds_bucket{le="+Inf",source="alertmanager"} 2.0'
        in text
    )
    assert 'orchestrator_ingest_request_duration_seconds_count{source="alertmanager"} 2.0' in text


def test_label_values_are_escaped() -> None:
    metrics = IngestMetrics()
    metrics.deliveries.labels(source='a"b\\c\nd', outcome="x").inc()
    assert 'source="a\\"b\\\\c\\nd"' in metrics.render()


async def test_served_openapi_equals_the_file(client: httpx.AsyncClient) -> None:
    served_yaml = await client.get("/openapi.yaml")
    assert served_yaml.status_code == 200
    assert served_yaml.text == DOC.read_text(encoding="utf-8"), (
        "docs/openapi.yaml is stale: run `python -m orchestrator.ingest docs/openapi.yaml`"
    )
    served_json = (await client.get("/openapi.json")).json()
    assert served_json == yaml.safe_load(DOC.read_text(encoding="utf-8"))
    assert set(served_json["paths"]) >= {
        "/v1/signals/alertmanager",
        "/v1/signals/grafana",
        "/v1/signals",
        "/healthz",
        "/readyz",
        "/metrics",
    }


async def test_extra_routes_plug_in(catalog: object, tmp_path: Path) -> None:
    async def incidents(request: Request) -> JSONResponse:
        submitter = request.app.state.submitter
        return JSONResponse({"open": sorted(submitter.incidents)})

    extra_doc = {"/v1/open-keys": {"get": {"summary": "Open incident keys", "responses": {}}}}
    app = create_app(
        MemorySubmitter(catalog),  # type: ignore[arg-type]
        make_settings(),
        extra_routes=[Route("/v1/open-keys", incidents)],
        extra_openapi_paths=extra_doc,
        seen_signatures=seen_signatures_in(tmp_path),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/v1/open-keys")).json() == {"open": []}
        served = (await c.get("/openapi.json")).json()
    assert served["paths"]["/v1/open-keys"] == extra_doc["/v1/open-keys"]
    assert "/v1/open-keys" not in build_openapi()["paths"]
    assert "/v1/incidents/{incident_id}/approve" in build_openapi()["paths"]


def _yaml_blocks(text: str) -> list[str]:
    return [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]


def test_documented_configurations_parse() -> None:
    """The alertmanager.yml receiver, the Grafana contact point and the mapping file in
    docs/ingest.md are valid YAML that point at real endpoints."""
    text = (DOC.parent / "ingest.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in _yaml_blocks(text)]
    paths = build_openapi()["paths"]
    alertmanager = next(b for b in blocks if "receivers" in b)
    [webhook] = next(r for r in alertmanager["receivers"] if r["name"] == "orchestrator")[
        "webhook_configs"
    ]
    assert webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    assert "/" + webhook["url"].split("/", 3)[3] in paths
    grafana = next(b for b in blocks if "contactPoints" in b)
    settings = grafana["contactPoints"][0]["receivers"][0]["settings"]
    assert "/" + settings["url"].split("/", 3)[3] in paths
    assert settings["hmacConfig"]["header"] == "X-Grafana-Alerting-Signature"
    mapping = next(b for b in blocks if "tier_burn_rates" in b)
    assert LabelMapping.model_validate(mapping).service == ("app", "service")

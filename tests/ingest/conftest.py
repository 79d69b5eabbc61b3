from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from orchestrator.audit.seen import SeenSignatures, open_seen_signatures
from orchestrator.domain.catalog import Catalog, parse_catalog
from orchestrator.ingest import IngestMetrics, IngestSettings, SourceAuth, create_app
from orchestrator.secrets import Secret
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.samples import (
    AM_TOKEN,
    GENERIC_TOKEN,
    GRAFANA_HMAC,
    GRAFANA_TOKEN,
    GRAFANA_TS_HEADER,
)

CATALOG_PATH = Path(__file__).resolve().parents[2] / "catalog" / "catalog.yaml"


def load_catalog() -> Catalog:
    return parse_catalog(CATALOG_PATH.read_text(encoding="utf-8"), str(CATALOG_PATH))


def make_settings(**overrides: object) -> IngestSettings:
    values: dict[str, object] = {
        "auth": {
            "alertmanager": SourceAuth(tokens=(Secret(AM_TOKEN),)),
            "grafana": SourceAuth(
                tokens=(Secret(GRAFANA_TOKEN),),
                hmac_secrets=(Secret(GRAFANA_HMAC),),
                signature_header="X-Grafana-Alerting-Signature",
                timestamp_header=GRAFANA_TS_HEADER,
            ),
            "generic": SourceAuth(tokens=(Secret(GENERIC_TOKEN),)),
        },
    }
    values.update(overrides)
    return IngestSettings(**values)  # type: ignore[arg-type]


def wall_clock() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)


def seen_signatures_in(folder: Path | str, window_seconds: int = 300) -> SeenSignatures:
    """The replay cache in a SQLite audit database in ``folder`` (":memory:" for one process)."""
    where = folder if folder == ":memory:" else Path(folder) / "audit.db"
    return open_seen_signatures(f"sqlite:///{where}", window_seconds=window_seconds)


@pytest.fixture
async def seen_signatures(tmp_path: Path) -> AsyncIterator[SeenSignatures]:
    seen = seen_signatures_in(tmp_path)
    yield seen
    await seen.close()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def submitter(catalog: Catalog) -> MemorySubmitter:
    return MemorySubmitter(catalog)


@pytest.fixture
def ingest_settings() -> IngestSettings:
    return make_settings()


@pytest.fixture
def metrics() -> IngestMetrics:
    return IngestMetrics()


@pytest.fixture
def app(
    submitter: MemorySubmitter,
    ingest_settings: IngestSettings,
    metrics: IngestMetrics,
    catalog: Catalog,
    seen_signatures: SeenSignatures,
) -> Starlette:
    return create_app(
        submitter,
        ingest_settings,
        metrics,
        catalog=catalog,
        seen_signatures=seen_signatures,
        clock=wall_clock,
    )


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as c:
        yield c

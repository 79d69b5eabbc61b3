"""A worker checks the catalog and playbooks when it starts and keeps none of them
(workers/runtime.py): its workflows carry their service and playbooks, and a large catalog held
for nothing was most of an idle worker's memory (docs/BENCHMARKS.md). The API reads them when
first asked, as before.
"""

from __future__ import annotations

import dataclasses
import gc
import uuid
from pathlib import Path

import pytest
import yaml

from orchestrator.config.files import load_catalog
from orchestrator.config.settings import Settings
from orchestrator.domain.catalog import Catalog, Service
from orchestrator.errors import CatalogError
from workers.runtime import build_runtime

ROOT = Path(__file__).resolve().parents[2]


def alive(name: str) -> int:
    """Services of that name anywhere in the process, after a full collection."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Service) and o.name == name)


async def test_the_checked_catalog_is_not_kept_and_is_read_again_when_asked(
    settings: Settings, tmp_path: Path
) -> None:
    shipped = load_catalog(ROOT / "catalog" / "catalog.yaml")
    name = f"probe-{uuid.uuid4().hex[:8]}"
    probe = shipped.services[0].model_copy(update={"name": name})
    catalog = Catalog(dimensions=shipped.dimensions, services=(*shipped.services, probe))
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog.model_dump(mode="json", exclude_none=True)))
    (tmp_path / "safety.yaml").write_text((ROOT / "catalog" / "safety.yaml").read_text())
    del shipped, probe, catalog

    async with build_runtime(dataclasses.replace(settings, catalog_path=path)) as runtime:
        assert alive(name) == 0  # checked at start, then dropped
        assert runtime.catalog.service(name).name == name  # what the API asks for: read again
        assert runtime.catalog is runtime.catalog  # once
        assert alive(name) == 1


async def test_a_bad_catalog_still_stops_the_worker_at_start(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("services:\n  - name: no-owner\n")
    (tmp_path / "safety.yaml").write_text((ROOT / "catalog" / "safety.yaml").read_text())
    with pytest.raises(CatalogError, match="owner"):
        async with build_runtime(dataclasses.replace(settings, catalog_path=path)):
            raise AssertionError("a worker started on a catalog that does not validate")

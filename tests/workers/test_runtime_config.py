"""``orchestrator worker`` checks the catalog and playbooks when it starts and keeps none of them
(workers/runtime.py): its workflows carry their service and playbooks, and a large catalog held
for nothing was most of an idle worker's memory (docs/BENCHMARKS.md). The API keeps the ones it
checked.
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


def probe_catalog(tmp_path: Path) -> tuple[Path, str]:
    """The shipped catalog plus a service of a name no other test uses."""
    shipped = load_catalog(ROOT / "catalog" / "catalog.yaml")
    name = f"probe-{uuid.uuid4().hex[:8]}"
    probe = shipped.services[0].model_copy(update={"name": name})
    catalog = Catalog(dimensions=shipped.dimensions, services=(*shipped.services, probe))
    return config_dir(
        tmp_path, yaml.safe_dump(catalog.model_dump(mode="json", exclude_none=True))
    ), name


def config_dir(tmp_path: Path, catalog_text: str) -> Path:
    """A catalog file with the shipped safety limits beside it; its path."""
    path = tmp_path / "catalog.yaml"
    path.write_text(catalog_text)
    (tmp_path / "safety.yaml").write_text((ROOT / "catalog" / "safety.yaml").read_text())
    return path


async def test_a_worker_drops_the_catalog_it_checked_and_reads_it_again_if_asked(
    settings: Settings, tmp_path: Path
) -> None:
    path, name = probe_catalog(tmp_path)
    checked = dataclasses.replace(settings, catalog_path=path)
    async with build_runtime(checked, keep_config=False) as runtime:
        assert alive(name) == 0  # checked at start, then dropped
        assert runtime.catalog.service(name).name == name  # read again when asked
        assert runtime.catalog is runtime.catalog  # once
        assert alive(name) == 1


async def test_the_api_keeps_the_catalog_it_checked(settings: Settings, tmp_path: Path) -> None:
    path, name = probe_catalog(tmp_path)
    async with build_runtime(dataclasses.replace(settings, catalog_path=path)) as runtime:
        assert alive(name) == 1
        path.write_text("services:\n  - name: changed-since\n")  # not read again
        assert runtime.catalog.service(name).name == name


async def test_a_bad_catalog_still_stops_the_worker_at_start(
    settings: Settings, tmp_path: Path
) -> None:
    path = config_dir(tmp_path, "services:\n  - name: no-owner\n")
    with pytest.raises(CatalogError, match="owner"):
        async with build_runtime(dataclasses.replace(settings, catalog_path=path)):
            raise AssertionError("a worker started on a catalog that does not validate")

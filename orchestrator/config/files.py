"""The file loaders: catalog, safety limits and playbooks, each validated into types at start-up.

One place that reads them, so the worker, the API and the CLI agree on what a file means; each
problem is a ConfigError / CatalogError / PlaybookError naming the file (and the field).
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.config.playbook_files import load_library
from orchestrator.config.settings import Settings
from orchestrator.domain.catalog import Catalog, parse_catalog
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.policy_limits import SafetyLimits, parse_safety_limits
from orchestrator.errors import ConfigError

SAFETY_FILE = "safety.yaml"
"""Circuit-breaker limits, read from beside the catalog file when present."""


def load_catalog(path: Path) -> Catalog:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read catalog {path}: {exc.strerror}") from exc
    return parse_catalog(text, str(path))


def load_safety_limits(catalog_path: Path) -> SafetyLimits:
    """The limits in ``safety.yaml`` beside the catalog; the defaults when there is none."""
    path = catalog_path.with_name(SAFETY_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SafetyLimits()
    except OSError as exc:
        raise ConfigError(f"cannot read safety limits {path}: {exc.strerror}") from exc
    return parse_safety_limits(text, str(path))


def load_catalog_and_playbooks(settings: Settings) -> tuple[Catalog, PlaybookLibrary]:
    return load_catalog(settings.catalog_path), load_library(settings.playbooks_path)

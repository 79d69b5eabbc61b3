"""Which incident key a signal belongs to: service + SLO, and the segment when per-segment."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.client.occurrences import is_occurrence_id
from orchestrator.config.playbook_files import load_library
from orchestrator.domain.catalog import parse_catalog
from orchestrator.domain.keys import incident_key
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus, segment_tag
from orchestrator.errors import ValidationError

ROOT = Path(__file__).resolve().parents[2]
CATALOG = parse_catalog((ROOT / "catalog" / "catalog.yaml").read_text(), "catalog.yaml")
SHIPPED = load_library(ROOT / "playbooks")
PER_SEGMENT = PlaybookLibrary(
    playbooks=tuple(
        p.model_copy(update={"per_segment": p.name == "fairness-language-gap"})
        for p in SHIPPED.playbooks
    )
)
BASE = "incident-support-assistant--language-gap"


def gap(segment: str | None, **changes: object) -> BreachSignal:
    return BreachSignal(
        service="support-assistant",
        slo="language-gap",
        dimension="fairness",
        segment=Segment.parse(segment) if segment else None,
        source="test",
        **changes,  # type: ignore[arg-type]
    )


def test_the_key_is_service_and_slo_unless_the_playbook_is_per_segment() -> None:
    assert incident_key(gap("language=es"), CATALOG, SHIPPED) == BASE
    assert incident_key(gap("language=es"), CATALOG, PER_SEGMENT) == f"{BASE}@language=es"
    assert incident_key(gap("language=fr"), CATALOG, PER_SEGMENT) == f"{BASE}@language=fr"
    assert incident_key(gap(None), CATALOG, PER_SEGMENT) == BASE, "no segment: the SLO's key"
    assert incident_key(gap("language=es"), CATALOG, PER_SEGMENT, "staging").startswith(
        "staging-support-assistant--language-gap@"
    )


def test_a_resolution_meets_its_firing_at_the_same_key() -> None:
    firing = gap("language=es")
    resolved = gap("language=es", status=SignalStatus.RESOLVED)
    assert incident_key(firing, CATALOG, PER_SEGMENT) == incident_key(
        resolved, CATALOG, PER_SEGMENT
    )


@pytest.mark.parametrize(
    "value",
    ["es--2026", "x" * 200, "es mx", "españa", "a/b"],
)
def test_segments_that_would_blur_an_id_are_digested(value: str) -> None:
    tag = segment_tag(Segment(key="language", value=value))
    assert tag.startswith("h") and "=" not in tag and len(tag) == 21
    key = incident_key(gap(f"language={value}"), CATALOG, PER_SEGMENT)
    assert not is_occurrence_id(key), "a key never looks like an occurrence"
    assert is_occurrence_id(f"{key}--20261203-090000")


def test_distinct_segments_get_distinct_keys() -> None:
    values = ["es", "es-mx", "es--mx", "es mx", "fr", "x" * 81, "x" * 82]
    keys = {incident_key(gap(f"language={v}"), CATALOG, PER_SEGMENT) for v in values}
    assert len(keys) == len(values)


def test_a_named_playbook_decides_and_must_fit_the_service() -> None:
    launched = gap("language=es", playbook="fairness-language-gap")
    assert incident_key(launched, CATALOG, PER_SEGMENT) == f"{BASE}@language=es"
    with pytest.raises(ValidationError, match="unknown playbook"):
        incident_key(gap("language=es", playbook="nope"), CATALOG, PER_SEGMENT)

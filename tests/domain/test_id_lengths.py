"""Every id the workflows build fits the model that takes it (issue 10, defect 2).

The longest names the catalog and settings allow (a 32-character prefix, 63-character service and
SLO names, a segment) give the longest key and occurrence id; the keys built from them for
freezes, reviews and pages, and the audit's event keys, are fitted to their models' limits.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.audit.model import AuditEvent, AuditKind
from orchestrator.config.settings import Settings
from orchestrator.domain.keys import fit
from orchestrator.domain.ops_models import FreezeRequest, PageRequest
from orchestrator.domain.signals import Segment, workflow_id_for
from orchestrator.errors import ConfigError
from orchestrator.workflows.auditing import MAX_EVENT_KEY
from orchestrator.workflows.incident_key import occurrence_id
from orchestrator.workflows.live import MAX_EFFECT_KEY

PREFIX = "p" * 32
NAME = "-".join(["abcdefghijklmnopqrstuvwxyz0123"] * 2)[:63]
SEGMENTS = [Segment(key="language", value="x" * 48), Segment(key="k" * 64, value="v" * 256)]


@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_the_longest_occurrence_id_fits_the_audit(segment: Segment | None) -> None:
    key = workflow_id_for(NAME, NAME, PREFIX, segment)
    occurrence = occurrence_id(key, "20261203-091403", 998, f"{key}--20261203-091403")
    assert len(occurrence) <= 256  # AuditEvent.incident_id
    event_key = fit(f"{occurrence}/{'r' * 36}/signal/{'d' * 256}", MAX_EVENT_KEY)
    AuditEvent(
        event_key=event_key,
        incident_id=occurrence,
        kind=AuditKind.NOTE,
        at=datetime.now(UTC),
        actor="orchestrator",
    )
    effect_key = fit("/".join((occurrence, NAME, "freeze-prompt-releases-" + "s" * 40)), 200)
    assert effect_key == fit(effect_key, MAX_EFFECT_KEY)
    FreezeRequest(id=effect_key, service=NAME, component="prompt", reason="r", owner="o")
    PageRequest(key=effect_key, incident_id=occurrence, target="t", summary="s")


def test_fit_keeps_short_keys_and_keeps_long_ones_apart() -> None:
    assert fit("short", 200) == "short"
    a, b = "x" * 300 + "a", "x" * 300 + "b"
    assert len(fit(a, 200)) == 200 and fit(a, 200) != fit(b, 200)
    assert fit(a, 200) == fit(a, 200)


@pytest.mark.parametrize("prefix", ["p" * 33, "Upper", "two--hyphens", "-lead"])
def test_a_prefix_that_would_not_fit_is_refused_at_start(prefix: str) -> None:
    with pytest.raises(ConfigError, match="ORCHESTRATOR_WORKFLOW_ID_PREFIX must be 1 to 32"):
        Settings.from_env({"ORCHESTRATOR_WORKFLOW_ID_PREFIX": prefix})


def test_a_prefix_that_fits_is_taken() -> None:
    assert (
        Settings.from_env({"ORCHESTRATOR_WORKFLOW_ID_PREFIX": PREFIX}).workflow_id_prefix == PREFIX
    )
    assert Settings.from_env({}).workflow_id_prefix == "incident"

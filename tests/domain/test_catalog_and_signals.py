"""The catalog loads the worked example and reports bad catalogs by location; signals validate."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import yaml

from orchestrator.domain.catalog import Catalog, RiskTier, parse_catalog
from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus, workflow_id_for
from orchestrator.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]
CATALOG = (ROOT / "catalog" / "catalog.yaml").read_text()


def test_worked_example_catalog_has_the_five_slos() -> None:
    catalog = parse_catalog(CATALOG, "catalog.yaml")
    service = catalog.service("support-assistant")
    got = {(s.name, s.dimension, s.objective, s.comparison, s.window) for s in service.slos}
    assert got == {
        ("task-success", "accuracy", 0.92, ">=", "30d"),
        ("ttft-p95", "latency", 800, "<=", "7d"),
        ("final-answer-p95", "latency", 3500, "<=", "7d"),
        ("language-gap", "fairness", 3, "<=", "30d"),
        ("escalation-success", "reliability", 0.99, ">=", "30d"),
    }
    assert service.journey("account-and-payment-questions").risk_tier is RiskTier.HIGH
    assert service.flag("support-assistant-answer-mode") is not None
    assert service.versions["prompt"].known_good == "answer-prompt-v41"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services: [", "catalog.yaml:1"),
        ("- just a list", "must be a mapping"),
        ("services: []\nunknown: 1", "unknown: Extra inputs are not permitted"),
        (
            CATALOG.replace("journey: human-handoff", "journey: nowhere"),
            "unknown journey 'nowhere'",
        ),
        (CATALOG.replace("dimension: reliability", "dimension: vibes"), "dimension 'vibes'"),
        (CATALOG.replace("default: assistant", "default: robot"), "default 'robot'"),
        (CATALOG.replace("objective: 0.92", "objective: high"), "services[0].slos[0].objective"),
        (CATALOG.replace("name: support-assistant", "name: Support Assistant"), "services[0].name"),
    ],
)
def test_bad_catalogs_say_where(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as err:
        parse_catalog(text, "catalog.yaml")
    assert message in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        CATALOG,
        CATALOG.replace("objective: 0.92", "objective: 1"),
        CATALOG.replace("name: support-assistant", "name: 2026-01-01", 1),  # a YAML date
    ],
    ids=["worked-example", "int-objective", "a-date"],
)
def test_the_catalog_is_the_same_validated_from_json_or_from_the_parsed_tree(text: str) -> None:
    """parse_catalog validates from JSON (less memory held); the result, or the refusal, is
    what validating the parsed YAML gives."""
    data = yaml.safe_load(text)
    try:
        expected: Catalog | str = Catalog.model_validate(data)
    except pydantic.ValidationError as exc:
        expected = str(exc.errors()[0]["loc"])
    try:
        got: Catalog | str = parse_catalog(text, "catalog.yaml")
    except CatalogError as exc:
        got = str(exc)
    if isinstance(expected, str):
        assert isinstance(got, str)
    else:
        assert got == expected


def test_unknown_service_and_slo_are_named() -> None:
    catalog = parse_catalog(CATALOG, "catalog.yaml")
    with pytest.raises(CatalogError, match="unknown service 'billing'"):
        catalog.service("billing")
    with pytest.raises(CatalogError, match="no SLO 'uptime'"):
        catalog.service("support-assistant").slo("uptime")


def test_catalog_can_declare_other_dimensions() -> None:
    text = CATALOG.replace(
        "dimensions: [accuracy, latency, fairness, reliability]",
        "dimensions: [accuracy, latency, fairness, reliability, safety]",
    ).replace("dimension: reliability", "dimension: safety")
    catalog = parse_catalog(text, "catalog.yaml")
    assert catalog.service("support-assistant").slo("escalation-success").dimension == "safety"


def test_segment_parsing() -> None:
    assert Segment.parse("language=es") == Segment(key="language", value="es")
    for bad in ("language", "=es", "language=", "bad key=es"):
        with pytest.raises(ValueError):
            Segment.parse(bad)


@pytest.mark.parametrize(
    "changes",
    [
        {"service": "Support Assistant"},
        {"slo": "a--b"},
        {"burn_rate": -1},
        {"status": "maybe"},
        {"unknown_field": 1},
        {"dimension": ""},
    ],
)
def test_malformed_signals_are_refused(changes: dict[str, object]) -> None:
    fields = {"service": "support-assistant", "slo": "language-gap", "dimension": "fairness"}
    with pytest.raises(pydantic.ValidationError):
        BreachSignal.model_validate({**fields, **changes})


def test_dedupe_key_is_stable_and_given_keys_win() -> None:
    base = BreachSignal(service="s", slo="x", dimension="accuracy", source="am")
    assert base.with_dedupe_key().dedupe_key == base.with_dedupe_key().dedupe_key
    resolved = base.model_copy(update={"status": SignalStatus.RESOLVED})
    assert resolved.with_dedupe_key().dedupe_key != base.with_dedupe_key().dedupe_key
    assert base.model_copy(update={"dedupe_key": "fp-1"}).with_dedupe_key().dedupe_key == "fp-1"


def test_workflow_id_is_derived_from_the_incident_key() -> None:
    assert workflow_id_for("support-assistant", "language-gap") == (
        "incident-support-assistant--language-gap"
    )
    assert workflow_id_for("a", "b", prefix="staging") == "staging-a--b"


@pytest.mark.parametrize(
    "changes",
    [
        {"segment": {"key": "language", "value": "es\u0000"}},
        {"segment": {"key": "language", "value": "es\nforged line"}},
        {"actor": "maria\r"},
        {"labels": {"team": "cx\u0000"}},
        {"reason": "nul \u0000 inside"},
    ],
)
def test_control_characters_are_refused(changes: dict[str, object]) -> None:
    fields = {"service": "support-assistant", "slo": "language-gap", "dimension": "fairness"}
    with pytest.raises(pydantic.ValidationError, match="not allowed"):
        BreachSignal.model_validate({**fields, **changes})


def test_free_text_keeps_newlines() -> None:
    signal = BreachSignal(
        service="s",
        slo="x",
        dimension="accuracy",
        reason="line one\nline two",
        labels={"description": "multi\nline"},
    )
    assert signal.reason == "line one\nline two"

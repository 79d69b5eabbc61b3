"""Alerts as real rules send them: the segment from a ``by (language)`` grouping, the SLO named by a
Sloth, Pyrra or recording-rule style label, the observation in an annotation, the burn-rate tier."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orchestrator.domain.catalog import Catalog
from orchestrator.domain.policy_plan import assess
from orchestrator.domain.severity import Severity
from orchestrator.domain.signals import BreachSignal, Segment
from orchestrator.domain.slo_lookup import NotInCatalogError, SloNames, normalised
from orchestrator.ingest.mapping import number_in_text
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.samples import (
    AM_TOKEN,
    GENERIC_TOKEN,
    am_alert,
    am_payload,
    bearer,
    body_of,
)


def gap_alert(labels: dict[str, str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A fairness alert as a rule ``... by (language)`` fires it: the segment is a plain label."""
    alert = am_alert("support-assistant", "language-gap", "fp-gap")
    alert["labels"] = {"alertname": "SLOFairnessGap", **labels}
    alert["annotations"] = annotations or {}
    return alert


async def post_alerts(client: httpx.AsyncClient, *alerts: dict[str, Any]) -> httpx.Response:
    return await client.post(
        "/v1/signals/alertmanager",
        content=body_of(am_payload(list(alerts))),
        headers=bearer(AM_TOKEN),
    )


async def test_a_language_label_is_the_segment_and_keeps_the_incident_to_it(
    client: httpx.AsyncClient, submitter: MemorySubmitter, catalog: Catalog
) -> None:
    labels = {"service": "support-assistant", "slo": "language-gap", "language": "es"}
    response = await post_alerts(client, gap_alert(labels, {"observed": "9"}))
    assert response.status_code == 202, response.text
    signal = submitter.submitted[0]
    assert signal.segment == Segment(key="language", value="es")
    assert signal.dimension == "fairness"
    # The worked example's gap of 9 points against 3, scoped to Spanish speakers: SEV2, not the
    # SEV1 an all-users incident of the same figure gets.
    assert severity_of(signal, catalog) is Severity.SEV2
    unscoped = signal.model_copy(update={"segment": None})
    assert severity_of(unscoped, catalog) is Severity.SEV1


def severity_of(signal: BreachSignal, catalog: Catalog) -> Severity:
    return assess(*catalog.resolve(signal), signal).severity


async def test_an_explicit_segment_label_wins_over_the_grouping_label(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    labels = {
        "service": "support-assistant",
        "slo": "language-gap",
        "language": "es",
        "segment": "language=pt",
    }
    response = await post_alerts(client, gap_alert(labels))
    assert response.status_code == 202, response.text
    assert submitter.submitted[0].segment == Segment(key="language", value="pt")


async def test_a_label_the_slo_does_not_segment_by_is_not_a_segment(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    alert = am_alert("support-assistant", "task-success", "fp-ts")
    alert["labels"]["region"] = "eu"  # task-success is segmented by language only
    response = await post_alerts(client, alert)
    assert response.status_code == 202, response.text
    assert submitter.submitted[0].segment is None


@pytest.mark.parametrize(
    ("labels", "slo"),
    [
        ({"sloth_service": "support-assistant", "sloth_slo": "language-gap"}, "language-gap"),
        # Pyrra: the SLO object's name, service-prefixed, in the `slo` label
        ({"service": "support-assistant", "slo": "support-assistant-ttft-p95"}, "ttft-p95"),
        (
            {"service": "support-assistant", "pyrra": "support-assistant-task-success"},
            "task-success",
        ),
        # recording-rule habits: underscores, upper case, a dimension prefix
        ({"service": "support_assistant", "slo": "Support_Assistant_TTFT_P95"}, "ttft-p95"),
        ({"service": "support-assistant", "slo": "fairness-language-gap"}, "language-gap"),
        (
            {"service": "support-assistant", "slo": "support-assistant:fairness:language_gap"},
            "language-gap",
        ),
    ],
)
async def test_slo_names_match_after_normalisation(
    client: httpx.AsyncClient,
    submitter: MemorySubmitter,
    labels: dict[str, str],
    slo: str,
) -> None:
    alert = am_alert("x", "y", "fp-n")
    alert["labels"] = {"alertname": "SLOErrorBudgetBurn", **labels}
    response = await post_alerts(client, alert)
    assert response.status_code == 202, response.text
    signal = submitter.submitted[0]
    assert (signal.service, signal.slo) == ("support-assistant", slo)


async def test_an_unknown_slo_is_422_with_the_known_names(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    alert = am_alert("support-assistant", "tone-of-voice", "fp-u")
    alert["labels"]["dimension"] = "accuracy"  # a dimension label does not let it through
    response = await post_alerts(client, alert)
    assert response.status_code == 422, response.text
    message = response.json()["problems"][0]["message"]
    assert "no SLO 'tone-of-voice'" in message
    for name in ("task-success", "ttft-p95", "final-answer-p95", "language-gap"):
        assert name in message
    assert submitter.submitted == []


@pytest.mark.parametrize(
    ("annotations", "observed"),
    [
        ({"value": "0.85"}, 0.85),
        ({"observed": "9.000000000000002"}, 9.000000000000002),
        ({"summary": "Spanish task success observed 0.85 against an objective of 0.92"}, 0.85),
        ({"summary": "gap value: 9 points (objective 3)"}, 9.0),
        ({"summary": "Spanish task success is below the objective of 0.92"}, None),
        ({"summary": "p95 time to first token is back under 800 ms"}, None),
    ],
)
async def test_observed_from_the_annotations(
    client: httpx.AsyncClient,
    submitter: MemorySubmitter,
    annotations: dict[str, str],
    observed: float | None,
) -> None:
    labels = {"service": "support-assistant", "slo": "language-gap", "language": "es"}
    response = await post_alerts(client, gap_alert(labels, annotations))
    assert response.status_code == 202, response.text
    assert submitter.submitted[0].observed == observed


@pytest.mark.parametrize(
    ("labels", "burn_rate"),
    [
        ({"tier": "page"}, 14.4),
        ({"tier": "ticket"}, 3.0),
        ({"tier": "page", "burn_rate": "6"}, 6.0),
    ],
)
async def test_the_burn_rate_tier_feeds_the_rubric(
    client: httpx.AsyncClient,
    submitter: MemorySubmitter,
    labels: dict[str, str],
    burn_rate: float,
) -> None:
    alert = am_alert("x", "y", "fp-t")
    alert["labels"] = {"service": "support-assistant", "slo": "task-success", **labels}
    response = await post_alerts(client, alert)
    assert response.status_code == 202, response.text
    assert submitter.submitted[0].burn_rate == burn_rate


async def test_the_generic_signal_takes_its_segment_from_labels_too(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    item = {
        "service": "support-assistant",
        "slo": "fairness-language-gap",
        "labels": {"language": "es"},
        "dedupe_key": "eval-7",
    }
    response = await client.post(
        "/v1/signals", content=body_of(item), headers=bearer(GENERIC_TOKEN)
    )
    assert response.status_code == 202, response.text
    signal = submitter.submitted[0]
    assert (signal.slo, signal.segment) == ("language-gap", Segment(key="language", value="es"))


def test_normalisation_rules(catalog: Catalog) -> None:
    assert normalised("Support_Assistant:Task.Success") == "support-assistant-task-success"
    names = SloNames(catalog)
    with pytest.raises(
        NotInCatalogError, match=r"unknown service 'billing-bot'.*support-assistant"
    ):
        names.find("billing-bot", "anything")
    with pytest.raises(NotInCatalogError, match="known: task-success"):
        names.find("support-assistant", "support-assistant-latency")
    match = names.find("SUPPORT_ASSISTANT", "latency-ttft-p95")
    assert match.slo == "ttft-p95" and match.segment_by == ()
    assert names.find("support-assistant", "language-gap").segment_by == ("language",)


def test_number_in_text_reads_only_a_named_figure() -> None:
    assert number_in_text("observed=0.85") == 0.85
    assert number_in_text("Value is 1.5e-2 now") == 0.015
    assert number_in_text("objective 0.92, burning at 14.4x") is None
    assert number_in_text("observed value") is None

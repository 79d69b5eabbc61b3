"""Playbook files: the shipped library, errors collected across files, the catalog checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config.playbook_files import (
    check_against_catalog,
    load_library,
    load_playbook_file,
    validate_path,
)
from orchestrator.domain.actions import ACTIONS
from orchestrator.domain.catalog import Catalog, parse_catalog
from orchestrator.domain.playbook import PlaybookLibrary, parse_playbook
from orchestrator.domain.severity import Severity
from orchestrator.domain.signals import BreachSignal, Segment
from orchestrator.domain.step_args import render_step_args, should_run
from orchestrator.domain.templating import template_context
from orchestrator.errors import PlaybookError

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "playbooks"
CATALOG = ROOT / "catalog" / "catalog.yaml"


def catalog() -> Catalog:
    return parse_catalog(CATALOG.read_text(encoding="utf-8"), str(CATALOG))


def playbook_yaml(name: str, step: str = "") -> str:
    return (
        f"name: {name}\nmatch: {{dimensions: [accuracy], services: [support-assistant]}}\n"
        "steps:\n"
        + (step or "  - {id: w, action: incident.wait_for_recovery, args: {timeout_seconds: 9}}\n")
    )


def test_shipped_playbooks_validate_and_agree_with_the_catalog() -> None:
    assert validate_path(PLAYBOOKS) == []
    library = load_library(PLAYBOOKS)
    assert "graceful-fallback" in library.names
    assert check_against_catalog(library, catalog()) == []


SLO_ROWS = [
    # every row of the worked example's SLO table has its playbook
    ("task-success", "accuracy", "accuracy-task-success"),
    ("ttft-p95", "latency", "latency-ttft"),
    ("final-answer-p95", "latency", "latency-final-answer"),
    ("language-gap", "fairness", "fairness-language-gap"),
    ("escalation-success", "reliability", "reliability-escalation-success"),
]


@pytest.mark.parametrize(("slo", "dimension", "expected"), SLO_ROWS)
@pytest.mark.parametrize("severity", [Severity.SEV1, Severity.SEV2, Severity.SEV3])
def test_each_slo_row_selects_its_playbook(
    slo: str, dimension: str, expected: str, severity: Severity
) -> None:
    chosen = load_library(PLAYBOOKS).select("support-assistant", dimension, severity, slo)
    assert chosen is not None and chosen.name == expected


@pytest.mark.parametrize(("slo", "dimension", "_row"), SLO_ROWS)
def test_minor_breaches_open_a_review_only(slo: str, dimension: str, _row: str) -> None:
    chosen = load_library(PLAYBOOKS).select("support-assistant", dimension, Severity.SEV4, slo)
    assert chosen is not None and chosen.name == "minor-breach-review"
    assert {s.action for s in chosen.steps} == {"rca.open_review", "incident.wait_for_recovery"}


def test_building_blocks_run_only_when_launched_by_name() -> None:
    library = load_library(PLAYBOOKS)
    manual = {p.name for p in library.playbooks if p.manual_only}
    assert manual == {"graceful-fallback", "rollback-and-freeze"}
    for severity in Severity:
        for slo, dimension, _ in SLO_ROWS:
            chosen = library.select("support-assistant", dimension, severity, slo)
            assert chosen is None or chosen.name not in manual


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        (
            Segment(key="language", value="es"),
            {
                "route-segment-to-humans": {"attribute": "language", "values": ("es",)},
                "verify-segment": {"value": "es", "control_value": "en", "expect": "human-queue"},
                "wait-for-recovery": {"timeout_seconds": 14400},
            },
        ),
        (
            Segment(key="language", value="en"),
            {
                "route-segment-to-humans": {"values": ("en",)},
                "verify-segment": {"value": "en", "control_value": "fr"},
                "wait-for-recovery": {},
            },
        ),
        (
            None,
            {
                "route-everyone-to-retrieval": {"variation": "retrieval-only"},
                "hand-off-earlier": {"variation": "lowered"},
                "verify-everyone": {"expect": "retrieval-only"},
                "wait-for-recovery": {"on_timeout": "escalate"},
            },
        ),
    ],
)
def test_graceful_fallback_renders_for_the_spanish_incident(
    segment: Segment | None, expected: dict[str, dict[str, object]]
) -> None:
    playbook = load_playbook_file(PLAYBOOKS / "graceful-fallback.yaml")
    signal = BreachSignal(
        service="support-assistant", slo="language-gap", dimension="fairness", segment=segment
    )
    ctx = template_context(signal=signal.model_dump(mode="json"), severity="SEV2")
    ran = {}
    for step in playbook.steps:  # as the workflow does: each step that ran is visible to the next
        if should_run(step, ctx):
            ran[step.id] = render_step_args(step, ctx)
            ctx["steps"][step.id] = {}
    assert list(ran) == list(expected)
    for step_id, fields in expected.items():
        for field, value in fields.items():
            assert getattr(ran[step_id], field) == value


def test_problems_of_all_files_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(playbook_yaml("dup"))
    (tmp_path / "b.yml").write_text(playbook_yaml("dup"))
    (tmp_path / "c.yaml").write_text("name: c\nmatch: [oops\n")
    (tmp_path / "d.yaml").write_text(
        playbook_yaml(
            "d", "  - {id: x, action: flag.nope}\n  - {id: y, action: flag.set_default}\n"
        )
    )
    (tmp_path / "notes.txt").write_text("not a playbook")
    expected = [
        f"{tmp_path / 'b.yml'}: name: playbook 'dup' is already defined in {tmp_path / 'a.yaml'}",
        f"{tmp_path / 'c.yaml'}:3:1: invalid YAML",
        f"{tmp_path / 'd.yaml'}: steps[0] (x).action: unknown action 'flag.nope'",
        f"{tmp_path / 'd.yaml'}: steps[1] (y).args.flag: required",
        f"{tmp_path / 'd.yaml'}: steps[1] (y).args.variation: required",
    ]
    lines = validate_path(tmp_path)
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line
    with pytest.raises(PlaybookError) as caught:
        load_library(tmp_path)
    assert str(caught.value).splitlines() == lines


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        ("missing", "no such file or directory"),
        ("empty-dir", "no playbook files (*.yaml, *.yml) in this directory"),
        ("binary", "not UTF-8 text"),
    ],
)
def test_path_problems(tmp_path: Path, setup: str, fragment: str) -> None:
    target = tmp_path / "x.yaml"
    if setup == "empty-dir":
        target = tmp_path
    elif setup == "binary":
        target.write_bytes(b"\xff\xfe\x00bad")
    lines = validate_path(target)
    assert len(lines) == 1
    assert lines[0].startswith(str(target))
    assert fragment in lines[0]


def test_load_playbook_file_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        playbook_yaml("p", "  - {id: x, action: flag.nope}\n  - {id: x, action: a.b}\n")
    )
    with pytest.raises(PlaybookError) as caught:
        load_playbook_file(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert f"{path}: steps: duplicate step id 'x'" in lines


def _library(*texts: str) -> PlaybookLibrary:
    return PlaybookLibrary(playbooks=tuple(parse_playbook(t, "t.yaml") for t in texts))


ROUTE = (
    "  - id: r\n    action: flag.route_segment\n"
    "    args: {{flag: {flag}, attribute: language, values: [es], variation: {variation}}}\n"
)
VERIFY = (
    "  - id: v\n    action: flag.verify_segment\n"
    "    args: {{flag: {flag}, attribute: language, value: es, expect: {variation}}}\n"
)
NO_FLAG = "steps[0] (r).args.flag: service support-assistant declares no flag"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            playbook_yaml(
                "ok", ROUTE.format(flag="support-assistant-answer-mode", variation="human-queue")
            ),
            [],
        ),
        (
            playbook_yaml("p", ROUTE.format(flag="no-such-flag", variation="x")),
            [f"playbook 'p': {NO_FLAG} 'no-such-flag'"],
        ),
        (
            playbook_yaml(
                "p", VERIFY.format(flag="support-assistant-answer-mode", variation="humans")
            ),
            [
                "playbook 'p': steps[0] (v).args.expect: 'humans' is not a variation of"
                " support-assistant-answer-mode"
                " (variations: assistant, retrieval-only, human-queue)"
            ],
        ),
        (
            playbook_yaml(
                "p",
                ROUTE.format(flag="'{{ catalog_service.flags[0].key }}'", variation="'{{ 1 }}'"),
            ),
            [],
        ),
        (
            playbook_yaml("p").replace("services: [support-assistant]", "services: [ghost]"),
            [
                "playbook 'p': match.services: unknown service 'ghost'"
                " (catalog has: support-assistant)"
            ],
        ),
        (
            playbook_yaml("p").replace("dimensions: [accuracy]", "dimensions: [vibes]"),
            ["playbook 'p': match.dimensions: unknown dimension 'vibes'"],
        ),
        (
            playbook_yaml("generic", ROUTE.format(flag="other-flag", variation="x")).replace(
                ", services: [support-assistant]", ""
            ),
            [f"playbook 'generic': {NO_FLAG} 'other-flag'"],
        ),
    ],
)
def test_check_against_catalog(text: str, expected: list[str]) -> None:
    lines = check_against_catalog(_library(text), catalog())
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line


def test_reference_documents_every_action_and_argument() -> None:
    reference = (ROOT / "docs" / "playbooks.md").read_text(encoding="utf-8")
    for name, spec in ACTIONS.items():
        assert f"### `{name}` (`{spec.args_model.__name__}`)" in reference
        assert (
            f"| `{name}` | {'yes' if spec.destructive else 'no'} | {spec.description} |"
            in reference
        )
        for arg in spec.args_model.model_fields:
            assert f"| `{arg}` |" in reference, (name, arg)

"""Playbook schema: loading, every error kind with its location, and selection by specificity."""

from __future__ import annotations

import textwrap

import pydantic
import pytest

from orchestrator.domain.actions import ACTIONS
from orchestrator.domain.playbook import (
    Match,
    Playbook,
    PlaybookLibrary,
    Step,
    check_playbook_text,
    parse_playbook,
)
from orchestrator.domain.severity import Severity
from orchestrator.errors import NotFoundError, PlaybookError

SRC = "playbooks/test.yaml"
KNOWN = ", ".join(sorted(ACTIONS))

VALID = textwrap.dedent(
    """\
    name: fallback
    description: route the segment to humans
    match:
      dimensions: [fairness]
      severities: [SEV1, SEV2]
    steps:
      - id: route
        action: flag.route_segment
        when: signal.segment is not none
        timeout_seconds: 30
        args:
          flag: answer-mode
          attribute: "{{ signal.segment.key }}"
          values: ["{{ signal.segment.value }}", es-MX]
          variation: human-queue
      - id: wait
        action: incident.wait_for_recovery
        args: {timeout_seconds: 600}
    """
)


def test_valid_playbook_loads() -> None:
    playbook = parse_playbook(VALID, SRC)
    assert playbook.name == "fallback"
    assert playbook.match.severities == (Severity.SEV1, Severity.SEV2)
    assert playbook.match.services == ()
    route, wait = playbook.steps
    assert route.args["values"] == ["{{ signal.segment.value }}", "es-MX"]
    assert route.timeout_seconds == 30
    assert route.spec.destructive
    assert wait.timeout_seconds == 60.0
    assert wait.when is None
    assert playbook.step("wait") is wait


def test_severities_default_to_all() -> None:
    text = VALID.replace("  severities: [SEV1, SEV2]\n", "")
    assert parse_playbook(text, SRC).match.severities == tuple(Severity)


def _step_text(step: str) -> str:
    header = "name: p\nmatch: {dimensions: [accuracy]}\nsteps:\n"
    return header + textwrap.indent(textwrap.dedent(step), "  ")


ROUTE_ARGS = "{flag: f, attribute: language, values: [es], variation: v}"

ERROR_CASES = [
    ("bad yaml", "name: p\nmatch: [unclosed\nsteps: []\n", [f"{SRC}:3:", "invalid YAML"]),
    ("not a mapping", "- just\n- a list\n", [f"{SRC}: a playbook must be a mapping", "got a list"]),
    ("empty file", "", [f"{SRC}: a playbook must be a mapping", "got an empty file"]),
    (
        "unknown action",
        _step_text("- id: go\n  action: flag.rout_segment\n"),
        [
            f"{SRC}: steps[0] (go).action: unknown action 'flag.rout_segment'",
            f"known actions: {KNOWN}",
        ],
    ),
    (
        "missing arg",
        _step_text("- id: go\n  action: flag.set_default\n  args: {variation: v}\n"),
        [f"{SRC}: steps[0] (go).args.flag: required"],
    ),
    (
        "unknown arg",
        _step_text("- id: go\n  action: flag.set_default\n  args: {flag: f, variation: v, x: 1}\n"),
        [f"{SRC}: steps[0] (go).args.x: unknown argument for flag.set_default (allowed: flag"],
    ),
    (
        "literal arg of the wrong type",
        _step_text(
            "- id: go\n  action: flag.verify_segment\n  args: {flag: f, attribute: a, value: b,"
            " expect: c, within_seconds: soon}\n"
        ),
        [f"{SRC}: steps[0] (go).args.within_seconds: Input should be a valid number"],
    ),
    (
        "literal list arg empty",
        _step_text(
            "- id: go\n  action: flag.route_segment\n"
            "  args: {flag: f, attribute: a, values: [], variation: v}\n"
        ),
        [f"{SRC}: steps[0] (go).args.values: Tuple should have at least 1 item"],
    ),
    (
        "bad template syntax",
        _step_text(
            "- id: go\n  action: flag.set_default\n  args: {flag: f, variation: '{{ signal.x }'}\n"
        ),
        [f"{SRC}: steps[0] (go).args.variation: template syntax error: unexpected '}}'"],
    ),
    (
        "template in a list",
        _step_text(
            "- id: go\n  action: flag.route_segment\n"
            "  args: {flag: f, attribute: a, values: [es, '{{ segment.value }}'], variation: v}\n"
        ),
        [f"{SRC}: steps[0] (go).args.values[1]: template uses unknown name(s) segment (allowed:"],
    ),
    (
        "undeclared template variable",
        _step_text(
            "- id: go\n  action: flag.set_default\n  args: {flag: '{{ flag_key }}', variation: v}\n"
        ),
        [f"{SRC}: steps[0] (go).args.flag: template uses unknown name(s) flag_key"],
    ),
    (
        "undeclared name in when",
        _step_text(
            f"- id: go\n  action: flag.route_segment\n  when: segment\n  args: {ROUTE_ARGS}\n"
        ),
        [f"{SRC}: steps[0] (go).when: expression uses unknown name(s) segment"],
    ),
    (
        "when written as a template",
        _step_text(
            f"- id: go\n  action: flag.route_segment\n  when: '{{{{ signal.segment }}}}'\n"
            f"  args: {ROUTE_ARGS}\n"
        ),
        [f"{SRC}: steps[0] (go).when: 'when' is a Jinja expression"],
    ),
    (
        "bad when syntax",
        _step_text(
            f"- id: go\n  action: flag.route_segment\n  when: signal ==\n  args: {ROUTE_ARGS}\n"
        ),
        [f"{SRC}: steps[0] (go).when: expression syntax error"],
    ),
    (
        "duplicate step id",
        _step_text(
            "- id: go\n  action: incident.wait_for_recovery\n  args: {timeout_seconds: 1}\n"
            "- id: go\n  action: incident.wait_for_recovery\n  args: {timeout_seconds: 1}\n"
        ),
        [f"{SRC}: steps: duplicate step id 'go'"],
    ),
    (
        "bad severity",
        "name: p\nmatch: {dimensions: [accuracy], severities: [SEV1, SEV5]}\nsteps:\n"
        "  - {id: w, action: incident.wait_for_recovery, args: {timeout_seconds: 1}}\n",
        [f"{SRC}: match.severities[1]: Input should be 'SEV1', 'SEV2', 'SEV3' or 'SEV4'"],
    ),
    (
        "missing match",
        "name: p\nsteps:\n"
        "  - {id: w, action: incident.wait_for_recovery, args: {timeout_seconds: 1}}\n",
        [f"{SRC}: match: required"],
    ),
    (
        "no steps",
        "name: p\nmatch: {dimensions: [accuracy]}\nsteps: []\n",
        [f"{SRC}: steps: Tuple should have at least 1 item"],
    ),
    (
        "bad step timeout and id",
        _step_text(
            "- id: Go_Now\n  action: incident.wait_for_recovery\n  timeout_seconds: 0\n"
            "  args: {timeout_seconds: 1}\n"
        ),
        [
            f"{SRC}: steps[0] (Go_Now).id: String should match pattern",
            f"{SRC}: steps[0] (Go_Now).timeout_seconds: Input should be greater than 0",
        ],
    ),
    (
        "temporary effect that cannot be undone",
        _step_text("- id: w\n  action: page.oncall\n  temporary: true\n  args: {message: hi}\n"),
        [f"{SRC}: steps[0] (w).temporary: page.oncall cannot be undone, so it cannot be temporary"],
    ),
    (
        "approval with an unknown name in when",
        _step_text(
            f"- id: go\n  action: flag.route_segment\n  args: {ROUTE_ARGS}\n"
            "  approval: {when: sev == 1, timeout_seconds: 60, on_timeout: skip}\n"
        ),
        [f"{SRC}: steps[0] (go).approval.when: expression uses unknown name(s) sev"],
    ),
    (
        "approval without the outcome of a timeout",
        _step_text(
            f"- id: go\n  action: flag.route_segment\n  args: {ROUTE_ARGS}\n"
            "  approval: {timeout_seconds: 60, on_timeout: wait}\n"
        ),
        [f"{SRC}: steps[0] (go).approval.on_timeout: Input should be 'proceed', 'skip' or"],
    ),
    (
        "bad resolution policy",
        "name: p\nmatch: {dimensions: [accuracy]}\nresolution: {hold_down_seconds: -5}\nsteps:\n"
        "  - {id: w, action: incident.wait_for_recovery, args: {timeout_seconds: 1}}\n",
        [f"{SRC}: resolution.hold_down_seconds: Input should be greater than or equal to 0"],
    ),
    (
        "unknown step field",
        _step_text(
            "- id: w\n  action: incident.wait_for_recovery\n  timeout: 5\n"
            "  args: {timeout_seconds: 1}\n"
        ),
        [f"{SRC}: steps[0] (w).timeout: Extra inputs are not permitted"],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_errors_name_their_location(text: str, expected: list[str]) -> None:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, SRC)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message, message


def test_all_errors_of_a_file_are_reported_together_one_per_line() -> None:
    text = _step_text(
        "- id: a\n  action: flag.nope\n"
        "- id: b\n  action: flag.set_default\n  timeout_seconds: -1\n"
        "  args: {variation: '{{ x }}'}\n"
        "- id: c\n  action: flag.verify_segment\n  when: sig\n"
        "  args: {flag: f, attribute: a, value: b, expect: c, colour: red}\n"
    )
    playbook, lines = check_playbook_text(text, SRC)
    assert playbook is None
    assert sorted(lines) == sorted(
        [
            f"{SRC}: steps[1] (b).timeout_seconds: Input should be greater than 0",
            f"{SRC}: steps[0] (a).action: unknown action 'flag.nope' (known actions: {KNOWN})",
            f"{SRC}: steps[1] (b).args.flag: required",
            f"{SRC}: steps[1] (b).args.variation: template uses unknown name(s) x (allowed:"
            " catalog_service, incident, service, severity, signal, slo, steps)",
            f"{SRC}: steps[2] (c).args.colour: unknown argument for flag.verify_segment (allowed:"
            " flag, attribute, value, expect, control_value, context_kind, within_seconds)",
            f"{SRC}: steps[2] (c).when: expression uses unknown name(s) sig (allowed:"
            " catalog_service, incident, service, severity, signal, slo, steps)",
        ]
    )
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, SRC)
    assert str(caught.value).splitlines() == lines


def test_templated_values_are_not_type_checked_at_load() -> None:
    text = _step_text(
        "- id: w\n  action: incident.wait_for_recovery\n"
        "  args: {timeout_seconds: '{{ 3600 * 4 }}', on_timeout: '{{ \"fail\" }}'}\n"
    )
    assert parse_playbook(text, SRC).steps[0].args["timeout_seconds"] == "{{ 3600 * 4 }}"


def test_models_built_in_code_are_checked_too() -> None:
    with pytest.raises(pydantic.ValidationError, match="unknown action 'nope'"):
        Step(id="a", action="nope")
    with pytest.raises(pydantic.ValidationError, match=r"args\.timeout_seconds: required"):
        Step(id="a", action="incident.wait_for_recovery")
    wait = Step(id="a", action="incident.wait_for_recovery", args={"timeout_seconds": 1})
    with pytest.raises(pydantic.ValidationError, match="duplicate step ids"):
        Playbook(name="p", match=Match(dimensions=("accuracy",)), steps=(wait, wait))


def _playbook(
    name: str, severities: tuple[Severity, ...], services: tuple[str, ...] = ()
) -> Playbook:
    wait = Step(id="w", action="incident.wait_for_recovery", args={"timeout_seconds": 1})
    match = Match(dimensions=("accuracy", "fairness"), severities=severities, services=services)
    return Playbook(name=name, match=match, steps=(wait,))


ALL = tuple(Severity)
LIBRARY = PlaybookLibrary(
    playbooks=(
        _playbook("generic-all", ALL),
        _playbook("generic-severe", (Severity.SEV1, Severity.SEV2)),
        _playbook("assistant-all", ALL, ("support-assistant",)),
        _playbook("assistant-sev1", (Severity.SEV1,), ("support-assistant",)),
        _playbook("b-copilot", ALL, ("agent-copilot",)),
        _playbook("a-copilot", ALL, ("agent-copilot",)),
    )
)


@pytest.mark.parametrize(
    ("service", "dimension", "severity", "expected"),
    [
        ("support-assistant", "fairness", Severity.SEV1, "assistant-sev1"),
        ("support-assistant", "accuracy", Severity.SEV2, "assistant-all"),
        ("support-assistant", "accuracy", Severity.SEV4, "assistant-all"),
        ("recommender", "accuracy", Severity.SEV1, "generic-severe"),
        ("recommender", "accuracy", Severity.SEV3, "generic-all"),
        ("agent-copilot", "fairness", Severity.SEV2, "a-copilot"),  # tie: name order
        ("support-assistant", "latency", Severity.SEV1, None),
    ],
)
def test_select_picks_the_most_specific(
    service: str, dimension: str, severity: Severity, expected: str | None
) -> None:
    chosen = LIBRARY.select(service, dimension, severity)
    assert (chosen.name if chosen else None) == expected


def test_candidates_for_lists_all_matches_most_specific_first() -> None:
    names = [p.name for p in LIBRARY.candidates_for("support-assistant", "accuracy")]
    assert names == ["assistant-sev1", "assistant-all", "generic-severe", "generic-all"]
    assert LIBRARY.candidates_for("support-assistant", "latency") == ()


def test_by_name() -> None:
    assert LIBRARY.by_name("generic-all").name == "generic-all"
    with pytest.raises(NotFoundError, match="unknown playbook 'nope'"):
        LIBRARY.by_name("nope")


def test_library_rejects_duplicate_names() -> None:
    with pytest.raises(pydantic.ValidationError, match="duplicate playbook names"):
        PlaybookLibrary(playbooks=(_playbook("x", ALL), _playbook("x", ALL)))


POLICY = textwrap.dedent(
    """\
    name: rollback
    match: {dimensions: [fairness], slos: [language-gap]}
    resolution: {hold_down_seconds: 30}
    on_failure: {compensate: true}
    steps:
      - id: fallback
        action: flag.route_segment
        temporary: true
        args: {flag: f, attribute: language, values: [es], variation: human-queue}
      - id: pin
        action: deploy.pin_version
        compensate: false
        approval:
          when: severity == 'SEV1'
          timeout_seconds: 900
          on_timeout: escalate
          two_person: true
        args: {component: prompt}
    """
)


def test_policy_fields_load() -> None:
    playbook = parse_playbook(POLICY, SRC)
    fallback, pin = playbook.steps
    assert fallback.temporary and fallback.compensate and fallback.approval is None
    assert not pin.temporary and not pin.compensate
    assert pin.approval is not None and pin.approval.two_person
    assert pin.approval.on_timeout == "escalate"
    assert playbook.resolution.hold_down_seconds == 30
    assert playbook.resolution.max_open_seconds == 24 * 3600
    assert playbook.on_failure.compensate and playbook.on_failure.page
    assert playbook.match.slos == ("language-gap",)
    assert not playbook.manual_only


def test_naming_the_slo_is_most_specific_and_manual_only_is_never_selected() -> None:
    row = _playbook("row", ALL, ("support-assistant",)).model_copy(
        update={"match": Match(dimensions=("accuracy",), slos=("task-success",))}
    )
    manual = _playbook("manual", (Severity.SEV1,), ("support-assistant",)).model_copy(
        update={"manual_only": True}
    )
    library = PlaybookLibrary(playbooks=(*LIBRARY.playbooks, row, manual))
    sev1 = Severity.SEV1
    assert library.select("support-assistant", "accuracy", sev1, "task-success").name == "row"
    chosen = library.select("support-assistant", "accuracy", sev1, "other-slo")
    assert chosen is not None and chosen.name == "assistant-sev1"
    assert library.select("support-assistant", "accuracy", sev1).name == "row"  # any SLO
    names = [p.name for p in library.candidates_for("support-assistant", "accuracy", "other")]
    assert "manual" not in names and "row" not in names
    assert library.by_name("manual").manual_only

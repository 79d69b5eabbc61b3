"""Templates and conditions: native values, strict undefined names, the sandbox, conditions."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.domain.actions import RouteSegmentArgs, WaitForRecoveryArgs
from orchestrator.domain.playbook import Step
from orchestrator.domain.signals import BreachSignal, Segment
from orchestrator.domain.step_args import render_step_args, should_run
from orchestrator.domain.templating import (
    CONTEXT_NAMES,
    check_expression,
    check_template,
    evaluate_condition,
    render_value,
    template_context,
)
from orchestrator.errors import PlaybookError

SPANISH = Segment(key="language", value="es")


def context(segment: Segment | None = SPANISH) -> dict[str, Any]:
    signal = BreachSignal(
        service="support-assistant", slo="language-gap", dimension="fairness", segment=segment
    )
    ctx = template_context(
        signal=signal.model_dump(mode="json"),
        severity="SEV2",
        incident={"id": "incident-support-assistant--language-gap"},
        steps={"route": {"ok": True, "served": ["es", "pt"]}},
    )
    ctx["xs"] = [1, 2, 3]
    return ctx


def test_context_has_exactly_the_documented_names() -> None:
    assert set(template_context(signal={"service": "s"}, severity="SEV1")) == CONTEXT_NAMES


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{ xs }}", [1, 2, 3]),
        ("{{xs}}", [1, 2, 3]),
        ("{{ steps.route.served }}", ["es", "pt"]),
        ("{{ xs | map('string') }}", ["1", "2", "3"]),
        ("{{ xs | length }}", 3),
        ("{{ 20000 ** 2 }}", 400000000),
        ("{{ 'ab' * 2 }}", "abab"),
        ("{{- xs -}}", "[1, 2, 3]"),
        ("{{ steps.route.items() }}", [("ok", True), ("served", ["es", "pt"])]),
        ("{{ signal.segment }}", {"key": "language", "value": "es"}),
        ("{{ signal.segment.value }}", "es"),
        ("lang={{ signal.segment.value }}", "lang=es"),
        ("{{ signal.segment.key }}={{ signal.segment.value }}", "language=es"),
        ("{% if severity == 'SEV2' %}high{% endif %}", "high"),
        ("plain text, kept as written\n", "plain text, kept as written\n"),
        ("{not a template}", "{not a template}"),
        (["{{ signal.segment.value }}", "en"], ["es", "en"]),
        ({"a": {"b": ["{{ severity }}"]}, "n": 5}, {"a": {"b": ["SEV2"]}, "n": 5}),
        (14400, 14400),
        (None, None),
    ],
)
def test_render_value(value: Any, expected: Any) -> None:
    assert render_value(value, context()) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("{{ nope }}", "'nope' is undefined"),
        ("a {{ nope }} b", "'nope' is undefined"),
        ("{{ signal.nope }}", "has no attribute 'nope'"),
        ("{{ signal.segment.value.nope }}", "has no attribute 'nope'"),
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ xs[7] }}", "list object has no element 7"),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("x{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{{ signal.__class__ }}", "unsafe"),
        ("{{ xs.append.__self__ }}", "unsafe"),
        ("{{ 'a' * 100000 }}", "not allowed"),
        ("{{ 2 ** 99999 }}", "not allowed"),
        ("{{ range(10 ** 9) | list }}", "Range too big"),
        ("{{ xs }", "template syntax error"),
    ],
)
def test_render_errors_are_playbook_errors(value: str, fragment: str) -> None:
    with pytest.raises(PlaybookError) as caught:
        render_value({"attribute": value}, context(), "steps[0].args")
    assert fragment in str(caught.value)
    assert caught.value.location == "steps[0].args.attribute"
    assert caught.value.__suppress_context__  # no chain of template internals


def test_no_segment_makes_segment_templates_fail_loudly() -> None:
    with pytest.raises(PlaybookError, match="'None' has no attribute 'key'"):
        render_value("{{ signal.segment.key }}", context(segment=None))


@pytest.mark.parametrize(
    ("expr", "segment", "expected"),
    [
        ("signal.segment is not none", Segment(key="language", value="es"), True),
        ("signal.segment is not none", None, False),
        ("signal.segment is none", None, True),
        ("signal.segment.value == 'es'", Segment(key="language", value="es"), True),
        ("severity in ['SEV1', 'SEV2']", None, True),
        ("steps.route.ok and xs | length > 2", None, True),
        ("steps.route.served | select('equalto', 'fr') | list", None, False),
    ],
)
def test_evaluate_condition(expr: str, segment: Segment | None, expected: bool) -> None:
    assert evaluate_condition(expr, context(segment)) is expected


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("nope", "'nope' is undefined"),
        ("signal.nope == 1", "has no attribute 'nope'"),
        ("signal.segment is", "expression syntax error"),
        ("a b", "chunk after expression"),
        ("''.__class__", "unsafe"),
    ],
)
def test_condition_errors(expr: str, fragment: str) -> None:
    with pytest.raises(PlaybookError, match=fragment):
        evaluate_condition(expr, context())


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("{{ signal.segment.value }}", {"signal"}),
        ("{{ a }}-{{ b.c }}", {"a", "b"}),
        ("{% for v in xs %}{{ v }}{% endfor %}", {"xs"}),
        ("{% set x = 1 %}{{ x }}", set()),
        ("no template", set()),
    ],
)
def test_check_template_finds_undeclared_names(text: str, names: set[str]) -> None:
    assert check_template(text) == names


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("signal.segment is not none", {"signal"}),
        ("steps.route.ok and severity == 'SEV1'", {"steps", "severity"}),
        ("range(3) | list", set()),  # Jinja's globals are not context names
    ],
)
def test_check_expression_finds_undeclared_names(text: str, names: set[str]) -> None:
    assert check_expression(text) == names


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ x }", r"template syntax error: unexpected '}' \(line 1\)"),
        ("{% if x %}", "template syntax error"),
        ("{{ xs | random }}", "No filter named 'random'"),
        ("{{ lipsum() }}", None),  # parses; 'lipsum' is then an undeclared (not allowed) name
    ],
)
def test_check_template_errors(text: str, fragment: str | None) -> None:
    if fragment is None:
        assert check_template(text) == {"lipsum"}
        return
    with pytest.raises(PlaybookError, match=fragment):
        check_template(text, "steps[0].args.flag")


def test_render_step_args_returns_the_action_model() -> None:
    step = Step(
        id="route",
        action="flag.route_segment",
        args={
            "flag": "support-assistant-answer-mode",
            "attribute": "{{ signal.segment.key }}",
            "values": ["{{ signal.segment.value }}"],
            "variation": "human-queue",
        },
    )
    args = render_step_args(step, context())
    assert args == RouteSegmentArgs(
        flag="support-assistant-answer-mode",
        attribute="language",
        values=("es",),
        variation="human-queue",
    )


def test_render_step_args_reports_rendered_type_errors_by_field() -> None:
    step = Step(
        id="route",
        action="flag.route_segment",
        args={
            "flag": "f",
            "attribute": "{{ steps.route.served | length }}",
            "values": "{{ [incident] }}",
            "variation": "v",
        },
    )
    with pytest.raises(PlaybookError) as caught:
        render_step_args(step, context())
    lines = str(caught.value).splitlines()
    assert "step route: args.attribute: Input should be a valid string" in lines
    assert "step route: args.values[0]: Input should be a valid string" in lines


def test_render_step_args_for_a_wait() -> None:
    step = Step(
        id="wait",
        action="incident.wait_for_recovery",
        args={"timeout_seconds": "{{ 3600 * 4 }}"},
    )
    assert render_step_args(step, context()) == WaitForRecoveryArgs(timeout_seconds=14400)


@pytest.mark.parametrize(
    ("when", "segment", "expected"),
    [
        (None, None, True),
        ("signal.segment is not none", None, False),
        ("signal.segment is not none", Segment(key="language", value="es"), True),
    ],
)
def test_should_run(when: str | None, segment: Segment | None, expected: bool) -> None:
    step = Step(id="w", action="incident.wait_for_recovery", args={"timeout_seconds": 1}, when=when)
    assert should_run(step, context(segment)) is expected


def test_rendering_is_deterministic() -> None:
    text = "{{ steps.route.served | join(',') }}-{{ range(3) | list }}"
    assert {render_value(text, context()) for _ in range(20)} == {"es,pt-[0, 1, 2]"}

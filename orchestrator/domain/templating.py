"""Playbook templates and conditions: the Jinja2 sandbox, strict about undefined names, no eval.

Step arguments may hold templates (``"{{ signal.segment.value }}"``); a step's ``when`` is a Jinja
*expression* (``signal.segment is not none``). Everything here is deterministic and free of I/O, so
workflow code may call it: the ``random`` filter and the ``lipsum`` global (the only sources of
randomness Jinja ships) are removed, and compiled templates are cached by their source text.
"""

from __future__ import annotations

import re
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError
from jinja2.parser import Parser
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import SandboxedEnvironment

from orchestrator.errors import PlaybookError

CONTEXT_NAMES: frozenset[str] = frozenset(
    {"signal", "incident", "service", "slo", "severity", "steps", "catalog_service"}
)
"""The names a template or condition may use; :func:`template_context` documents what each holds."""

MAX_REPEAT = 10_000
"""Largest count ``*`` may repeat a string or list by, and largest ``**`` exponent."""

_DELIMITERS = ("{{", "{%", "{#")
_SINGLE_EXPRESSION = re.compile(
    r"^\{\{(?![-+])(?P<expr>(?:(?!\{\{|\}\}).)*)(?<![-+])\}\}$", re.DOTALL
)
"""Exactly one ``{{ expr }}`` (no whitespace control marks): its value keeps its native type."""


class _Environment(SandboxedEnvironment):
    """The sandbox, also bounding ``*`` and ``**`` so a template cannot exhaust memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            bounded = [right]
        else:  # repeating a sequence: the count is the operand beside the sequence
            pairs = ((left, right), (right, left))
            bounded = [n for n, other in pairs if isinstance(other, str | list | tuple)]
        if any(isinstance(n, int) and abs(n) > MAX_REPEAT for n in bounded):
            raise SecurityError(f"'{operator}' by more than {MAX_REPEAT} is not allowed")
        return super().call_binop(context, operator, left, right)


_ENV = _Environment(undefined=StrictUndefined, autoescape=False)
_ENV.filters.pop("random", None)
_ENV.globals.pop("lipsum", None)

ALLOWED_NAMES: frozenset[str] = CONTEXT_NAMES | frozenset(_ENV.globals)
"""Context names plus Jinja's deterministic globals (``range``, ``dict``, ``namespace``...)."""

_TEMPLATES: dict[str, Template] = {}
_EXPRESSIONS: dict[str, TemplateExpression] = {}
_TEMPLATE_NAMES: dict[str, frozenset[str]] = {}
_EXPRESSION_NAMES: dict[str, frozenset[str]] = {}
"""What a valid template or expression uses, by its source text: a playbook is validated each
time a workflow input holding it is decoded (every new workflow, every replay), and parsing its
templates again each time was most of the worker's CPU for an incident's first workflow task."""


def is_template(value: str) -> bool:
    """True when the string holds Jinja syntax; plain strings are used exactly as written."""
    return any(d in value for d in _DELIMITERS)


def contains_template(value: Any) -> bool:
    """True when a value, or any string inside its lists and mappings, is a template."""
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, Mapping):
        return any(contains_template(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_template(v) for v in value)
    return False


def _syntax_error(kind: str, exc: TemplateSyntaxError, location: str) -> PlaybookError:
    what = "syntax error" if type(exc) is TemplateSyntaxError else "error"  # else unknown filter...
    return PlaybookError(f"{kind} {what}: {exc.message} (line {exc.lineno})", location)


def _parse_expression(text: str) -> nodes.Expr:
    """Parse like ``Environment.compile_expression`` does, keeping the syntax tree."""
    parser = Parser(_ENV, text, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno)
    return expr


def check_template(text: str, location: str = "") -> set[str]:
    """The names a template uses without defining them; PlaybookError on a syntax error."""
    known = _TEMPLATE_NAMES.get(text)
    if known is not None:
        return set(known)
    try:
        ast = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise _syntax_error("template", exc, location) from None
    _compiled_template(text, location)  # compiling finds unknown filters and tests
    names = _TEMPLATE_NAMES[text] = frozenset(meta.find_undeclared_variables(ast))
    return set(names)


def check_expression(text: str, location: str = "") -> set[str]:
    """The names an expression (a ``when``) uses; PlaybookError on a syntax error."""
    known = _EXPRESSION_NAMES.get(text)
    if known is not None:
        return set(known)
    try:
        expr = _parse_expression(text)
    except TemplateSyntaxError as exc:
        raise _syntax_error("expression", exc, location) from None
    _compiled_expression(text, location)  # compiling finds unknown filters and tests
    tree = nodes.Template([nodes.Output([expr])], lineno=1)
    tree.set_environment(_ENV)
    names = _EXPRESSION_NAMES[text] = frozenset(meta.find_undeclared_variables(tree))
    return set(names)


def _compiled_expression(text: str, location: str) -> TemplateExpression:
    compiled = _EXPRESSIONS.get(text)
    if compiled is None:
        try:
            compiled = _ENV.compile_expression(text, undefined_to_none=False)
        except TemplateSyntaxError as exc:
            raise _syntax_error("expression", exc, location) from None
        _EXPRESSIONS[text] = compiled
    return compiled


def _compiled_template(text: str, location: str) -> Template:
    template = _TEMPLATES.get(text)
    if template is None:
        try:
            template = _ENV.from_string(text)
        except TemplateSyntaxError as exc:
            raise _syntax_error("template", exc, location) from None
        _TEMPLATES[text] = template
    return template


def _runtime_error(text: str, exc: Exception, location: str) -> PlaybookError:
    verb = "refused to evaluate" if isinstance(exc, SecurityError) else "cannot evaluate"
    detail = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
    return PlaybookError(f"{verb} {text!r}: {detail or type(exc).__name__}", location)


def evaluate_expression(text: str, context: Mapping[str, Any], location: str = "") -> Any:
    """The native value of a Jinja expression (a list stays a list, a number a number)."""
    compiled = _compiled_expression(text, location)
    try:
        result = compiled(**context)
        if isinstance(result, Undefined):
            str(result)  # StrictUndefined raises the error that explains what is missing
            raise PlaybookError(f"{text!r} is undefined", location)
        if isinstance(result, Iterator | KeysView | ValuesView | ItemsView):  # map(), items()
            result = list(result)
    except PlaybookError:
        raise
    except Exception as exc:  # a template may raise anything (ZeroDivisionError...): report it
        raise _runtime_error(text, exc, location) from None
    return result


def render_string(text: str, context: Mapping[str, Any], location: str = "") -> Any:
    """Render one string: exactly one ``{{ expr }}`` gives the native value, else a string."""
    if not is_template(text):
        return text
    single = _SINGLE_EXPRESSION.match(text)
    if single:
        return evaluate_expression(single.group("expr").strip(), context, location)
    template = _compiled_template(text, location)
    try:
        return template.render(dict(context))
    except Exception as exc:  # see evaluate_expression
        raise _runtime_error(text, exc, location) from None


def _join(location: str, key: str) -> str:
    return f"{location}.{key}" if location else key


def render_value(value: Any, context: Mapping[str, Any], location: str = "") -> Any:
    """Render every string inside ``value`` (mappings and lists recursively; keys stay as is)."""
    if isinstance(value, str):
        return render_string(value, context, location)
    if isinstance(value, Mapping):
        return {k: render_value(v, context, _join(location, str(k))) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, context, f"{location}[{i}]") for i, v in enumerate(value)]
    return value


def evaluate_condition(expr: str, context: Mapping[str, Any], location: str = "") -> bool:
    """Evaluate a ``when`` expression to a bool; an undefined name is an error, not False."""
    result = evaluate_expression(expr, context, location)
    return bool(result)


def template_context(
    *,
    signal: Mapping[str, Any],
    severity: str,
    incident: Mapping[str, Any] | None = None,
    slo: Mapping[str, Any] | None = None,
    catalog_service: Mapping[str, Any] | None = None,
    steps: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The context templates see, built in one place so workflows and tests agree on its shape.

    ``signal`` is ``BreachSignal.model_dump(mode="json")`` (``signal.segment`` is a mapping with
    ``key`` and ``value``, or None); ``service`` is the service name; ``slo`` and
    ``catalog_service`` are the catalog's SLO and service as JSON mappings; ``severity`` is
    ``"SEV1"``..``"SEV4"``; ``steps`` maps the id of each step already run to its result;
    ``incident`` holds ``id`` (the workflow id), ``key`` (``service/slo``) and ``scope``
    (``language=es``, or ``everyone`` when the signal names no segment).
    """
    return {
        "signal": dict(signal),
        "incident": dict(incident or {}),
        "service": signal.get("service"),
        "slo": dict(slo) if slo is not None else None,
        "severity": severity,
        "steps": dict(steps or {}),
        "catalog_service": dict(catalog_service) if catalog_service is not None else None,
    }

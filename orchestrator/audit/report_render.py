"""The incident report as Markdown or as one self-contained HTML file (inline CSS and SVG; no
script, font, image or stylesheet is fetched: a Content-Security-Policy of ``default-src 'none'``
says so to the browser too).

Jinja2 escapes every value: HTML with autoescape, Markdown with a finalize hook that turns
``<``, ``>`` and ``&`` into entities and backslash-escapes Markdown's own punctuation, so an alert
label such as ``<script>`` or ``| forged | row |`` stays text in both.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from jinja2 import DictLoader, Environment, StrictUndefined

from orchestrator.audit.report_figures import clock
from orchestrator.audit.report_model import IncidentReport
from orchestrator.audit.report_svg import draw
from orchestrator.audit.report_templates import HTML, MARKDOWN

ReportFormat = Literal["md", "html"]
FORMATS: tuple[ReportFormat, ...] = ("md", "html")
MEDIA_TYPES: dict[ReportFormat, str] = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


class Verbatim(str):
    """Text the Markdown template writes as is (already made safe, e.g. a fenced block)."""

    __slots__ = ()


def markdown_escape(value: Any) -> str:
    """One Markdown-safe line: HTML-significant characters as entities, Markdown punctuation
    backslash-escaped, line breaks as spaces."""
    if isinstance(value, Verbatim):
        return str(value)
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return " ".join(text.splitlines())


def fenced(text: str) -> Verbatim:
    """``text`` in a fenced code block whose fence is longer than any backtick run inside it, so
    the content cannot close the block early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Verbatim(f"{fence}json\n{text}\n{fence}")


def _environment(*, html: bool) -> Environment:
    if html:
        env = Environment(
            loader=DictLoader({"report": HTML}),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
        )
    else:
        # Not HTML: autoescape does not apply; markdown_escape escapes every value instead.
        env = Environment(
            loader=DictLoader({"report": MARKDOWN}),
            autoescape=False,  # noqa: S701
            undefined=StrictUndefined,
            finalize=markdown_escape,
            trim_blocks=True,
        )
    env.globals["clock"] = clock
    env.globals["fenced"] = fenced
    return env


_HTML = _environment(html=True)
_MARKDOWN = _environment(html=False)


def render_report(report: IncidentReport, fmt: ReportFormat = "md") -> str:
    if fmt == "html":
        return _HTML.get_template("report").render(r=report, d=draw(report))
    text = _MARKDOWN.get_template("report").render(r=report)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"

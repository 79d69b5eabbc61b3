"""The report's escaping of untrusted text, function by function (the whole report is tested on
a real run of the worked example in tests/workflows/test_report.py)."""

from __future__ import annotations

from orchestrator.audit.report_figures import format_duration
from orchestrator.audit.report_render import fenced, markdown_escape


def test_markdown_escape_keeps_tags_cells_links_and_lines_as_text() -> None:
    hostile = "<script>x</script> | cell | [a](http://e) `c` *b* _i_ # h\nnext & more"
    escaped = markdown_escape(hostile)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.count("\\|") == 2 and "| " not in escaped.replace("\\| ", "")
    assert "\\[a\\](http://e)" in escaped and "\\`c\\`" in escaped
    assert "\n" not in escaped and "&amp; more" in escaped
    assert markdown_escape(None) == ""


def test_a_fence_outlasts_any_backtick_run_inside() -> None:
    block = fenced('{"label": "````` ``` `"}')
    fence = block.partition("json\n")[0]
    assert fence == "`" * 6 and block.endswith("\n" + fence)
    assert markdown_escape(block) == block  # already safe: written as is
    assert fenced("{}").startswith("```json\n")


def test_durations() -> None:
    assert [format_duration(s) for s in (0.09, 12.34, 245, 7380, 90000)] == [
        "90 ms",
        "12.3 s",
        "4 min 05 s",
        "2 h 03 min",
        "1 d 01 h",
    ]

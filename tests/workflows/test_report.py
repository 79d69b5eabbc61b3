"""The incident report on the worked example, run for real on the time-skipping server: the
Markdown's sections and figures against the events, the HTML in headless Chromium (the SVG
timeline renders, no request leaves the page), hostile alert text escaped, the CLI and the API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.audit.model import AuditKind, StoredEvent
from orchestrator.audit.report_figures import format_duration
from orchestrator.ingest.report_api import render_incident_report
from orchestrator.workflows.types import IncidentPhase
from tests.audit.chromium import png_size, run_chromium, trap_proxy
from tests.cli.helpers import cli
from tests.ingest.conftest import make_settings
from tests.ingest.operators import as_, operator_client, principals
from tests.workflows.harness import Harness
from tests.workflows.signals import SPANISH, breach, recovered
from workers.api import build_app

SLO = "language-gap"
HOSTILE = "<script>alert('x')</script>"
SECTIONS = (
    "## Summary",
    "## Severity",
    "## Breach signals",
    "## Figures",
    "## Changes",
    "## Approvals",
    "## Verification",
    "## RCA tasks",
    "## Timeline",
    "## Appendix: raw signals",
)


async def _worked_example(harness: Harness) -> tuple[str, list[StoredEvent]]:
    """The worked example (SEV2, Spanish speakers), its firing alert carrying hostile text."""
    began = datetime.now(UTC) - timedelta(minutes=3)
    signal = breach(
        SLO,
        segment=SPANISH,
        observed=7.4,
        burn=9.2,
        source=HOSTILE,
        started_at=began,
        labels={"summary": f"{HOSTILE} | forged | row | ``` [x](http://evil.example)"},
    )
    inc = await harness.submit(signal)
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(recovered(SLO))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    return inc, await harness.timeline(inc)


def _row(markdown: str, name: str) -> list[str]:
    line = next(x for x in markdown.splitlines() if x.startswith(f"| {name} |"))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def _unfenced(markdown: str) -> str:
    return re.sub(r"(?ms)^(`{3,})json\n.*?^\1$", "", markdown)


async def test_markdown_sections_and_figures_match_the_events(harness: Harness) -> None:
    inc, events = await _worked_example(harness)
    md = render_incident_report(inc, events, harness.runtime.catalog, "md")
    positions = [md.index(section) for section in SECTIONS]
    assert positions == sorted(positions)

    first = next(e for e in events if e.kind is AuditKind.SIGNAL_RECEIVED)
    route = next(e for e in events if e.data.get("step") == "route-segment-to-humans")
    verified = next(e for e in events if e.kind is AuditKind.VERIFICATION_PASSED)
    recovered_at = next(e for e in events if e.data.get("status") == "resolved").at
    resolved = next(e for e in events if e.kind is AuditKind.INCIDENT_RESOLVED)
    started = datetime.fromisoformat(first.data["started_at"])
    expected = {
        "Time to detect": first.at - started,
        "Time to mitigate": route.at - first.at,
        "Time to verify": verified.at - first.at,
        "Time to recover": recovered_at - first.at,
        "Time to resolve": resolved.at - first.at,
    }
    for name, delta in expected.items():
        assert _row(md, name)[1] == format_duration(delta.total_seconds()), name
    assert "(route-segment-to-humans)" in _row(md, "Time to mitigate")[3]
    assert resolved.at - first.at >= timedelta(seconds=15)  # the hold-down

    assert "**SEV2**" in md
    assert _row(md, "scope") == ["scope", "segment", "0"]
    assert _row(md, "risk tier of the journey") == ["risk tier of the journey", "high", "2"]
    assert _row(md, "score") == ["score", "5", "5"]
    signal = next(x for x in md.splitlines() if "| firing |" in x)
    assert "| language=es | 7.4 | &lt;= 3 points over 30d (catalog) | 9.2x |" in signal
    rollback = next(x for x in md.splitlines() if "| rollback-prompt | deploy" in x)
    assert "| answer-prompt-v42 | answer-prompt-v41 | orchestrator | applied |" in rollback
    assert "| releases of prompt | not frozen | frozen until" in md
    assert "| verify-segment | passed |" in md
    assert "### RCA-1" in md and "- Owner: cx-ai-platform" in md
    assert "- Verification method: Task-success gap across language groups at or under 3" in md
    assert "No step needed approval." in md
    assert len(re.findall(r"^\| \d+ \| 2\d{3}-", md, re.M)) >= len(events)  # timeline rows

    # Hostile alert text is text: no tag, no forged table cell, no link outside the code fences.
    outside = _unfenced(md)
    assert "<script" not in outside and "&lt;script&gt;" in outside
    assert "](http" not in outside
    assert HOSTILE in md  # verbatim inside the appendix's fenced JSON
    assert "\\| forged \\|" not in outside  # labels only appear in the fenced raw signal


async def test_html_renders_its_svg_timeline_in_chromium_without_any_request(
    harness: Harness, tmp_path: Path
) -> None:
    inc, events = await _worked_example(harness)
    html = render_incident_report(inc, events, harness.runtime.catalog, "html")
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    # Statically: nothing to fetch, nothing to run.
    assert not re.search(r"""(?i)\b(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert not re.search(r"(?i)<(script|link|iframe|img|object|embed)\b", html)
    assert "@import" not in html and "url(" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html

    changes = sum(
        1
        for e in events
        if e.data.get("action", "").startswith(("flag.route", "deploy", "release"))
        and e.kind is AuditKind.EFFECT_APPLIED
    )
    with trap_proxy() as trap:
        dom = run_chromium(page, trap, "--dump-dom")
        shot = tmp_path / "report.png"
        run_chromium(page, trap, f"--screenshot={shot}")
        pdf = tmp_path / "report.pdf"
        run_chromium(page, trap, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert trap.page_requests() == []
    assert '<svg id="timeline"' in dom and 'id="end"' in dom  # the whole page was parsed
    assert len(re.findall(r'<rect class="phase"', dom)) >= 3
    assert len(re.findall(r'<g class="mark diamond"', dom)) == changes
    assert "<script" not in dom  # the hostile source stayed text
    assert png_size(shot) == (1200, 1600) and shot.stat().st_size > 20_000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


async def test_the_trap_sees_a_page_that_does_fetch(tmp_path: Path) -> None:
    """The no-request check can fail: a page with a remote image reaches the trap proxy."""
    page = tmp_path / "fetching.html"
    page.write_text('<!DOCTYPE html><img src="http://example.invalid/x.png"><p id="end">')
    with trap_proxy() as trap:
        run_chromium(page, trap, "--dump-dom")
    assert any("example.invalid" in r for r in trap.page_requests()), trap.requests


async def test_approval_report_and_cli_and_api(harness: Harness, tmp_path: Path) -> None:
    inc = await harness.submit(breach(SLO, observed=7.4, burn=16.0))  # SEV1: approval first
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.skip(120)
    await harness.approve(inc, "ana.sre", step="rollback-prompt")
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(recovered(SLO))
    await harness.result(inc)
    events = await harness.timeline(inc)
    requested = next(e for e in events if e.kind is AuditKind.APPROVAL_REQUESTED)
    granted = next(e for e in events if e.kind is AuditKind.APPROVAL_GRANTED)
    wait = format_duration((granted.at - requested.at).total_seconds())
    assert granted.at - requested.at >= timedelta(seconds=120)

    settings = harness.runtime.settings
    common = ("--audit-url", settings.effective_audit_url, "--catalog", str(settings.catalog_path))
    out = tmp_path / "r.md"
    done = await cli(*common, "report", inc, "--out", str(out))
    assert done.code == 0, done.err
    md = out.read_text()
    approval = next(x for x in md.splitlines() if x.startswith("| rollback-prompt | 2"))
    assert f"| granted | ana.sre | {wait} | rolling back the prompt" in approval
    assert "orchestrator (approved by ana.sre)" in md
    mitigated = next(e for e in events if e.data.get("step") == "rollback-prompt")
    first = events[0]
    assert _row(md, "Time to mitigate")[1] == format_duration(
        (mitigated.at - first.at).total_seconds()
    )

    html = await cli(*common, "report", inc, "--format", "html")
    assert html.code == 0 and html.out.startswith("<!DOCTYPE html>")
    missing = await cli(*common, "report", "no-such-occurrence")
    assert missing.code == 2 and missing.out == ""
    assert missing.err.strip() == "error: no audit events for incident 'no-such-occurrence'"

    app = build_app(harness.runtime, harness.client, make_settings(), principals())
    async with operator_client(app) as api:
        got = await api.get(f"/v1/incidents/{inc}/report", headers=as_("maria.oncall"))
        assert got.status_code == 200 and got.text == md
        assert got.headers["content-type"].startswith("text/markdown")
        page = await api.get(
            f"/v1/incidents/{inc}/report", params={"format": "html"}, headers=as_("maria.oncall")
        )
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert '<svg id="timeline"' in page.text
        unknown = await api.get("/v1/incidents/nope/report", headers=as_("maria.oncall"))
        assert unknown.status_code == 404
        bad = await api.get(f"/v1/incidents/{inc}/report?format=pdf", headers=as_("maria.oncall"))
        assert bad.status_code == 422
        anonymous = await api.get(f"/v1/incidents/{inc}/report")
        assert anonymous.status_code == 401

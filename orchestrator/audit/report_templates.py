"""The report's Jinja2 templates. Every ``{{ }}`` is escaped by the environment (HTML: autoescape;
Markdown: a finalize hook), so no template line can forget to: alert text is untrusted."""

from __future__ import annotations

MARKDOWN = """\
# Incident report: {{ r.incident_id }}

_A first draft of the post-incident review, built from the audit history (events #{{ r.first_seq }}
to #{{ r.last_seq }}, {{ r.events }} events). Times are UTC (workflow time)._

## Summary

{{ r.summary }}

| | |
|---|---|
| Service | {{ r.service }} |
| SLO | {{ r.slo }} |
| Severity | {{ r.severity }} |
| Playbook(s) | {{ r.playbooks | join(", ") or "-" }} |
| State | {{ r.state }} |
| First event | {{ clock(r.opened_at) }} |
| Last event | {{ clock(r.last_at) }} |

## Severity

{% for s in r.severities %}
**{{ s.severity }}** at {{ clock(s.at) }}: {{ s.explanation }}

| Rubric row | Value | Points |
|---|---|---|
{% for row in s.rows %}| {{ row.factor }} | {{ row.value }} | {{ "-" if row.points is none else row.points }} |
{% endfor %}

{% else %}
No severity was recorded.
{% endfor %}
## Breach signals

| Received | Status | Source | Segment | Observed | Objective | Burn rate |
|---|---|---|---|---|---|---|
{% for s in r.signals %}| {{ clock(s.at) }} | {{ s.status }} | {{ s.source }} | {{ s.segment }} | {{ s.observed }} | {{ s.objective }} | {{ s.burn_rate }} |
{% endfor %}

## Figures

| Figure | Value | From | To |
|---|---|---|---|
{% for m in r.measures %}| {{ m.name }} | {{ m.shown }} | {{ m.start }} | {{ m.end }} |
{% endfor %}

## Changes

{% if r.changes %}
| # | When | Step | Action | Subject | Before | After | By | Outcome |
|---|---|---|---|---|---|---|---|---|
{% for c in r.changes %}| {{ c.number }} | {{ clock(c.at) }} | {{ c.step }} | {{ c.action }} | {{ c.subject }} | {{ c.before }} | {{ c.after }} | {{ c.by }} | {{ c.outcome }}{{ " (undo)" if c.undo }} |
{% endfor %}
{% else %}
No change was made.
{% endif %}

## Approvals

{% if r.approvals %}
| Step | Requested | Decided | Outcome | Principals | Waited | Why it was asked |
|---|---|---|---|---|---|---|
{% for a in r.approvals %}| {{ a.step }} | {{ clock(a.requested_at) }} | {{ clock(a.decided_at) if a.decided_at else "-" }} | {{ a.outcome }} | {{ a.principals }} | {{ a.waited }} | {{ a.reason }} |
{% endfor %}
{% else %}
No step needed approval.
{% endif %}

## Verification

{% if r.verifications %}
| When | Step | Result | Detail |
|---|---|---|---|
{% for v in r.verifications %}| {{ clock(v.at) }} | {{ v.step }} | {{ "passed" if v.passed else "FAILED" }} | {{ v.detail }} |
{% endfor %}
{% else %}
Nothing was verified.
{% endif %}

## RCA tasks

{% for t in r.rca %}
### {{ t.ticket }}

- Owner: {{ t.owner }}
- Deadline: {{ t.deadline }}
- Verification method: {{ t.verification }}
- Opened: {{ t.summary }}
- Status: {% if t.status == "open" %}open{% else %}closed {{ t.status }}{% endif %}
- Evidence:
{% for name, value in t.evidence %}  - {{ name }}: {{ value }}
{% endfor %}

{% else %}
No review was opened.
{% endfor %}
## Timeline

| # | Time | Since detection | Kind | Actor | What |
|---|---|---|---|---|---|
{% for t in r.timeline %}| {{ t.seq }} | {{ clock(t.at) }} | {{ t.offset }} | {{ t.kind }} | {{ t.actor }} | {{ t.summary }} |
{% endfor %}

## Appendix: raw signals

{% for s in r.raw_signals %}
Event #{{ s.seq }}, {{ clock(s.at) }}:

{{ fenced(s.body) }}

{% endfor %}
"""

HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Incident report: {{ r.incident_id }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
  max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; word-break: break-all; } h2 { border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #f4f4f4; } .muted { color: #666; } .failed { color: #b00; font-weight: bold; }
pre { background: #f7f7f7; padding: .5em; white-space: pre-wrap; overflow-wrap: anywhere; }
svg text { font-family: system-ui, sans-serif; font-size: 11px; }
@media print {
  body { margin: 0; max-width: none; font-size: 9.5pt; }
  h2 { break-after: avoid; } tr, svg, pre { break-inside: avoid; }
  svg { width: 100%; height: auto; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
<h1>Incident report: {{ r.incident_id }}</h1>
<p class="muted">A first draft of the post-incident review, built from the audit history (events
#{{ r.first_seq }} to #{{ r.last_seq }}, {{ r.events }} events). Times are UTC (workflow time).</p>

<h2 id="summary">Summary</h2>
<p>{{ r.summary }}</p>
<table>
<tr><th>Service</th><td>{{ r.service }}</td></tr>
<tr><th>SLO</th><td>{{ r.slo }}</td></tr>
<tr><th>Severity</th><td>{{ r.severity }}</td></tr>
<tr><th>Playbook(s)</th><td>{{ r.playbooks | join(", ") or "-" }}</td></tr>
<tr><th>State</th><td>{{ r.state }}</td></tr>
<tr><th>First event</th><td>{{ clock(r.opened_at) }}</td></tr>
<tr><th>Last event</th><td>{{ clock(r.last_at) }}</td></tr>
</table>

<h2 id="timeline-chart">Timeline</h2>
<svg id="timeline" role="img"
 viewBox="0 0 {{ d.width }} {{ d.height }}" width="{{ d.width }}" height="{{ d.height }}">
<title>Phases and changes of {{ r.incident_id }} (logarithmic time axis)</title>
{% for name, y in d.lanes %}<text class="lane" x="8" y="{{ y + 4 }}">{{ name }}</text>
<line x1="150" x2="{{ d.width - 30 }}" y1="{{ y }}" y2="{{ y }}" stroke="#eee"/>
{% endfor %}
{% for b in d.bars %}<rect class="phase" x="{{ b.x }}" y="{{ b.y }}" width="{{ b.width }}"
 height="{{ b.height }}" fill="{{ b.colour }}" opacity="0.8"><title>{{ b.label }}</title></rect>
{% endfor %}
{% for m in d.marks %}<g class="mark {{ m.shape }}"><title>{{ m.label }}</title>
{% if m.shape == "diamond" %}<polygon points="{{ m.x }},{{ m.y - 8 }} {{ m.x + 8 }},{{ m.y }} {{ m.x }},{{ m.y + 8 }} {{ m.x - 8 }},{{ m.y }}" fill="{{ m.colour }}" stroke="#333"/>
{% elif m.shape == "square" %}<rect x="{{ m.x - 5 }}" y="{{ m.y - 5 }}" width="10" height="10" fill="{{ m.colour }}" stroke="#333"/>
{% else %}<circle cx="{{ m.x }}" cy="{{ m.y }}" r="5" fill="{{ m.colour }}" stroke="#333"/>{% endif %}
{% if m.number %}<text x="{{ m.x }}" y="{{ m.y + m.number_dy }}" text-anchor="middle">{{ m.number }}</text>{% endif %}
</g>
{% endfor %}
<line x1="150" x2="{{ d.width - 30 }}" y1="{{ d.axis_y }}" y2="{{ d.axis_y }}" stroke="#333"/>
{% for t in d.ticks %}<line x1="{{ t.x }}" x2="{{ t.x }}" y1="{{ d.axis_y }}" y2="{{ d.axis_y + 5 }}" stroke="#333"/>
<text class="tick" x="{{ t.x }}" y="{{ d.axis_y + 17 }}" text-anchor="middle">{{ t.label }}</text>
{% endfor %}
</svg>
<p class="muted">Time since the first event, logarithmic. Diamonds are changes (numbered as in
the table below), squares verifications, circles signals; hover for details.</p>

<h2 id="severity">Severity</h2>
{% for s in r.severities %}
<p><strong>{{ s.severity }}</strong> at {{ clock(s.at) }}: {{ s.explanation }}</p>
<table><tr><th>Rubric row</th><th>Value</th><th>Points</th></tr>
{% for row in s.rows %}<tr><td>{{ row.factor }}</td><td>{{ row.value }}</td><td>{{ "-" if row.points is none else row.points }}</td></tr>
{% endfor %}</table>
{% else %}<p>No severity was recorded.</p>{% endfor %}

<h2 id="signals">Breach signals</h2>
<table><tr><th>Received</th><th>Status</th><th>Source</th><th>Segment</th><th>Observed</th><th>Objective</th><th>Burn rate</th></tr>
{% for s in r.signals %}<tr><td>{{ clock(s.at) }}</td><td>{{ s.status }}</td><td>{{ s.source }}</td><td>{{ s.segment }}</td><td>{{ s.observed }}</td><td>{{ s.objective }}</td><td>{{ s.burn_rate }}</td></tr>
{% endfor %}</table>

<h2 id="figures">Figures</h2>
<table><tr><th>Figure</th><th>Value</th><th>From</th><th>To</th></tr>
{% for m in r.measures %}<tr><td>{{ m.name }}</td><td><strong>{{ m.shown }}</strong></td><td>{{ m.start }}</td><td>{{ m.end }}</td></tr>
{% endfor %}</table>

<h2 id="changes">Changes</h2>
{% if r.changes %}<table><tr><th>#</th><th>When</th><th>Step</th><th>Action</th><th>Subject</th><th>Before</th><th>After</th><th>By</th><th>Outcome</th></tr>
{% for c in r.changes %}<tr><td>{{ c.number }}</td><td>{{ clock(c.at) }}</td><td>{{ c.step }}</td><td>{{ c.action }}</td><td>{{ c.subject }}</td><td><code>{{ c.before }}</code></td><td><code>{{ c.after }}</code></td><td>{{ c.by }}</td><td>{{ c.outcome }}{{ " (undo)" if c.undo }}</td></tr>
{% endfor %}</table>{% else %}<p>No change was made.</p>{% endif %}

<h2 id="approvals">Approvals</h2>
{% if r.approvals %}<table><tr><th>Step</th><th>Requested</th><th>Decided</th><th>Outcome</th><th>Principals</th><th>Waited</th><th>Why it was asked</th></tr>
{% for a in r.approvals %}<tr><td>{{ a.step }}</td><td>{{ clock(a.requested_at) }}</td><td>{{ clock(a.decided_at) if a.decided_at else "-" }}</td><td>{{ a.outcome }}</td><td>{{ a.principals }}</td><td>{{ a.waited }}</td><td>{{ a.reason }}</td></tr>
{% endfor %}</table>{% else %}<p>No step needed approval.</p>{% endif %}

<h2 id="verification">Verification</h2>
{% if r.verifications %}<table><tr><th>When</th><th>Step</th><th>Result</th><th>Detail</th></tr>
{% for v in r.verifications %}<tr><td>{{ clock(v.at) }}</td><td>{{ v.step }}</td><td{% if not v.passed %} class="failed"{% endif %}>{{ "passed" if v.passed else "FAILED" }}</td><td>{{ v.detail }}</td></tr>
{% endfor %}</table>{% else %}<p>Nothing was verified.</p>{% endif %}

<h2 id="rca">RCA tasks</h2>
{% for t in r.rca %}<h3>{{ t.ticket }}</h3>
<table><tr><th>Owner</th><td>{{ t.owner }}</td></tr><tr><th>Deadline</th><td>{{ t.deadline }}</td></tr>
<tr><th>Verification method</th><td>{{ t.verification }}</td></tr><tr><th>Opened</th><td>{{ t.summary }}</td></tr>
<tr><th>Status</th><td>{% if t.status == "open" %}open{% else %}closed {{ t.status }}{% endif %}</td></tr>
{% for name, value in t.evidence %}<tr><th>Evidence: {{ name }}</th><td><code>{{ value }}</code></td></tr>
{% endfor %}</table>
{% else %}<p>No review was opened.</p>{% endfor %}

<h2 id="events">Events</h2>
<table><tr><th>#</th><th>Time</th><th>Since detection</th><th>Kind</th><th>Actor</th><th>What</th></tr>
{% for t in r.timeline %}<tr><td>{{ t.seq }}</td><td>{{ clock(t.at) }}</td><td>{{ t.offset }}</td><td>{{ t.kind }}</td><td>{{ t.actor }}</td><td>{{ t.summary }}</td></tr>
{% endfor %}</table>

<h2 id="appendix">Appendix: raw signals</h2>
{% for s in r.raw_signals %}<p>Event #{{ s.seq }}, {{ clock(s.at) }}:</p>
<pre>{{ s.body }}</pre>
{% endfor %}
<footer id="end" class="muted">End of report.</footer>
</body>
</html>
"""

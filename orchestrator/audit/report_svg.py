"""The SVG timeline's geometry: lanes of phases, signals, changes, verifications and approvals on a
logarithmic time axis (a mitigation seconds after detection and a recovery hours later both stay
readable). Numbers only; the template writes the elements and escapes every label."""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from orchestrator.audit.report_figures import format_duration
from orchestrator.audit.report_model import IncidentReport

WIDTH = 960
LEFT = 150
RIGHT = 30
LANE = 34
TOP = 20
LANES = ("phases", "signals", "changes", "verifications", "approvals")
PHASE_COLOURS = {
    "breach before detection": "#d9534f",
    "mitigating": "#f0ad4e",
    "monitoring": "#5bc0de",
    "recovered, holding down": "#5cb85c",
}
APPROVAL_COLOUR = "#9b59b6"
TICKS = (0, 1, 10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True)


class Bar(_Shape):
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


class Mark(_Shape):
    x: float
    y: float
    colour: str
    shape: str
    """``circle``, ``diamond`` or ``square``."""
    number: str
    number_dy: float = -10
    """Where the number sits (above, or below for every other change, so neighbours can be read)."""
    label: str


class Tick(_Shape):
    x: float
    label: str


class Drawing(_Shape):
    width: int
    height: int
    axis_y: float
    lanes: tuple[tuple[str, float], ...]
    bars: tuple[Bar, ...]
    marks: tuple[Mark, ...]
    ticks: tuple[Tick, ...]


def draw(report: IncidentReport) -> Drawing:
    times = [p.start for p in report.phases] + [report.opened_at, report.last_at]
    origin = min(times)
    span = max((report.last_at - origin).total_seconds(), 1.0)
    scale = (WIDTH - LEFT - RIGHT) / math.log10(1 + span)

    def x(at: datetime) -> float:
        seconds = max((at - origin).total_seconds(), 0.0)
        return round(LEFT + math.log10(1 + seconds) * scale, 1)

    def lane(name: str) -> float:
        return TOP + LANES.index(name) * LANE

    bars: list[Bar] = []
    for phase in report.phases:
        waiting = phase.name.startswith("awaiting approval")
        y = lane("approvals") if waiting else lane("phases")
        x0, x1 = x(phase.start), x(phase.end)
        bars.append(
            Bar(
                x=x0,
                y=y + 6,
                width=max(x1 - x0, 2.0),
                height=LANE - 12,
                colour=APPROVAL_COLOUR if waiting else PHASE_COLOURS.get(phase.name, "#999999"),
                label=f"{phase.name}: {format_duration((phase.end - phase.start).total_seconds())}",
            )
        )
    mid = LANE / 2
    # (lane, time, colour, shape, number, label) of every mark
    specs = [
        (
            "signals",
            signal.at,
            "#d9534f" if signal.status == "firing" else "#5cb85c",
            "circle",
            "",
            f"{signal.status} signal from {signal.source} ({signal.segment})",
        )
        for signal in report.signals
    ]
    specs += [
        (
            "changes",
            change.at,
            "#777777" if change.undo else "#f0ad4e",
            "diamond",
            str(change.number),
            f"#{change.number} {change.step}: {change.subject} -> {change.after}",
        )
        for change in report.changes
    ]
    specs += [
        (
            "verifications",
            check.at,
            "#5cb85c" if check.passed else "#d9534f",
            "square",
            "",
            f"{'passed' if check.passed else 'FAILED'}: {check.detail}",
        )
        for check in report.verifications
    ]
    marks = [
        Mark(
            x=x(at),
            y=lane(name) + mid,
            colour=colour,
            shape=shape,
            number=number,
            number_dy=20 if number and int(number) % 2 == 0 else -10,
            label=label,
        )
        for name, at, colour, shape, number, label in specs
    ]
    axis_y = TOP + len(LANES) * LANE + 4
    ticks = tuple(
        Tick(x=round(LEFT + math.log10(1 + t) * scale, 1), label=_tick(t))
        for t in TICKS
        if t <= span
    )
    return Drawing(
        width=WIDTH,
        height=int(axis_y + 30),
        axis_y=axis_y,
        lanes=tuple((name, lane(name) + mid) for name in LANES),
        bars=tuple(bars),
        marks=tuple(marks),
        ticks=ticks,
    )


def _tick(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    return format_duration(seconds).replace(" 00 s", "").replace(" 00 min", "").replace(" 00 h", "")

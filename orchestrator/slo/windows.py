"""The measurement windows and burn-rate tiers of the generated rules, and window scaling.

The tiers are the Google SRE workbook's multi-window, multi-burn-rate alerts (chapter 5): each
fires when the budget burns at ``factor`` times the sustainable rate over a long window *and* a
short one (the short window ends the alert soon after the burn stops).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from orchestrator.errors import ValidationError

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
"""Every window an SLI is recorded over."""

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^([1-9][0-9]*)(ms|s|m|h|d|w)$")


@dataclass(frozen=True)
class Tier:
    """One multi-window burn-rate alert: ``factor`` x budget over both windows -> ``tier``."""

    factor: float
    long: str
    short: str
    tier: str
    """``page`` (someone acts now) or ``ticket`` (someone acts this week)."""

    @property
    def severity(self) -> str:
        return "critical" if self.tier == "page" else "warning"


TIERS = (
    Tier(14.4, "1h", "5m", "page"),
    Tier(6.0, "6h", "30m", "page"),
    Tier(3.0, "1d", "2h", "ticket"),
    Tier(1.0, "3d", "6h", "ticket"),
)
LONG_WINDOWS = tuple(dict.fromkeys(t.long for t in TIERS))


def seconds(duration: str) -> Fraction:
    """``"5m"`` -> 300; ``"250ms"`` -> 1/4."""
    found = _DURATION.match(duration)
    if not found:
        raise ValidationError(f"{duration!r} is not a duration such as 5m, 1h or 3d")
    number, unit = int(found.group(1)), found.group(2)
    return Fraction(number, 1000) if unit == "ms" else Fraction(number * _UNITS[unit])


def duration(value: Fraction) -> str:
    """Seconds -> the Prometheus duration with the largest whole unit (``3600`` -> ``1h``)."""
    for unit, size in _UNITS.items():
        if value % size == 0:
            return f"{int(value // size)}{unit}"
    millis = value * 1000
    if millis.denominator != 1 or millis < 1:
        raise ValidationError(f"{float(value)}s is not a whole number of milliseconds")
    return f"{int(millis)}ms"


def parse_scale(text: str) -> Fraction:
    """``"1/60"`` or ``"0.5"`` -> a factor in (0, 1] applied to every window."""
    try:
        scale = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise ValidationError(f"window scale {text!r} is not a number such as 1/60") from None
    if not 0 < scale <= 1:
        raise ValidationError(f"window scale {text!r} must be above 0 and at most 1")
    return scale


@dataclass(frozen=True)
class Windows:
    """Range selectors for the nominal windows, shrunk by ``scale`` (1 in production).

    Only the ``[range]`` inside queries shrinks: rule names and the ``window`` label keep the
    nominal window, so dashboards, routes and tests read the same names at any scale.
    """

    scale: Fraction = Fraction(1)

    def range(self, window: str) -> str:
        return duration(seconds(window) * self.scale)

    def check(self) -> None:
        """Every scaled window is a whole number of milliseconds (ValidationError if not)."""
        for window in WINDOWS:
            self.range(window)

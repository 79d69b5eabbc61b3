"""Strict reading of environment variables: one rule for every setting of api, worker and CLI.

Booleans are exactly ``true/false/1/0/yes/no/on/off`` (any case, surrounding blanks ignored);
integers are integers (``8080``, not ``8080.0``); durations carry a unit (``200ms``, ``15s``,
``5m``, ``1h``). Anything else is a one-line :class:`~orchestrator.errors.ConfigError` naming the
variable and what it accepts, so a typo can never leave a safety switch silently off. Every name
read must be in :data:`orchestrator.config.variables.VARIABLES`, the documented table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from orchestrator.config.variables import VARIABLES
from orchestrator.errors import ConfigError
from orchestrator.secrets import Secret

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_INTEGER = re.compile(r"^[+-]?\d+$")

ReadFile = Callable[[str], str]


def _read_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(f"{name} must be one of true/false, 1/0, yes/no, on/off; got {raw!r}")


def parse_int(
    name: str, raw: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = raw.strip()
    if not _INTEGER.match(value):
        raise ConfigError(f"{name} must be an integer, got {raw!r}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {number}")
    return number


def parse_duration(name: str, raw: str) -> float:
    """Seconds from ``200ms``, ``15s``, ``5m`` or ``1h`` (a unit is required)."""
    match = _DURATION.match(raw.strip().lower())
    if not match:
        raise ConfigError(
            f"{name} must be a duration with a unit (200ms, 15s, 5m, 1h), got {raw!r}"
        )
    seconds = float(match["n"]) * _UNIT_SECONDS[match["unit"]]
    if seconds <= 0:
        raise ConfigError(f"{name} must be longer than zero, got {raw!r}")
    return seconds


class Env:
    """Typed, strict reads from one environment mapping (``os.environ`` at start-up)."""

    def __init__(self, environ: Mapping[str, str], read_file: ReadFile | None = None) -> None:
        self._environ = environ
        self._read = read_file or _read_text

    def raw(self, name: str) -> str | None:
        """The value as set, blanks trimmed; None when unset or blank."""
        if name not in VARIABLES:
            raise KeyError(
                f"{name} is not in the settings table (orchestrator/config/variables.py)"
            )
        value = self._environ.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def path(self, name: str, default: Path) -> Path:
        value = self.raw(name)
        return Path(value) if value else default

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw(name)
        return default if value is None else parse_bool(name, value)

    def integer(
        self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value = self.raw(name)
        if value is None:
            return default
        return parse_int(name, value, minimum=minimum, maximum=maximum)

    def duration(self, name: str, default: float) -> float:
        value = self.raw(name)
        return default if value is None else parse_duration(name, value)

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.raw(name)
        if value is None:
            return default
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
        return value

    def matching(self, name: str, pattern: str, default: str, what: str) -> str:
        """The value when it matches ``pattern`` (``what`` says in words what that means)."""
        value = self.raw(name)
        if value is None:
            return default
        if not re.fullmatch(pattern, value):
            raise ConfigError(f"{name} must be {what}; got {value[:80]!r}")
        return value

    def file_text(self, name: str) -> str | None:
        """The contents of the file the variable names (None when unset)."""
        path = self.raw(name)
        if path is None:
            return None
        try:
            return self._read(path)
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read {path}: {exc.strerror or exc}") from exc

    def secrets(self, name: str) -> tuple[Secret, ...]:
        """``NAME`` and every non-empty line of the file ``NAME_FILE`` names (a second line lets
        a secret be rotated without downtime)."""
        values: list[str] = []
        inline = self.raw(name)
        if inline:
            values.append(inline)
        text = self.file_text(f"{name}_FILE")
        if text is not None:
            values.extend(line.strip() for line in text.splitlines() if line.strip())
        return tuple(Secret(v) for v in values)

    def secret(self, name: str) -> Secret | None:
        """One secret from ``NAME`` or the first line of ``NAME_FILE``."""
        found = self.secrets(name)
        return found[0] if found else None

    def named_secret(self, name: str) -> Secret | None:
        """A secret under a name a configuration file chose (a ``${NAME}`` header of the deploy
        webhook), so not in the settings table: ``NAME``, or the first line of ``NAME_FILE``."""
        value = self._environ.get(name, "").strip()
        if value:
            return Secret(value)
        path = self._environ.get(f"{name}_FILE", "").strip()
        if not path:
            return None
        try:
            lines = [line.strip() for line in self._read(path).splitlines() if line.strip()]
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror or exc}") from exc
        return Secret(lines[0]) if lines else None

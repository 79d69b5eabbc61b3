"""Rows out as a table, JSON lines or CSV: the output of ``audit query``, ``incidents`` and
``stats``. Values pass the CLI's redaction (:func:`~orchestrator.cli.common.echo`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import typer

from orchestrator.cli.common import echo, fail

FORMATS = ("table", "jsonl", "csv")
MAX_CELL = 80

FORMAT_OPTION = typer.Option("table", "--format", "-f", help="table, jsonl or csv")


def check_format(value: str, formats: Sequence[str] = FORMATS) -> str:
    """``value`` when it is one of ``formats``; a one-line error (exit 2) otherwise."""
    if value not in formats:
        raise fail(f"unknown format {value[:20]!r}; valid: {', '.join(formats)}")
    return value


def cell(value: Any, none: str = "-") -> str:
    """One line of text: JSON for structures, control characters escaped; ``none`` for None."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if value is None:
        text = none
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def emit(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str) -> None:
    """Print ``rows``: ``table`` and ``csv`` show ``columns``; ``jsonl`` every field."""
    if fmt == "jsonl":
        for row in rows:
            echo(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str))
        return
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(c), none="") for c in columns])
        echo(out.getvalue().rstrip("\n"))
        return
    table(rows, columns)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    cells = [[_cut(cell(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for line in cells:
        echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."

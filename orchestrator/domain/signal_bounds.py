"""How large a signal may be before it reaches a workflow.

Every signal is signal-with-started on its key's workflow and kept in that workflow's history and
state, so an unbounded one could pass Temporal's payload limit (the workflow task then fails
forever and the key is jammed) or blow up the history. The submitter checks these bounds for every
way in (HTTP ingest, CLI, API); the ingest answers 422 naming the field. They are not model
validators, so a signal already in a stored history always decodes.
"""

from __future__ import annotations

from orchestrator.domain.signals import BreachSignal
from orchestrator.errors import ValidationError

MAX_LABELS = 64
MAX_LABEL_NAME = 128
MAX_LABEL_VALUE = 2048
MAX_LABELS_TOTAL = 16 * 1024
"""Characters of every label name and value together."""
MAX_SEGMENT_VALUE = 256


def check_bounds(signal: BreachSignal) -> None:
    """Raise :class:`ValidationError` naming the first field over its bound."""
    labels = signal.labels
    if len(labels) > MAX_LABELS:
        _refuse("labels", f"{len(labels)} labels, at most {MAX_LABELS}")
    for name, value in labels.items():
        if len(name) > MAX_LABEL_NAME:
            _refuse("labels", f"a label name of {len(name)} characters, at most {MAX_LABEL_NAME}")
        if len(value) > MAX_LABEL_VALUE:
            _refuse(f"labels.{name[:64]}", f"{len(value)} characters, at most {MAX_LABEL_VALUE}")
    total = sum(len(name) + len(value) for name, value in labels.items())
    if total > MAX_LABELS_TOTAL:
        _refuse("labels", f"{total} characters in all, at most {MAX_LABELS_TOTAL}")
    if signal.segment is not None and len(signal.segment.value) > MAX_SEGMENT_VALUE:
        _refuse(
            "segment.value",
            f"{len(signal.segment.value)} characters, at most {MAX_SEGMENT_VALUE}",
        )


def _refuse(field: str, problem: str) -> None:
    raise ValidationError(f"{field}: {problem}", f"signal.{field}")

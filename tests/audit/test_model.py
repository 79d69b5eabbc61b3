"""The audit models refuse what cannot be stored faithfully."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from enum import StrEnum

import pytest
from pydantic import ValidationError

from orchestrator.audit.model import MAX_DATA_BYTES, AuditEvent, AuditKind
from tests.audit.factories import T0, event


def test_the_event_kinds_are_the_documented_twenty() -> None:
    assert len(AuditKind) == 21
    assert AuditKind("effect_applied") is AuditKind.EFFECT_APPLIED
    assert str(AuditKind.NOTE) == "note"


def test_event_time_must_be_timezone_aware_and_is_kept_in_utc() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        event(1, at=datetime(2026, 1, 1, 12, 0))
    local = event(1, at=T0.astimezone(timezone(timedelta(hours=-5))))
    assert local.at == T0
    assert local.at.utcoffset() == timedelta(0)


def test_data_must_be_json() -> None:
    with pytest.raises(ValidationError, match="JSON"):
        event(1, data={"s": {1, 2}})
    with pytest.raises(ValidationError, match="JSON"):
        event(1, data={"x": float("nan")})
    with pytest.raises(ValidationError, match="larger"):
        event(1, data={"blob": "x" * MAX_DATA_BYTES})


def test_data_is_normalised_to_plain_json() -> None:
    class Colour(StrEnum):
        RED = "red"

    made = event(1, data={"when": T0, "tuple": (1, 2), "colour": Colour.RED})
    assert made.data == {
        "when": "2026-11-27T09:30:00.250000+00:00",
        "tuple": [1, 2],
        "colour": "red",
    }


def test_events_are_frozen_and_strict() -> None:
    made = event(1)
    with pytest.raises(ValidationError):
        made.summary = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        AuditEvent.model_validate({**made.model_dump(), "surprise": 1})
    with pytest.raises(ValidationError, match="event_key"):
        AuditEvent.model_validate({**made.model_dump(), "event_key": ""})

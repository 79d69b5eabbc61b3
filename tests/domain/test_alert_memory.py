"""Closed-alert memory: redeliveries of resolved alerts and out-of-order deliveries open nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.domain.alert_memory import AlertMemory, InstanceOrder
from orchestrator.domain.signals import BreachSignal, SignalStatus

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def alert(status: str, started: datetime, fp: str = "fp-es") -> BreachSignal:
    return BreachSignal(
        service="support-assistant",
        slo="language-gap",
        dimension="fairness",
        status=SignalStatus(status),
        fingerprint=fp,
        started_at=started,
        source="alertmanager",
    )


def test_firing_redelivery_of_a_resolved_alert_is_ignored() -> None:
    memory = AlertMemory()
    memory.note(alert("firing", T0), T0)
    memory.note(alert("resolved", T0), T0 + timedelta(minutes=10))
    memory.closed()
    again = memory.admit(alert("firing", T0), open_occurrence=False)
    assert again.kind == "ignore" and "redelivery" in again.reason


def test_a_new_instance_of_the_same_alert_opens_an_occurrence() -> None:
    memory = AlertMemory()
    memory.note(alert("resolved", T0), T0 + timedelta(minutes=10))
    assert memory.admit(alert("firing", T0 + timedelta(hours=1)), open_occurrence=False).kind == (
        "open"
    )


def test_resolution_first_then_late_firing_opens_nothing() -> None:
    memory = AlertMemory()
    resolution = memory.admit(alert("resolved", T0), open_occurrence=False)
    assert resolution.kind == "ignore"
    memory.note(alert("resolved", T0), T0)
    assert memory.admit(alert("firing", T0), open_occurrence=False).kind == "ignore"
    older = memory.admit(alert("firing", T0 - timedelta(minutes=5)), open_occurrence=False)
    assert older.kind == "ignore" and "older" in older.reason


def test_resolution_older_than_the_firing_instance_is_ignored() -> None:
    memory = AlertMemory()
    later = T0 + timedelta(hours=1)
    memory.note(alert("firing", later), later)
    stale = memory.admit(alert("resolved", T0), open_occurrence=True)
    assert stale.kind == "ignore" and "older than the instance firing now" in stale.reason
    assert memory.admit(alert("resolved", later), open_occurrence=True).kind == "join"


def test_signals_without_fingerprint_are_not_remembered() -> None:
    memory = AlertMemory()
    by_hand = alert("resolved", T0).model_copy(update={"fingerprint": None})
    memory.note(by_hand, T0)
    assert memory.resolved == {}
    fire = by_hand.model_copy(update={"status": SignalStatus.FIRING})
    assert memory.admit(fire, open_occurrence=False).kind == "open"


def test_memory_expires_after_its_window() -> None:
    memory = AlertMemory()
    memory.note(alert("resolved", T0), T0)
    memory.expire(T0 + timedelta(hours=4, minutes=1), timedelta(hours=4))
    assert memory.admit(alert("firing", T0), open_occurrence=False).kind == "open"


def _take(order: InstanceOrder, signal: BreachSignal) -> bool:
    """True when the occurrence acts on ``signal`` (it is not stale)."""
    if order.stale("es", signal):
        return False
    order.note("es", signal)
    return True


def test_a_resolution_overtaken_by_the_next_firing_is_stale() -> None:
    """A flap delivered out of order: firing of the next instance, then the older resolution."""
    order = InstanceOrder()
    later = T0 + timedelta(minutes=1)
    assert _take(order, alert("firing", T0))
    assert _take(order, alert("firing", later))
    assert not _take(order, alert("resolved", T0)), "the older instance's resolution"
    assert _take(order, alert("resolved", later))


def test_a_firing_overtaken_by_its_own_resolution_is_stale() -> None:
    order = InstanceOrder()
    assert _take(order, alert("resolved", T0))
    assert not _take(order, alert("firing", T0)), "that instance is over"
    assert _take(order, alert("firing", T0 + timedelta(minutes=1))), "a new instance fires"


def test_hand_sent_signals_have_no_order_and_are_taken() -> None:
    order = InstanceOrder()
    by_hand = alert("resolved", T0).model_copy(update={"started_at": None})
    assert _take(order, alert("firing", T0))
    assert _take(order, by_hand)

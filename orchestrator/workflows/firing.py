"""Which alerts fire in an occurrence: the set of firing alerts, and the order of their instances.

An occurrence fires while any of its alerts fires. A resolution clears its own alert, every
hand-sent (unlabelled) one of its segment, and, when it is itself hand-sent, every alert of its
segment (or of the service when it names none). With ``ordered`` (runs started since the
``ordered-alerts`` patch), a signal of an alert instance older than one already seen is stale
(:class:`~orchestrator.domain.alert_memory.InstanceOrder`): recorded, not acted on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.domain.alert_memory import InstanceOrder
    from orchestrator.domain.signals import BreachSignal, SignalStatus

Alert = tuple[str, str]
"""(segment, labels as sorted JSON)."""


class FiringAlerts:
    def __init__(
        self, ordered: bool, active: Iterable[Alert] = (), order: InstanceOrder | None = None
    ) -> None:
        self.ordered = ordered
        self.active: set[Alert] = set(active)
        self.order = order or InstanceOrder()

    @property
    def firing(self) -> bool:
        return bool(self.active)

    def take(self, signal: BreachSignal) -> bool:
        """Act on ``signal``; False when it is stale and nothing changed."""
        alert = (str(signal.segment or ""), json.dumps(signal.labels, sort_keys=True))
        if self.ordered:
            name = json.dumps(alert)
            if self.order.stale(name, signal):
                return False
            self.order.note(name, signal)
        self._track(alert, signal)
        return True

    def _track(self, alert: Alert, signal: BreachSignal) -> None:
        if signal.status is SignalStatus.FIRING:
            self.active.add(alert)
            return
        self.active.discard(alert)
        segment = alert[0]
        by_hand = not signal.labels
        self.active = {
            (seg, labels)
            for seg, labels in self.active
            if not ((seg == segment or (by_hand and not segment)) and (by_hand or labels == "{}"))
        }

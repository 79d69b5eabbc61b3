"""Two incidents hold one temporary pin (issue 9, defect 7 for a deployment rather than a flag).

language-gap and task-success both launch the stopgap that pins the prompt to known-good (v41)
while the SLO is breached. The second finds the pin in place and joins it. The first to resolve
must leave v41 serving for the other; the last to resolve brings back what served before the
first (v42). On the code before the holdings ledger, the second recorded no undo and the first's
undo put v42 back while the second was still open.
"""

from __future__ import annotations

from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.harness import Harness
from tests.workflows.signals import launched, recovered
from tests.workflows.stopgaps import HOLD_PROMPT, RAN_BEFORE_IT, SERVED_BEFORE


async def test_two_incidents_holding_one_pin_the_first_to_resolve_keeps_it_for_the_other(
    harness: Harness,
) -> None:
    h = harness
    library = PlaybookLibrary(playbooks=(*h.runtime.library.playbooks, HOLD_PROMPT))
    one = await h.submit(launched("hold-prompt-version", "language-gap"), library)
    await h.until(one, IncidentPhase.MONITORING, step="rollback")
    two = await h.submit(launched("hold-prompt-version", "task-success"), library)
    await h.until(two, IncidentPhase.MONITORING, step="rollback")
    assert one != two
    assert await h.version("prompt") == RAN_BEFORE_IT
    history = (await h.local.deploy.state("support-assistant", "prompt")).history

    await h.submit(recovered("language-gap"))
    assert (await h.result(one)).phase is IncidentPhase.RESOLVED
    assert (await h.state(two)).phase is IncidentPhase.MONITORING
    assert await h.version("prompt") == RAN_BEFORE_IT, "the other incident still holds the pin"
    assert (await h.local.deploy.state("support-assistant", "prompt")).history == history

    await h.submit(recovered("task-success"))
    assert (await h.result(two)).phase is IncidentPhase.RESOLVED
    assert await h.version("prompt") == SERVED_BEFORE, "the last to leave restores v42"

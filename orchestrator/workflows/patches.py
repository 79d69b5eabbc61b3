"""Which changes of workflow code a run has: ``workflow.patched``, with one marker for a new run.

Every change of workflow code since the first release is guarded by a patch of its own, so a run
started before the change replays as it ran. Each patch a new run asks for is a command, a
``MarkerRecorded`` event and (sdk-core adds it) a ``TemporalChangeVersion`` search-attribute
upsert, all in the run's first workflow task, the one before an incident's first mitigating change:
13 of them in an occurrence's. So a run started on code that has every change of
:data:`ROLLED_UP` records one marker, :data:`PATCH_ROLLUP`, and has them all; a run whose history
has no such marker (started before it) asks for each change by its own marker, as it did.

:func:`patched` asks for :data:`PATCH_ROLLUP` first in every run, whatever patch it is asked for:
on a run's first call it is recorded (new run) or found missing (older run), and the SDK
remembers the answer for the rest of the run. A change made after the rollup gets a patch of its
own, never a place in :data:`ROLLED_UP`: a run with the rollup marker started before that change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from temporalio import workflow

PATCH_ROLLUP = "changes-to-issue-15"
ROLLED_UP = frozenset(
    {
        "bounded-audit",
        "batched-audit",
        "bad-signals-recorded",
        "ordered-alerts",
        "reset-safe-keys",
        "held-changes",
        "late-signals",
        "provider-waits",
        "ending-phase",
        "continue-as-new",
        "lean-upserts",
        "review-links",
        "audit-after-first-effect",
        "key-continues",
        "key-continues-mid-burst",
    }
)
"""Every patch of the workflow code before the rollup (issue 15)."""


_AHEAD: ContextVar[bool] = ContextVar("deciding_ahead", default=False)


def patched(patch_id: str) -> bool:
    """Whether this run has the change ``patch_id`` (workflow code only)."""
    if _AHEAD.get():
        return patch_id in ROLLED_UP
    if workflow.patched(PATCH_ROLLUP) and patch_id in ROLLED_UP:
        return True
    return workflow.patched(patch_id)


@contextmanager
def deciding_ahead() -> Iterator[None]:
    """While the key's workflow builds the occurrence it is about to start
    (:mod:`.first`): the occurrence's code asks for its patches then, in the middle of the key's
    run, where a marker must never be recorded (a later patch would be met at another point on
    replay). A key run that decides ahead started after the rollup (``first-change-in-key``
    came after it), so the rolled-up changes are in; a change made since is not, for the
    occurrence the key builds: at worst it decides otherwise, and its run adopts the change."""
    token = _AHEAD.set(True)
    try:
        yield
    finally:
        _AHEAD.reset(token)

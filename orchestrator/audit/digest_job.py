"""The periodic digest job: a task beside the worker, never on an incident's path.

It opens its own connections to the audit database (so it never queues behind the audit
activities), checks every ``tick`` seconds whether a digest is due (``every`` events since the
last, or ``interval`` seconds) and writes it. Writing is idempotent and safe with several workers
racing (:func:`~orchestrator.audit.digests.write_digest_if_due`); a failure is logged and retried
at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from orchestrator.audit.digests import DIGESTS_TABLE, write_digest_if_due
from orchestrator.audit.factory import open_audit_store, open_holding_store
from orchestrator.audit.rows import Clock, utc_now
from orchestrator.audit.signing import Signer
from orchestrator.errors import OrchestratorError

_log = structlog.get_logger("orchestrator.audit.digests")


async def run_digest_job(
    url: str, signer: Signer, *, every: int, interval: float, clock: Clock = utc_now
) -> None:
    """Run until cancelled."""
    store = open_audit_store(url)
    digests = open_holding_store(url, DIGESTS_TABLE)
    tick = min(interval / 4, 30.0)
    try:
        while True:
            try:
                made = await write_digest_if_due(
                    store, digests, signer, now=clock(), every=every, interval=interval
                )
                if made is not None:
                    _log.info("audit digest written", digest=made.n, head_seq=made.head_seq)
            except OrchestratorError as exc:
                _log.warning("audit digest not written; retrying", error=str(exc))
            await asyncio.sleep(tick)
    finally:
        with contextlib.suppress(OrchestratorError):
            await digests.close()
            await store.close()


def start_digest_job(
    url: str, signer: Signer | None, *, every: int, interval: float
) -> asyncio.Task[None] | None:
    """The job as a task when a signing key is set; None (no digests) otherwise."""
    if signer is None:
        return None
    job = run_digest_job(url, signer, every=every, interval=interval)
    return asyncio.create_task(job, name="audit-digests")


async def stop_digest_job(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

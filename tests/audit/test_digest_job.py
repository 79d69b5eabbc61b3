"""The periodic digest job beside the worker: digests appear by count and by time, then it stops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from orchestrator.audit.digest_job import start_digest_job, stop_digest_job
from orchestrator.audit.digests import DIGESTS_TABLE, load_digests
from orchestrator.audit.factory import open_holding_store
from orchestrator.audit.proof import verify_store_digests
from orchestrator.audit.signing import HmacSigner
from orchestrator.secrets import Secret
from tests.audit.conftest import Backend
from tests.audit.factories import event

KEY = Secret("digest-job-key-0123456789")


async def test_the_job_writes_signed_chained_digests_until_stopped(backend: Backend) -> None:
    assert start_digest_job(backend.url, None, every=2, interval=0.4) is None
    for i in range(1, 4):
        await backend.store.append(event(i))
    task = start_digest_job(backend.url, HmacSigner(KEY), every=2, interval=0.4)
    digests = open_holding_store(backend.url, DIGESTS_TABLE)
    try:
        for i in range(4, 8):
            await backend.store.append(event(i))
            await asyncio.sleep(0.25)
        await asyncio.sleep(0.6)  # idle: a digest by time alone
        await stop_digest_job(task)
        found = await load_digests(digests)
        assert len(found) >= 3 and found[-1].head_seq == 7
        problems = await verify_store_digests(
            backend.store, digests, HmacSigner(KEY), now=datetime.now(UTC), interval=0.4
        )
        assert problems == []
    finally:
        await stop_digest_job(task)
        await digests.close()

"""Run as a separate process by the multi-process tests: append events to a shared store.

usage: append_worker.py URL PREFIX COUNT READY_FILE GO_FILE
Writes READY_FILE once the store is open, waits for GO_FILE, then appends COUNT events keyed
PREFIX/i plus one event keyed "shared/once" (the same key in every process), and prints the seqs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from orchestrator.audit.factory import open_audit_store
from orchestrator.audit.model import AuditKind
from tests.audit.factories import event


async def main(url: str, prefix: str, count: int, ready: Path, go: Path) -> None:
    store = open_audit_store(url)
    try:
        await store.events(limit=1)  # connect and set up before the start line
        await asyncio.to_thread(ready.touch)
        deadline = time.monotonic() + 60
        while not await asyncio.to_thread(go.exists):
            if time.monotonic() > deadline:
                raise SystemExit("no go signal within 60 s")
            await asyncio.sleep(0.005)
        seqs = []
        for i in range(count):
            stored = await store.append(event(i, incident=prefix, key=f"{prefix}/{i}"))
            seqs.append(stored.seq)
            if i == count // 2:
                shared = event(0, incident="shared", kind=AuditKind.NOTE, key="shared/once")
                seqs.append((await store.append(shared.model_copy(update={"actor": prefix}))).seq)
        print(json.dumps(seqs))
    finally:
        await store.close()


if __name__ == "__main__":
    url, prefix, count, ready, go = sys.argv[1:6]
    asyncio.run(main(url, prefix, int(count), Path(ready), Path(go)))

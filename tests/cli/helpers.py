"""Running the `orchestrator` command as a real process, as the CLI tests do."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "orchestrator")


@dataclass
class Result:
    code: int
    out: str
    err: str


async def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Result:
    """Run `orchestrator ARGS` with a bare environment (PATH, actor, PYTHONPATH if set)."""
    proc = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            "PATH": "/usr/bin:/bin",
            "ORCHESTRATOR_ACTOR": "cli-test",
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
            **(env or {}),
        },
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())

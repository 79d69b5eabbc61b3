"""A long-running process gives freed memory back to the system (workers/allocator.py).

Run in child processes so each starts with glibc's own settings: a big block freed raises glibc's
mmap threshold, after which 256 KiB blocks come from the heap, between small live ones, and stay
in the process once freed; with the thresholds fixed they are mapped, and unmapped when freed.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from workers.allocator import OPERATOR_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the thresholds are glibc's",
)

RSS_MB = """
def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
"""

CHILD = (
    RSS_MB
    + """
import sys
from workers.allocator import return_freed_memory

print(return_freed_memory() if sys.argv[1] == "fixed" else "default")
big = bytearray(8 << 20)  # mapped on its own, then freed: glibc raises its thresholds
del big
base = rss_mb()
blocks, pins = [], []
for _ in range(400):  # 100 MiB in 256 KiB blocks, each followed by a small block that stays
    blocks.append(bytearray(256 << 10))
    pins.append(bytearray(1000))
del blocks
print(round(rss_mb() - base))
"""
)


def child(script: str, mode: str, env: dict[str, str] | None = None) -> list[str]:
    """What a child process running ``script`` printed, word by word."""
    done = subprocess.run(
        [sys.executable, "-c", script, mode],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    return done.stdout.split()


def kept_mb(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    answer, kept = child(CHILD, mode, env)
    return answer, int(kept)


def test_freed_blocks_stay_in_the_process_with_glibcs_own_thresholds() -> None:
    answer, kept = kept_mb("default")
    assert answer == "default"
    assert kept > 80, f"{kept} MiB kept"  # what the fix is for: nearly all 100 MiB


def test_with_the_thresholds_fixed_freed_blocks_go_back_to_the_system() -> None:
    answer, kept = kept_mb("fixed")
    assert answer == "True"
    assert kept < 10, f"{kept} MiB kept"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (OPERATOR_SETTINGS[0], "1048576"),
        (OPERATOR_SETTINGS[1], "1048576"),
        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1048576"),
    ],
)
def test_an_operators_own_threshold_is_kept(name: str, value: str) -> None:
    answer, _ = kept_mb("fixed", {**os.environ, name: value})
    assert answer == "False"


def test_an_unrelated_glibc_tunable_does_not_stop_the_fix() -> None:
    answer, kept = kept_mb("fixed", {**os.environ, "GLIBC_TUNABLES": "glibc.pthread.rseq=0"})
    assert answer == "True"
    assert kept < 10, f"{kept} MiB kept"


TRIM_CHILD = (
    RSS_MB
    + """
import sys, time
from workers.allocator import return_freed_memory, trimming

return_freed_memory()
base = rss_mb()
blocks, pins = [], []
for _ in range(1600):  # 100 MiB in 64 KiB heap blocks, each followed by a small block that stays
    blocks.append(bytearray(64 << 10))
    pins.append(bytearray(1000))
del blocks  # free, but between live blocks: below the top of the heap, where no threshold reaches
with trimming(every=3600 if sys.argv[1] == "no look" else 0.2) as thread:
    until = time.monotonic() + 1.5
    while time.monotonic() < until:  # busy: the process works the whole time; else it sleeps
        if sys.argv[1] != "busy":
            time.sleep(0.01)
    kept = round(rss_mb() - base)
print(kept, thread.is_alive())
"""
)


@pytest.mark.parametrize(
    ("mode", "at_least", "below"), [("quiet", 0, 10), ("no look", 80, 200), ("busy", 80, 200)]
)
def test_a_quiet_process_hands_free_heap_pages_back(mode: str, at_least: int, below: int) -> None:
    """With fixed thresholds, freed 64 KiB blocks between live ones stay in the process (100 MiB:
    no look within the body, or a process busy at every look); once the process is quiet the
    trimming thread gives them back. The thread stops with the body."""
    kept, alive = child(TRIM_CHILD, mode)
    assert at_least <= int(kept) < below, f"{kept} MiB kept"
    assert alive == "False"

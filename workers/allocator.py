"""Tell glibc's allocator to give freed memory back to the system (long-running processes).

glibc starts with a 128 KiB mmap threshold and raises it, up to 32 MiB, each time a block it had
mapped on its own is freed; the trim threshold follows at twice that. After a few big blocks
(a large JSON document, a history page) every allocation below the raised threshold comes from
the heap, and what is freed there stays in the process. The worker with 1,000 incidents open
and waiting held 270-282 MB; with both thresholds fixed at the starting 128 KiB, 235 MB
(``bench/first_mitigation.py``, docs/BENCHMARKS.md).
"""

from __future__ import annotations

import ctypes
import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD = 128 * 1024
"""glibc's own starting value for both (setting either turns the dynamic raising off)."""
OPERATOR_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
OPERATOR_TUNABLES = ("glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold")
"""When an operator sets either threshold through the environment (the variables, or these in
``GLIBC_TUNABLES``), theirs is kept."""


def _libc(name: str) -> Any | None:
    """A function of the C library the process runs on; None where it has no such function."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


def return_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds; False (nothing changed) where the C library is not
    glibc or the operator tuned the allocator."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if any(name in os.environ for name in OPERATOR_SETTINGS) or any(
        name in tunables for name in OPERATOR_TUNABLES
    ):
        return False
    mallopt = _libc("mallopt")
    if mallopt is None:  # not a glibc-like C library (macOS has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt answers 1 when it took the value (musl's stub answers 0).
    took: list[int] = [
        mallopt(option, THRESHOLD) for option in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD)
    ]
    return took == [1, 1]


def _malloc_trim() -> Any | None:
    """glibc's ``malloc_trim``, typed; None where the C library has none. Called through
    ``ctypes.CDLL``, it runs without the GIL: a thread trimming leaves the event loop's Python
    running (an allocation in the arena it is going through waits for it, a few ms)."""
    malloc_trim = _libc("malloc_trim")
    if malloc_trim is not None:
        malloc_trim.argtypes = [ctypes.c_size_t]
        malloc_trim.restype = ctypes.c_int
    return malloc_trim


def give_back() -> bool:
    """Collect cyclic garbage and hand the free pages inside glibc's heap back to the system
    (``malloc_trim``), after something big was dropped; False where the C library has no
    ``malloc_trim``. The catalog a worker reads to check when it starts (1,335 services: 51 MB)
    is garbage a moment later, but it stays in the process until the collector's rare full pass
    and, freed, between blocks still in use, where the thresholds above do not reach it."""
    gc.collect()
    malloc_trim = _malloc_trim()
    if malloc_trim is None:
        return False
    malloc_trim(0)
    return True


TRIM_EVERY = 10.0
"""Seconds between two looks of the trimming thread (``trimming``)."""
QUIET = 0.05
"""A process that used less CPU than this share of one core since the last look is quiet."""


@contextmanager
def trimming(every: float = TRIM_EVERY) -> Iterator[threading.Thread | None]:
    """While the body runs, a thread hands glibc's free heap pages back once the process goes
    quiet (its CPU, all threads, under ``QUIET`` of a core since the last look, ``every`` s).

    The thresholds above return big blocks as they are freed; the small ones a worker frees as
    incidents come and go sit between blocks still in use, in pages glibc keeps until something
    trims them: 30 MB free in glibc's arenas with 1,000 incidents open and waiting, about 12 MB
    of it in whole pages. While incidents come and go the same pages are used again within
    seconds (a trim then costs page faults and saves nothing), so it waits for a quiet moment.
    Yields the thread (None where the C library has no ``malloc_trim``); it stops, and is
    joined, when the body ends."""
    malloc_trim = _malloc_trim()
    if malloc_trim is None:
        yield None
        return
    stop = threading.Event()

    def trim() -> None:
        used = time.process_time()
        while not stop.wait(every):
            if time.process_time() - used < QUIET * every:
                malloc_trim(0)
            used = time.process_time()  # the trim's own CPU is not the next look's

    thread = threading.Thread(target=trim, name="malloc-trim", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join()

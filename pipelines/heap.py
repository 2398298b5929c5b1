"""Giving the C heap's free memory back to the system during a long run.

glibc's malloc keeps what numpy and pandas free in its arenas (one per thread that allocates:
a transform has three) and raises its mmap threshold as large arrays come and go, so a run's
resident memory crept up with the file: validate at 10M rows peaked ~45 MB above 1M.
`malloc_trim` every few chunks returns the free pages: 10M rows 456 MB instead of 498, 1M rows
430 instead of 455, in the same time (bench/results.md). Without glibc (macOS, musl) it does
nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from typing import Final

__all__ = ["TRIM_EVERY", "give_back_free_memory"]

TRIM_EVERY: Final = 5  # chunks between two trims: each takes ~1-3 ms


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        # the process's own symbols, libc's among them (ctypes.util.find_library would fork
        # `ldconfig` from a process of several hundred MB)
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def give_back_free_memory() -> bool:
    """Return the C heap's free pages to the system; False where the libc cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True

"""Which allocator Arrow's buffers come from during a run.

pyarrow's default pool (mimalloc) keeps much of what a chunk freed for later chunks, so a run's
peak grows with the copies each chunk makes; jemalloc gives it back and keeps validate at 1M rows
~90 MB lower at the same speed (bench/results.md). `ARROW_DEFAULT_MEMORY_POOL`, when set, is the
operator's choice and is left alone; a pyarrow built without jemalloc keeps its default.
"""

from __future__ import annotations

import contextlib
import os

import pyarrow as pa  # type: ignore[import-untyped]

__all__ = ["use_lean_pool"]


def use_lean_pool() -> str:
    """Make jemalloc Arrow's default pool unless the environment chose one; the pool's name."""
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        # a pyarrow built without jemalloc (not the Linux or macOS wheels) keeps its default
        with contextlib.suppress(NotImplementedError):
            pa.set_memory_pool(pa.jemalloc_memory_pool())
    return str(pa.default_memory_pool().backend_name)

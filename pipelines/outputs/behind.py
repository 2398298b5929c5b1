"""Writing a chunk's files on a second thread while the next chunk is prepared.

The writers' work is mostly Arrow kernels, zlib and file writes, which run without the GIL, so
on a second core it overlaps the transform of the next chunk (validate at 1M rows: ~10% less
wall time, bench/results.md). One write runs at a time, in the order given, and at most one
waits behind the caller: memory grows by one chunk, not by the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class WriteBehind:
    """Runs `submit`ted writes one after another on a thread of its own.

    A write's exception is raised in the caller at the next `submit`, `wait` or `close`; the
    writes after a failed one are not run. `abandon` waits for the running write and drops any
    failure: for a caller that is discarding the output anyway.
    """

    def __init__(self, name: str = "kindful-etl-write") -> None:
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[Any] | None = None

    def submit(self, write: Callable[..., Any], *args: Any) -> None:
        """Start `write(*args)` once the write before it is done (its failure raised here)."""
        self.wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix=self._name)
        self._pending = self._pool.submit(write, *args)

    def wait(self) -> None:
        """Return once every write submitted is done; raise the failure of one that failed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """`wait`, then stop the thread."""
        try:
            self.wait()
        finally:
            self._stop()

    def abandon(self) -> None:
        """Let the running write finish, forget its outcome, stop the thread."""
        try:
            with contextlib.suppress(Exception):  # the caller is throwing the output away
                self.wait()
        finally:
            self._stop()

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.close()
        else:
            self.abandon()

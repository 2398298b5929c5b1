"""Reading and normalizing the next chunk on a second thread while this one is finished.

A chunk's reading and normalizing need no other chunk; its ids and validation come after the
chunks before it. Most of the first half is Arrow kernels that run without the GIL, so on a
second core it overlaps the rest of the run (validate at 1M rows: ~8% less wall time,
bench/results.md). One item is worked on ahead of the consumer, so memory grows by one chunk.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future
from typing import Final, TypeVar

__all__ = ["STOP_GRACE", "ahead"]

T = TypeVar("T")
U = TypeVar("U")

_END: Final = object()
STOP_GRACE: Final = 1.0  # seconds a consumer that stops early waits for the thread's item


def ahead(items: Iterator[T], work: Callable[[T], U], *, name: str) -> Generator[U, None, None]:
    """`work(item)` for each of `items`, in order, each computed on a thread of its own while
    the consumer handles the one before.

    The thread takes the items from `items` itself, in the caller's context (contextvars: the
    reader's byte meter, a flow's logger). An exception from `items` or `work` is raised to the
    consumer where that item's result would have come, after every result before it. A consumer
    that stops early (an error, a stop signal, `close`) waits at most STOP_GRACE seconds for the
    item the thread is on (then the thread ends), so the process does not exit while it is inside
    pyarrow, yet a source stalled mid-read cannot hold up a stop (a daemon thread, it does not
    keep the process alive).
    """
    asks: queue.SimpleQueue[Future[object] | None] = queue.SimpleQueue()
    thread = threading.Thread(
        target=contextvars.copy_context().run,
        args=(_serve, items, work, asks),
        name=name,
        daemon=True,
    )
    thread.start()

    def ask() -> Future[object]:
        answer: Future[object] = Future()
        asks.put(answer)
        return answer

    pending = ask()
    finished = False
    try:
        while (done := pending.result()) is not _END:
            pending = ask()  # the next item is worked on while this one is handled
            yield done  # type: ignore[misc]
        finished = True
    finally:
        asks.put(None)
        thread.join(None if finished else STOP_GRACE)


def _serve(
    items: Iterator[T], work: Callable[[T], U], asks: queue.SimpleQueue[Future[object] | None]
) -> None:
    while (answer := asks.get()) is not None:
        try:
            item = next(items, _END)
            answer.set_result(item if item is _END else work(item))  # type: ignore[arg-type]
        except BaseException as exc:  # every answer is given: the consumer waits for it
            answer.set_exception(exc)

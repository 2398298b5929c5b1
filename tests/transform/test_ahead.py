"""transform.ahead: in order, one item ahead, errors where they belong, no wait on a stop."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator

import pytest

from pipelines.transform.ahead import STOP_GRACE, ahead

_NAME = "test-ahead"
_WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == _NAME]


def _gone(timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while _threads() and time.monotonic() < end:
        time.sleep(0.01)
    return not _threads()


def test_results_come_in_order_worked_on_another_thread() -> None:
    workers: set[str] = set()

    def square(n: int) -> int:
        workers.add(threading.current_thread().name)
        time.sleep(0.001 * (n % 3))  # uneven work does not reorder anything
        return n * n

    assert list(ahead(iter(range(20)), square, name=_NAME)) == [n * n for n in range(20)]
    assert workers == {_NAME}
    assert _gone(timeout=0)  # a finished consumer has joined the thread


def test_the_next_item_is_worked_on_while_the_consumer_holds_one() -> None:
    started: list[int] = []
    second = threading.Event()

    def note(n: int) -> int:
        started.append(n)
        if n == 1:
            second.set()
        return n

    results = ahead(iter(range(5)), note, name=_NAME)
    assert next(results) == 0
    assert second.wait(5)  # item 1 started before the consumer asked for it
    assert started == [0, 1]  # and no further: one item ahead, not the whole source
    time.sleep(0.05)
    assert started == [0, 1]
    assert list(results) == [1, 2, 3, 4]


def test_an_error_of_the_work_comes_after_the_results_before_it() -> None:
    def fail_at_three(n: int) -> int:
        if n == 3:
            raise ValueError("bad item 3")
        return n

    got: list[int] = []
    with pytest.raises(ValueError, match="bad item 3"):
        got.extend(ahead(iter(range(10)), fail_at_three, name=_NAME))
    assert got == [0, 1, 2]
    assert _gone()


def test_an_error_of_the_source_comes_after_its_items() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("the file went away")

    got: list[int] = []
    with pytest.raises(OSError, match="went away"):
        got.extend(ahead(source(), lambda n: n * 10, name=_NAME))
    assert got == [10, 20]
    assert _gone()


def test_a_consumer_that_stops_does_not_wait_for_a_stalled_item() -> None:
    stalled, release = threading.Event(), threading.Event()
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield 0
            stalled.set()
            release.wait(10)  # a read that hangs (a network source)
            yield 1
            yield 2
        finally:
            closed.set()

    results = ahead(source(), lambda n: n, name=_NAME)
    assert next(results) == 0
    assert stalled.wait(5)
    start = time.monotonic()
    results.close()  # what a stop signal or an error in the consumer does
    assert time.monotonic() - start < STOP_GRACE + 0.5
    assert _threads() and not closed.is_set()  # still in the read, on its own
    release.set()
    assert _gone()  # then it ends, without taking the next item
    assert closed.wait(5)


def test_the_work_runs_in_the_callers_context() -> None:
    token = _WHO.set("the run")
    try:
        seen = list(ahead(iter(range(3)), lambda _: _WHO.get(), name=_NAME))
    finally:
        _WHO.reset(token)
    assert seen == ["the run"] * 3


def test_an_empty_source_gives_nothing() -> None:
    assert list(ahead(iter([]), lambda n: n, name=_NAME)) == []
    assert _gone(timeout=0)


def test_a_consumer_that_stops_lets_a_short_item_finish_first() -> None:
    def slow(n: int) -> int:
        time.sleep(0.2)  # e.g. pyarrow parsing a block: the process should not exit inside it
        return n

    results = ahead(iter(range(5)), slow, name=_NAME)
    assert next(results) == 0  # item 1 is under way now
    results.close()
    assert not _threads()  # waited for it (well within STOP_GRACE), then the thread ended

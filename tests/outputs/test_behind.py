"""Writes behind the caller: in order, one at a time, a failure raised where the caller can act,
no thread left over."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pipelines.outputs.behind import WriteBehind
from pipelines.transform.job import validate_export


def _writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("kindful-etl-")]


def test_writes_run_in_order_one_at_a_time_on_another_thread() -> None:
    done: list[tuple[int, str]] = []
    running = threading.Lock()

    def write(number: int) -> None:
        assert running.acquire(blocking=False), "two writes at once"
        time.sleep(0.01)
        done.append((number, threading.current_thread().name))
        running.release()

    with WriteBehind("kindful-etl-test") as behind:
        for number in range(5):
            behind.submit(write, number)
    assert [n for n, _ in done] == [0, 1, 2, 3, 4]
    assert all(name.startswith("kindful-etl-test") for _, name in done)
    assert _writer_threads() == []


def test_a_failed_write_is_raised_at_the_next_call_and_stops_the_writes_after_it() -> None:
    done: list[int] = []

    def write(number: int) -> None:
        if number == 1:
            raise OSError("disk full")
        done.append(number)

    behind = WriteBehind()
    behind.submit(write, 0)
    behind.submit(write, 1)
    with pytest.raises(OSError, match="disk full"):
        behind.submit(write, 2)
    behind.close()
    assert done == [0]
    assert _writer_threads() == []


def test_close_raises_the_last_failure_and_abandon_drops_it() -> None:
    def fail() -> None:
        raise ValueError("last write")

    behind = WriteBehind()
    behind.submit(fail)
    with pytest.raises(ValueError, match="last write"):
        behind.close()
    behind.submit(fail)
    behind.abandon()  # nothing raised: the output is being thrown away
    assert _writer_threads() == []


def test_leaving_the_block_on_an_error_waits_for_the_running_write() -> None:
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.1)
        finished.set()

    def caller() -> None:
        with WriteBehind() as behind:
            behind.submit(slow)
            raise KeyError("the caller failed")

    with pytest.raises(KeyError):
        caller()
    assert finished.is_set()  # the caller may now remove what the write made
    assert _writer_threads() == []


def test_validate_leaves_no_writer_thread(tmp_path: Path) -> None:
    source = tmp_path / "donors.csv"
    source.write_text("first_name,last_name\nAda,Example\nGrace,Tester\n")
    summary = validate_export(
        str(source), data_format="contact", out_dir=tmp_path / "out", chunk_rows=1
    )
    assert summary["rows_read"] == 2
    assert (tmp_path / "out" / "normalized.csv").read_text().count("\n") == 3
    assert _writer_threads() == []

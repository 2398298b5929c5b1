"""The progress renderers: plain lines (throttled), the rich display on a terminal, or nothing."""

from __future__ import annotations

import io
import logging
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from flows.cli import progress as cli
from flows.cli.progress import RichProgress, cli_progress, progress_mode
from pipelines.progress import PlainProgress, Snapshot

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drive_load(progress: PlainProgress | RichProgress) -> None:
    """A small import: three chunks read, then three batches, the second one being waited on."""
    for n in range(1, 4):
        progress.batches(written=n)
        progress.reading(n * 1_000_000, 3_000_000, n * 100_000, n * 1_000)
    progress.batches(written=3, total=3)
    progress.batches(written=3, staged=1, submitted=1, complete=1, total=3)
    progress.batches(written=3, staged=2, submitted=2, complete=1, total=3)
    progress.waiting("batch-00002.csv.gz", "job-77")


def test_plain_lines_are_throttled_and_end_with_the_final_counts() -> None:
    clock, lines = Clock(), []
    plain = PlainProgress(lines.append, interval=5.0, clock=clock)
    for second in range(13):  # a chunk a second
        clock.now = 100.0 + second
        plain.reading(second * 10, 120, second * 1_000, second)
    assert lines == [
        "progress: 5,000 rows read (41%), 5 rejected",
        "progress: 10,000 rows read (83%), 10 rejected",
    ]
    plain.done()
    plain.done()  # once only
    assert lines[2:] == ["progress: 12,000 rows read (100%), 12 rejected"]
    plain.reading(1, 1, 1, 1)
    assert len(lines) == 3  # nothing after done


def test_plain_final_line_is_not_repeated_when_nothing_changed() -> None:
    clock, lines = Clock(), []
    plain = PlainProgress(lines.append, clock=clock)
    plain.reading(1, None, 10, 0)
    clock.now += 6
    plain.reading(2, None, 20, 0)
    plain.done()
    assert lines == ["progress: 20 rows read, 0 rejected"]  # size unknown: no percentage


def test_plain_line_of_a_load_names_the_job_waited_on() -> None:
    clock, lines = Clock(), []
    plain = PlainProgress(lines.append, clock=clock)
    drive_load(plain)
    plain.done()
    assert lines == [
        "progress: 300,000 rows read (100%), 3,000 rejected, 1/3 batches complete, "
        "waiting for job job-77 (batch-00002.csv.gz)"
    ]
    state = Snapshot()
    state.on_waiting("b", "j")
    state.on_batches(3, 2, 2, 2, 3)  # a batch over: so is its job
    assert state.waiting_job is None


def test_the_prepare_line_counts_batches_written() -> None:
    state = Snapshot()
    state.on_batches(4, 0, 0, 0, None)
    state.on_reading(50, 100, 40_000, 12)
    assert state.line() == "progress: 40,000 rows read (50%), 12 rejected, 4 batches written"
    assert Snapshot().line() == "progress: starting"


def test_not_a_terminal_gets_plain_lines_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli.ENV_VAR, raising=False)
    stream = io.StringIO()
    with cli_progress("validate", stream=stream) as progress:
        assert isinstance(progress, PlainProgress)
        progress.reading(10, 40, 1_200, 3)
    assert stream.getvalue() == "progress: 1,200 rows read (25%), 3 rejected\n"


def test_a_failed_run_ends_without_final_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli.ENV_VAR, raising=False)
    stream = io.StringIO()

    def failing_run() -> None:
        with cli_progress("validate", stream=stream) as progress:
            progress.reading(10, 40, 1_200, 3)
            raise KeyError("boom")  # the command's error line is the last thing it says

    with pytest.raises(KeyError, match="boom"):
        failing_run()
    assert stream.getvalue() == ""


def test_off_means_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli.ENV_VAR, "0")
    stream = io.StringIO()
    with cli_progress("validate", stream=stream) as progress:
        progress.reading(10, 40, 1_200, 3)
    assert stream.getvalue() == ""
    assert progress_mode(stream) == "off"
    monkeypatch.setenv(cli.ENV_VAR, "plain")
    assert progress_mode(stream) == "plain"


def test_inside_a_flow_run_lines_go_to_the_run_logger(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(cli.ENV_VAR, raising=False)
    logger = logging.getLogger("test.flow-run")
    monkeypatch.setattr(cli, "_flow_run_logger", lambda: logger)
    stream = io.StringIO()
    with (
        caplog.at_level(logging.INFO, logger="test.flow-run"),
        cli_progress("import", stream=stream) as progress,
    ):
        progress.reading(1, 2, 3, 0)
    assert stream.getvalue() == ""
    assert [r.getMessage() for r in caplog.records] == ["progress: 3 rows read (50%), 0 rejected"]


def test_rich_display_shows_the_bar_rows_batches_and_job() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=110, color_system=None)
    progress = RichProgress("import", console, refresh_per_second=20)
    drive_load(progress)
    progress.done()
    progress.done()
    text = out.getvalue()
    final = text[text.rfind("import ") :]
    assert "━" in final and "100%" in final and "3.0/3.0 MB" in final
    assert "300,000 rows read · 3,000 rejected" in final
    assert "1/3 batches complete" in final
    assert (
        "2 staged · 2 submitted · 1 complete · waiting for job job-77 (batch-00002.csv.gz)" in final
    )


def test_a_terminal_gets_the_rich_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli.ENV_VAR, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    master, slave = pty.openpty()
    tty = os.fdopen(slave, "w", encoding="utf-8")
    try:
        assert progress_mode(tty) == "rich"
        with cli_progress("validate", stream=tty) as progress:
            assert isinstance(progress, RichProgress)
            progress.reading(25_000_000, 50_000_000, 150_000, 7_000)
            progress.reading(50_000_000, 50_000_000, 300_000, 14_000)
        tty.flush()
        seen = b""
        while select.select([master], [], [], 0.5)[0]:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            seen += chunk
    finally:
        tty.close()
        os.close(master)
    text = seen.decode("utf-8", "replace")
    assert "validate" in text and "━" in text and "50.0/50.0 MB" in text
    assert "300,000" in text and "rows read" in text and "14,000" in text


def test_the_module_imports_neither_rich_nor_pandas_nor_prefect() -> None:
    code = (
        "import sys, flows.cli.progress; "
        "print(sorted(m for m in ('rich', 'pandas', 'prefect') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"

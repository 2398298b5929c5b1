"""Progress on the command line: a live display on a terminal, plain lines otherwise.

The one-line wiring in a command (`validate`, `import`, `preview`)::

    from flows.cli.progress import cli_progress

    with cli_progress("validate") as progress:
        summary = validate_export(source, options=options, out_dir=..., progress=progress)
    # print the summary after the block: the display is finished by then

    with cli_progress("import") as progress:
        result, summary = import_file(source, options, settings, ..., progress=progress)

    with cli_progress("preview") as progress:
        result = preview_export(source, client, options, options.mapping, progress=progress)

`cli_progress(label)` yields a `pipelines.progress.Progress` and, when the block ends (also by
an exception), shows the final counts. What it yields:

- stderr is a terminal: a rich display on stderr, redrawn 4 times a second: a bar of the
  source's bytes read with the rate and the time left, the rows read and rejected so far, and
  once the load starts, a bar of batches complete with how many are staged and submitted and
  the Kindful job being waited on. It stays on screen, final, after the block.
- stderr is not a terminal (a pipe, a log file, CI): plain lines on stderr, at most one every
  5 seconds (`pipelines.progress.PROGRESS_INTERVAL`) plus a final one, e.g.
  ``progress: 1,200,000 rows read (41%), 3,117 rejected, 12/30 batches complete, waiting for
  job 8812 (batch-0013.csv.gz)``.
- inside a Prefect flow run: the same plain lines to the run logger.
- `KINDFUL_ETL_PROGRESS=0` (or off/no/false): nothing. `=plain` forces the plain lines and
  `=rich` the display (what a terminal gets by default).

Counts, batch names and job ids only, never a value from the data. Nothing here imports
pandas or Prefect, and rich only when the display is used, so `--help` stays fast. The events
arrive per chunk (100,000 rows) and per batch, so the display moves in those steps.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any, Final

from pipelines.progress import PlainProgress, Progress, Tracked

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

__all__ = ["ENV_VAR", "RichProgress", "cli_progress", "progress_mode"]

ENV_VAR: Final = "KINDFUL_ETL_PROGRESS"
_OFF: Final = {"0", "off", "no", "false", "none"}


def progress_mode(stream: IO[str] | None = None) -> str:
    """ "off", "plain", "rich" or "flow" (a Prefect flow run's logger), as `cli_progress` picks."""
    wanted = os.environ.get(ENV_VAR, "").strip().lower()
    if wanted in _OFF:
        return "off"
    if wanted in {"plain", "rich"}:
        return wanted
    if _flow_run_logger() is not None:
        return "flow"
    stream = stream if stream is not None else sys.stderr
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        terminal = False
    return "rich" if terminal and os.environ.get("TERM") != "dumb" else "plain"


@contextlib.contextmanager
def cli_progress(label: str, *, stream: IO[str] | None = None) -> Iterator[Progress]:
    """The progress renderer for a command (see the module doc); `stream` defaults to stderr."""
    mode = progress_mode(stream)
    out = stream if stream is not None else sys.stderr
    progress: Progress
    if mode == "off":
        yield Progress()
        return
    if mode == "flow":
        logger = _flow_run_logger()
        assert logger is not None
        progress = PlainProgress(logger.info)
    elif mode == "rich":
        from rich.console import Console

        progress = RichProgress(label, Console(file=out))
    else:
        progress = PlainProgress(_line_writer(out))
    try:
        yield progress
    except BaseException:
        progress.abandon()
        raise
    progress.done()


def _line_writer(out: IO[str]) -> Any:
    def write(line: str) -> None:
        print(line, file=out, flush=True)

    return write


def _flow_run_logger() -> Any:
    """The run logger when called inside a Prefect flow run (Prefect imported already)."""
    context = sys.modules.get("prefect.context")
    if context is None or context.FlowRunContext.get() is None:
        return None
    from prefect import get_run_logger

    return get_run_logger()


class RichProgress(Tracked):
    """The terminal display: rich bars and counts on `console`, live until `done()`.

    Events only store the counts and move the bars; rich's refresh thread draws.
    """

    def __init__(self, label: str, console: Console, *, refresh_per_second: float = 4) -> None:
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as Bars

        super().__init__()
        self._reading = Bars(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._read_task = self._reading.add_task(label, total=None)
        self._loading = Bars(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("batches complete"),
            console=console,
        )
        self._batch_task = self._loading.add_task("load", total=None, visible=False)
        # stdout stays where it goes (a summary piped to a file must not land on stderr)
        self._live = Live(
            _View(self),
            console=console,
            refresh_per_second=refresh_per_second,
            redirect_stdout=False,
        )
        self._live.start()
        self._done = False

    def changed(self, event: str) -> None:
        state = self.state
        if event == "reading":
            self._reading.update(
                self._read_task, completed=state.bytes_read, total=state.bytes_total
            )
        elif event == "batches" and state.batch_total is not None:
            self._loading.update(
                self._batch_task, completed=state.complete, total=state.batch_total, visible=True
            )

    def done(self) -> None:
        if self._done:
            return
        self._done = True
        if self.state.bytes_total is None and self.state.reading:
            # a source of unknown size is read once the run ends: the bar stops pulsing
            self._reading.update(self._read_task, total=max(self.state.bytes_read, 1))
            self._reading.update(self._read_task, completed=max(self.state.bytes_read, 1))
        self._reading.stop_task(self._read_task)
        self._live.refresh()
        self._live.stop()

    # -- drawing (rich's refresh thread) -------------------------------------------------------

    def renderables(self) -> list[RenderableType]:
        from rich.text import Text

        state = self.state
        parts: list[RenderableType] = [self._reading]
        counts = Text("  ")
        counts.append(f"{state.rows_read:,}", style="bold")
        counts.append(" rows read · ")
        counts.append(f"{state.rows_rejected:,}", style="bold red" if state.rows_rejected else "")
        counts.append(" rejected")
        if state.batch_events and state.batch_total is None:
            counts.append(f" · {state.written:,} batches written")
        if state.rows_judged is not None:
            if state.rows_judged < state.judge_total:
                counts.append(f" · judging {state.judge_total:,} rows against Kindful")
            else:
                counts.append(f" · {state.rows_judged:,} rows judged")
        parts.append(counts)
        if state.batch_total is not None:
            parts.append(self._loading)
            load = Text(
                f"  {state.staged:,} staged · {state.submitted:,} submitted · "
                f"{state.complete:,} complete"
            )
            if state.waiting_job is not None:
                load.append(" · waiting for job ")
                load.append(state.waiting_job, style="bold")
                load.append(f" ({state.waiting_batch})")
            parts.append(load)
        return parts


class _View:
    """What the live display draws, rebuilt on each refresh from the latest counts."""

    def __init__(self, owner: RichProgress) -> None:
        self._owner = owner

    def __rich__(self) -> RenderableType:
        from rich.console import Group

        return Group(*self._owner.renderables())

"""Progress of a long run, as counts: what `validate`, `import` and `preview` tell an analyst.

A run reports to a `Progress`: a base class whose methods do nothing, so a renderer overrides
only the events it shows and `NO_PROGRESS` (the default everywhere) costs one method call per
chunk or batch. Events carry counts, batch names and Kindful job ids, NEVER a value from the
data, and arrive per chunk or per batch, never per row:

- `reading(bytes_read, bytes_total, rows_read, rows_rejected)`: after each chunk of the export
  is read, mapped, normalized and validated. `bytes_read` counts the source as stored (gzip:
  compressed bytes) and reaches `bytes_total` when the file is read; `bytes_total` is None when
  the size is unknown (an http source without a length; an XLSX workbook, read by openpyxl).
  Counts never go down.
- `batches(written=, staged=, submitted=, complete=, total=)`: batch files written while the
  export is prepared (`total` None; sent just before each chunk's `reading`), then per batch
  of the load (`total` set): uploaded,
  submitted to Kindful, finished (`complete` counts every batch that is over: imported,
  skipped as imported by an earlier run, or failed).
- `waiting(batch_name, job_id)`: the load now waits for Kindful job `job_id` (that batch's).
- `judging(rows_judged, rows_total)`: `preview` reads Kindful's state and judges its rows.
- `done()`: the run is over; show the final state. Called once by whoever made the renderer
  (`flows.cli.progress.cli_progress` when its block ends), never by a pipeline it was handed to.

Hooked into `pipelines.transform.job` (`validate_export`, `prepare_run`),
`pipelines.load.run.load_prepared`, `pipelines.load.importing.import_file` and
`pipelines.preview.plan.preview_export`, each with a `progress=` keyword (default: none).

`PlainProgress` is the plain renderer: a line such as
``progress: 1,200,000 rows read (41%), 3,117 rejected, 12/30 batches complete, waiting for job
8812`` at most every `interval` seconds (5 by default) plus a final one, to any `emit` callable
(a logger's `info`, stderr). `prepare_run` logs through it by default, so a Prefect flow run's
log shows these lines. The terminal renderer (rich) is `flows/cli/progress.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["NO_PROGRESS", "PROGRESS_INTERVAL", "PlainProgress", "Progress", "Snapshot", "Tracked"]

PROGRESS_INTERVAL: Final = 5.0  # seconds between two plain progress lines


class Progress:
    """Receives a run's progress events; every method does nothing here (see the module doc)."""

    def reading(
        self, bytes_read: int, bytes_total: int | None, rows_read: int, rows_rejected: int
    ) -> None:
        """A chunk was read and judged: the totals so far."""

    def batches(
        self,
        *,
        written: int = 0,
        staged: int = 0,
        submitted: int = 0,
        complete: int = 0,
        total: int | None = None,
    ) -> None:
        """Batch counts so far: written (prepare), then staged, submitted, complete (load)."""

    def waiting(self, batch_name: str, job_id: str) -> None:
        """The load waits for Kindful job `job_id`, the import of `batch_name`."""

    def judging(self, rows_judged: int, rows_total: int) -> None:
        """`preview` judges its rows against Kindful's state."""

    def done(self) -> None:
        """The run is over (called by the renderer's owner, once)."""

    def abandon(self) -> None:
        """The run failed: end the display without final counts (its error line says why)."""
        self.done()


NO_PROGRESS: Final = Progress()


@dataclass
class Snapshot:
    """The latest counts, as a renderer keeps them; `line()` is the plain progress line."""

    bytes_read: int = 0
    bytes_total: int | None = None
    rows_read: int = 0
    rows_rejected: int = 0
    reading: bool = False  # a reading event arrived
    written: int = 0
    staged: int = 0
    submitted: int = 0
    complete: int = 0
    batch_total: int | None = None
    batch_events: bool = False
    waiting_batch: str | None = None
    waiting_job: str | None = None
    rows_judged: int | None = None
    judge_total: int = 0

    def fraction(self) -> float | None:
        """How much of the source is read, 0..1, when its size is known."""
        if not self.bytes_total:
            return None
        return min(1.0, self.bytes_read / self.bytes_total)

    def line(self) -> str:
        """``progress: 1,200,000 rows read (41%), 3,117 rejected, 12/30 batches complete``."""
        parts: list[str] = []
        if self.reading:
            share = self.fraction()
            percent = f" ({int(share * 100)}%)" if share is not None else ""
            parts.append(f"{self.rows_read:,} rows read{percent}")
            parts.append(f"{self.rows_rejected:,} rejected")
        if self.batch_events:
            if self.batch_total is None:
                parts.append(f"{self.written:,} batches written")
            else:
                parts.append(f"{self.complete:,}/{self.batch_total:,} batches complete")
        if self.rows_judged is not None:
            parts.append(f"{self.rows_judged:,}/{self.judge_total:,} rows judged")
        if self.waiting_job is not None:
            parts.append(f"waiting for job {self.waiting_job} ({self.waiting_batch})")
        return "progress: " + (", ".join(parts) or "starting")

    # -- events --------------------------------------------------------------------------------

    def on_reading(
        self, bytes_read: int, bytes_total: int | None, rows_read: int, rows_rejected: int
    ) -> None:
        self.reading = True
        self.bytes_read, self.bytes_total = bytes_read, bytes_total
        self.rows_read, self.rows_rejected = rows_read, rows_rejected

    def on_batches(
        self, written: int, staged: int, submitted: int, complete: int, total: int | None
    ) -> None:
        self.batch_events = True
        if complete != self.complete:  # a batch is over: so is the job waited on
            self.waiting_batch = self.waiting_job = None
        self.written, self.staged, self.submitted, self.complete = (
            written,
            staged,
            submitted,
            complete,
        )
        self.batch_total = total

    def on_waiting(self, batch_name: str, job_id: str) -> None:
        self.waiting_batch, self.waiting_job = batch_name, job_id

    def on_judging(self, rows_judged: int, rows_total: int) -> None:
        self.rows_judged, self.judge_total = rows_judged, rows_total


class Tracked(Progress):
    """A renderer that keeps the latest counts in `state` and hears `changed(event)` after each.

    The event methods are written once here, so a renderer only says what an event changes on
    its display (`event` is the method's name: "reading", "batches", "waiting", "judging").
    """

    def __init__(self) -> None:
        self.state = Snapshot()

    def reading(
        self, bytes_read: int, bytes_total: int | None, rows_read: int, rows_rejected: int
    ) -> None:
        self.state.on_reading(bytes_read, bytes_total, rows_read, rows_rejected)
        self.changed("reading")

    def batches(
        self,
        *,
        written: int = 0,
        staged: int = 0,
        submitted: int = 0,
        complete: int = 0,
        total: int | None = None,
    ) -> None:
        self.state.on_batches(written, staged, submitted, complete, total)
        self.changed("batches")

    def waiting(self, batch_name: str, job_id: str) -> None:
        self.state.on_waiting(batch_name, job_id)
        self.changed("waiting")

    def judging(self, rows_judged: int, rows_total: int) -> None:
        self.state.on_judging(rows_judged, rows_total)
        self.changed("judging")

    def changed(self, event: str) -> None:
        """`state` has the event's counts (nothing to do here)."""


class PlainProgress(Tracked):
    """Plain lines to `emit`: at most one every `interval` seconds, and a final one on `done`.

    An event only updates the counts and compares two clocks; the line is built when it is due.
    """

    def __init__(
        self,
        emit: Callable[[str], object],
        *,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._emit = emit
        self._interval = interval
        self._clock = clock
        self._last: float | None = None  # when the last line went out
        self._started = clock()
        self._pending = False  # counts changed since the last line
        self._done = False

    def changed(self, event: str) -> None:
        # While reading, a `reading` event follows each count of batches written: it says both.
        self._changed(due=not (event == "batches" and self.state.batch_total is None))

    def done(self) -> None:
        if self._done:
            return
        self._done = True
        if self._pending:  # the final counts, unless the last line already said them
            self._write()

    def abandon(self) -> None:
        # A failed run ends with its one error line: no counts after it.
        self._done = True

    def _changed(self, *, due: bool = True) -> None:
        if self._done:
            return
        self._pending = True
        if not due:
            return
        now = self._clock()
        since = now - (self._last if self._last is not None else self._started)
        if since >= self._interval:
            self._write(now)

    def _write(self, now: float | None = None) -> None:
        self._emit(self.state.line())
        self._last = self._clock() if now is None else now
        self._pending = False

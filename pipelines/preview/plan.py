"""`preview`: what an import would do to each row, judged against Kindful's current state.

A dry run lets an analyst see creates, updates and untouched rows before anything is sent. This
is the one path through it: prepare the source exactly as `validate`/`import` do (same options,
same derived ids), read Kindful once (kindful_state), judge each row (verdicts) and return the
lines as a PreviewResult (report). Nothing is written to Kindful, and only counts are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pandas as pd

from pipelines.kindful.client import KindfulClient
from pipelines.mapping.spec import Mapping as SourceMapping
from pipelines.preview.kindful_state import EMAIL_EXIST_MAX, read_kindful_state
from pipelines.preview.match_index import Matching
from pipelines.preview.report import PreviewResult
from pipelines.preview.verdicts import PREVIEW_COLUMNS, Line, rejected_lines, verdict_lines
from pipelines.progress import NO_PROGRESS, Progress
from pipelines.read.chunk_rows import DEFAULT_CHUNK_ROWS
from pipelines.read.meter import ReadMeter, metered
from pipelines.staging.safe_urls import safe_url
from pipelines.transform.options import RunOptions
from pipelines.transform.prepare import PreparedChunk, prepare_export

logger = logging.getLogger(__name__)

__all__ = ["preview_export", "preview_prepared"]


def preview_prepared(
    chunks: Iterable[PreparedChunk],
    options: RunOptions,
    client: KindfulClient,
    *,
    source: str = "",
    email_exist_max: int = EMAIL_EXIST_MAX,
    progress: Progress | None = None,
) -> PreviewResult:
    """Verdicts for prepared chunks (accepted rows and rejects) against Kindful's state.

    `progress` hears `reading` after each chunk (no bytes: the chunks' source is not known
    here) and `judging` before and after the rows are judged.
    """
    return _preview(chunks, options, client, source, email_exist_max, progress, None)


def _preview(
    chunks: Iterable[PreparedChunk],
    options: RunOptions,
    client: KindfulClient,
    source: str,
    email_exist_max: int,
    progress: Progress | None,
    meter: ReadMeter | None,
) -> PreviewResult:
    progress = progress or NO_PROGRESS
    matching = Matching.for_run(options)
    record = matching.activity.kind if matching.activity else "contact"
    wanted = matching.columns
    # Only the columns matching needs are kept, so a big export stays small in memory.
    frames: list[pd.DataFrame] = []
    lines: list[Line] = []
    rows_read = rows_rejected = 0
    for chunk in chunks:
        rows_read += chunk.rows_read
        rows_rejected += len(chunk.rejected_rows)
        lines += rejected_lines(chunk.rejects, record)
        frames.append(chunk.accepted[[c for c in chunk.accepted.columns if c in wanted]])
        if meter is None:
            progress.reading(0, None, rows_read, rows_rejected)
        else:
            progress.reading(meter.bytes_read, meter.bytes_total, rows_read, rows_rejected)
    progress.judging(0, rows_read)
    state = read_kindful_state(frames, options, matching, client, email_exist_max)
    lines += verdict_lines(frames, options, matching, state)
    progress.judging(rows_read, rows_read)
    frame = pd.DataFrame(lines, columns=list(PREVIEW_COLUMNS))
    frame = frame.sort_values("source_row", kind="stable", ignore_index=True)
    result = PreviewResult(
        rows=frame,
        data_format=options.data_format,
        action=options.action,
        match_by=dict(options.match_by),
        source=safe_url(source),
        rows_read=rows_read,
        kindful_reads=dict(state.reads),
    )
    # Counts only: reasons carry ids and emails.
    logger.info("preview of %d rows: %s", rows_read, result.counts)
    return result


def preview_export(
    source: str,
    client: KindfulClient,
    options: RunOptions,
    mapping: SourceMapping | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    email_exist_max: int = EMAIL_EXIST_MAX,
    progress: Progress | None = None,
) -> PreviewResult:
    """Prepare `source` as `import` would and say what importing it would do to each row.

    `progress` hears `reading` after each chunk, then `judging` (pipelines/progress.py).
    """
    with metered() as meter:
        chunks = prepare_export(source, mapping, options, chunk_rows=chunk_rows)
        return _preview(chunks, options, client, source, email_exist_max, progress, meter)

"""The transform jobs: `validate` writes an export's run files; `prepare_run` also its batches.

Both take the run's resolved `RunOptions` (with its mapping), built once where the run starts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Unpack

from pipelines.errors import InputError
from pipelines.outputs.batches import Batch, BatchWriter
from pipelines.outputs.behind import WriteBehind
from pipelines.outputs.validation_files import OutputWriter
from pipelines.progress import NO_PROGRESS, PlainProgress, Progress
from pipelines.read.chunk_rows import DEFAULT_CHUNK_ROWS
from pipelines.read.errors import ExportError
from pipelines.read.meter import metered
from pipelines.staging.safe_urls import safe_url
from pipelines.transform.options import Asked, RunOptions, resolve_run
from pipelines.transform.prepare import prepare_export

# The one URL cleaner (query, fragment and user:password@ removed), under its older name here.
strip_query = safe_url

_LOG = logging.getLogger(__name__)


def validate_export(
    source: str,
    *,
    out_dir: Path,
    options: RunOptions | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    mapping_path: str | None = None,
    progress: Progress | None = None,
    **asked: Unpack[Asked],
) -> dict[str, Any]:
    """Write normalized.csv, rejects.csv, warnings.csv and summary.json; return the summary.

    `options` as the command resolved them; a caller with loose choices passes them instead,
    as `resolve_run`'s keywords (`data_format=...`; `mapping_path=...` names the mapping).
    Once reading starts, a failure leaves none of the four in `out_dir` (no partial file).
    `progress` hears `reading` after each chunk (pipelines/progress.py).
    """
    if options is None:
        options = resolve_run(**({"mapping": mapping_path} | asked))
    progress = progress or NO_PROGRESS
    # a failure partway leaves no output files
    with OutputWriter(out_dir) as writer, metered() as meter:
        for chunk in prepare_export(source, options.mapping, options, chunk_rows=chunk_rows):
            writer.write(chunk)
            progress.reading(
                meter.bytes_read, meter.bytes_total, writer.rows_read, writer.rows_rejected
            )
        return writer.close(**summary_fields(source, options))


def summary_fields(source: str, options: RunOptions) -> dict[str, Any]:
    """What summary.json says about the run's input and options (URLs without their query)."""
    return {
        "source": safe_url(source),
        "data_format": options.data_format,
        "action": options.action,
        "match_by": options.match_by,
        "source_timezone": options.source_timezone,
        "custom_fields": list(options.custom_fields),
        "mapping": options.mapping.name if options.mapping else None,
    }


@dataclass(frozen=True)
class PreparedRun:
    """What the import's transform produced: the validation summary and the batch files.

    A file that cannot be processed at all is an answer, not a crash: `failure` holds why
    (InputError or ExportError; `error` is its one line) and there are no batches.
    """

    summary: dict[str, Any]
    batches: list[Batch]
    error: str | None = None
    failure: InputError | ExportError | None = field(default=None, compare=False)


def prepare_run(
    source: str,
    options: RunOptions,
    out_dir: Path,
    batch_rows: int,
    logger: logging.Logger | logging.LoggerAdapter[Any] = _LOG,
    *,
    progress: Progress | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> PreparedRun:
    """Read, map, normalize and validate the export; write the run files and the batches.

    Progress for long runs, counts only (`reading` and `batches(written=)` after each chunk)
    goes to `progress`, or else as plain "progress: ..." lines to `logger`, one every few
    seconds and a last one (a Prefect flow run's log).
    """
    shown = progress or PlainProgress(logger.info)
    batch_writer = BatchWriter(out_dir / "batches", batch_rows)
    # leaving the writer without `close` leaves no run files
    with OutputWriter(out_dir) as writer, metered() as meter:
        try:
            # the batches are written on a thread of their own (gzip runs without the GIL)
            with WriteBehind("kindful-etl-batches") as behind:
                for chunk in prepare_export(
                    source, options.mapping, options, chunk_rows=chunk_rows
                ):
                    writer.write(chunk)
                    behind.submit(batch_writer.add, chunk.accepted)
                    shown.batches(written=len(batch_writer.batches))
                    shown.reading(
                        meter.bytes_read, meter.bytes_total, writer.rows_read, writer.rows_rejected
                    )
            batch_writer.close()
            shown.batches(written=len(batch_writer.batches))
        except (InputError, ExportError) as error:
            # No traceback in the logs, and no partial batches that look like a run's.
            batch_writer.discard()
            return PreparedRun({}, [], error=str(error), failure=error)
        finally:
            if progress is None:
                shown.done()  # the plain renderer is this function's own: its last line
        summary = writer.close(**summary_fields(source, options))
    logger.info(
        "read %d rows: %d accepted, %d rejected, %d batches",
        summary["rows_read"],
        summary["rows_accepted"],
        summary["rows_rejected"],
        len(batch_writer.batches),
    )
    return PreparedRun(summary, batch_writer.batches)

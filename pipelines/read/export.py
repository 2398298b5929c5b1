"""Read a donor export (CSV/TSV, XLSX, JSON lines) into all-string DataFrames.

Exports arrive from Classy, Stripe, PayPal and hand-kept spreadsheets in whatever encoding,
delimiter and container the sender's tool produced. This package makes them uniform so the
rest of the pipeline never guesses: every cell is a string or missing, header names are
trimmed, and the index is the 0-based data-record number (`source_row = index + 1`).

Nothing is coerced here: "00123", "NA", "null" and "5000.50" stay exactly as written, because
a reader that guesses types silently corrupts ZIP codes, ids and amounts (in CSV text a bare CR,
the old-Mac line break, is read as LF: see `source._ToUtf8`). Anything that makes a file
unreadable as a whole raises `errors.ExportError`.

Entry points: `read_export` (whole file) and `iter_export` (bounded-memory chunks). `source`
opens the file and tells its kind; `csv_files`, `json_lines` and `xlsx_files` read each kind.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Iterator
from typing import Protocol

import pandas as pd

from pipelines.read.chunk_rows import DEFAULT_CHUNK_ROWS
from pipelines.read.csv_files import _csv_frames
from pipelines.read.errors import ExportError, _export_errors
from pipelines.read.json_lines import _json_columns, _JsonColumns, _jsonl_frames
from pipelines.read.limits import Limits
from pipelines.read.meter import current_meter
from pipelines.read.source import _Counted, _open_binary, _open_source
from pipelines.read.xlsx_files import _xlsx_frames
from pipelines.staging.safe_urls import safe_url

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ByteSource",
    "display_name",
    "first_rows",
    "iter_export",
    "open_source_bytes",
    "read_export",
]


class ByteSource(Protocol):
    """What `open_source_bytes` yields: `read(size)` until it returns b""."""

    def read(self, size: int = -1, /) -> bytes: ...


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def read_export(
    uri: str, *, sheet: str | int | None = None, limits: Limits | None = None
) -> pd.DataFrame:
    """Read a whole export; same frame as concatenating `iter_export`'s chunks.

    `sheet` picks an XLSX worksheet by name or 0-based position (default: the first one); it is
    ignored for CSV and JSON lines so one config can serve files of either kind. `limits`
    default to `Limits.from_env()`.
    """
    frames = list(_frames(uri, None, sheet, limits or Limits.from_env()))
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, sort=False)  # pragma: no cover - each reader yields one frame


def iter_export(
    uri: str,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    sheet: str | int | None = None,
    limits: Limits | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the export in DataFrames of at most `chunk_rows` rows, memory bounded by a chunk.

    The index carries on across chunks (the second chunk starts at `chunk_rows`). A file with a
    header and no data yields one empty frame so the caller still learns the columns. Every
    chunk has the file's columns: for JSON lines, whose keys may first appear anywhere, a first
    streaming pass collects them (the source is read twice; a bad line is refused before the
    first chunk). A file wider than `_CHUNK_CELLS / chunk_rows` columns comes in shorter chunks.
    Errors surface as `ExportError` while iterating.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError("chunk_rows must be a positive integer")
    return _frames(uri, chunk_rows, sheet, limits or Limits.from_env())


def first_rows(uri: str, rows: int) -> pd.DataFrame:
    """The export's first (at most) `rows` records; an empty frame with the headers if none."""
    for chunk in iter_export(uri, chunk_rows=rows):
        return chunk
    raise ExportError(f"cannot read {display_name(uri)}: no header row")


@contextlib.contextmanager
def open_source_bytes(uri: str, *, limits: Limits | None = None) -> Iterator[ByteSource]:
    """The source's bytes as stored (no gunzip), through the reader's own checks: a regular
    local file, the input limit, http(s) without private addresses or foreign redirects.

    For anything else that reads a source (hashing it for the ledger): `read(size)` until b"".
    Failures raise ExportError with a one-line message that never shows a URL's credentials.
    """
    limits = limits or Limits.from_env()
    name = display_name(uri)
    with _export_errors(name), _open_binary(uri, name, limits) as raw:
        yield _Counted(raw, name, limits)


def display_name(uri: str) -> str:
    """The URI as it may appear in messages: no query string, fragment or user:password@."""
    return safe_url(uri)


# --------------------------------------------------------------------------------------------
# dispatch: each kind of source to its reader, every failure as one ExportError
# --------------------------------------------------------------------------------------------


def _frames(
    uri: str, chunk_rows: int | None, sheet: str | int | None, limits: Limits
) -> Iterator[pd.DataFrame]:
    """Open `uri`, route it to the right reader, and turn every failure into an ExportError."""
    name = display_name(uri)
    meter = current_meter()  # progress: the bytes this read consumes (pipelines/read/meter.py)
    with _export_errors(name):
        try:
            with contextlib.ExitStack() as stack:
                source = _open_source(uri, name, stack, limits)
                if meter is not None and not meter.attach(source, chunked=chunk_rows is not None):
                    meter = None  # the block's meter measures another export
                if source.kind == "xlsx":
                    yield from _xlsx_frames(source, name, chunk_rows, sheet, stack, limits)
                elif source.kind == "jsonl":
                    columns = _JsonColumns(limits)
                    if chunk_rows is not None:
                        # Every chunk gets the whole file's keys, so a first pass collects them
                        # (streaming, like the reading pass); then the source is opened afresh.
                        columns = _json_columns(source.text_stream(), name, limits)
                        stack.close()
                        source = _open_source(uri, name, stack, limits)
                        if meter is not None:
                            meter.attach(source, chunked=True, again=True)  # the second pass
                        if source.kind != "jsonl":
                            raise ExportError(
                                f"cannot read {name}: the file changed while it was read"
                            )
                    yield from _jsonl_frames(source.text_stream(), name, chunk_rows, columns)
                else:
                    yield from _csv_frames(uri, source, name, chunk_rows, limits)
        except (gzip.BadGzipFile, zlib.error, EOFError):
            raise ExportError(f"cannot read {name}: corrupt or truncated gzip data") from None
        except MemoryError:
            raise ExportError(f"cannot read {name}: out of memory; use iter_export") from None

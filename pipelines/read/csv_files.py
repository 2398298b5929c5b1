"""CSV and TSV into Arrow-backed text, every cell read as text.

The delimiter (comma, semicolon, tab or pipe) is picked by how the head of the file parses with
each. pyarrow's reader parses blocks of whole records (`csv_blocks`); pandas' C parser, the
reference for what a file means, takes over wherever the two might differ. The scanner under
both (`source._Scanned`) refuses a header wider than `columns` and a record or value longer than
`line_bytes` / `field_bytes` before a parser buffers it; a parse failure becomes one line naming
the record, never its values.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import sys
from collections.abc import Iterator
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from pipelines.read.csv_blocks import arrow_tables
from pipelines.read.errors import ExportError
from pipelines.read.frames import _header_names, _rows_per_chunk
from pipelines.read.limits import Limits
from pipelines.read.source import _BLOCK, _open_source, _Source

_DELIMITERS: Final = (",", ";", "\t", "|")
_SNIFF_RECORDS: Final = 200  # records of the head used to score delimiter candidates
_TEXT: Final = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' "str"


def _csv_frames(
    uri: str, source: _Source, name: str, chunk_rows: int | None, limits: Limits
) -> Iterator[pd.DataFrame]:
    """Parse into Arrow strings (`csv_blocks`, pyarrow's reader, pandas' C parser wherever the
    two might differ), reading the header as data so no row can be misplaced, then cut the
    records into chunks of `chunk_rows`."""
    sep = _sniff_delimiter(source.head_text, complete=source.complete)
    if source.decoded is None or source.scanner is None:  # pragma: no cover - set for csv
        raise ExportError(f"cannot read {name}: internal error (no text stream)")
    scanner = source.scanner
    scanner.sep = ord(sep)

    def takeover(stream: io.RawIOBase) -> Iterator[pa.Table]:
        # called once the scanner has counted the header's fields (or the file has ended)
        rows = _rows_per_chunk(chunk_rows, scanner.header_fields)
        return _pandas_tables(stream, uri, name, sep, limits, rows)

    tables = arrow_tables(scanner, sep, takeover)
    first = next(tables, None)
    if first is None:  # pragma: no cover - pandas refuses a file without a header first
        raise ExportError(f"cannot read {name}: the file is empty (no header row)")
    names = _header_names([column[0].as_py() for column in first.columns], name)
    yield from _chunks(
        itertools.chain([first.slice(1)], tables), names, _rows_per_chunk(chunk_rows, len(names))
    )


def _pandas_tables(
    stream: io.RawIOBase, uri: str, name: str, sep: str, limits: Limits, rows: int | None
) -> Iterator[pa.Table]:
    """pandas' C parser over `stream` (header first), its Python strings turned into Arrow.

    With header=None the header line fixes the expected field count: a longer row anywhere
    raises, where header=0 would instead turn an over-long first row into an index or, with
    index_col=False, silently drop its extra field.
    """
    try:
        reader = pd.read_csv(
            io.BufferedReader(stream, buffer_size=_BLOCK),
            sep=sep,
            header=None,
            dtype=object,  # Python str, then Arrow (`_arrow_table`): cheaper than dtype=str
            keep_default_na=False,
            na_values=[""],
            engine="c",
            encoding="utf-8",
            quotechar='"',
            doublequote=True,
            skip_blank_lines=True,
            iterator=True,
        )
    except pd.errors.EmptyDataError:
        raise ExportError(f"cannot read {name}: the file is empty (no header row)") from None
    except pd.errors.ParserError as exc:
        raise _parse_failure(uri, name, sep, exc, limits) from None
    with reader:
        while True:
            try:
                chunk = reader.read(None if rows is None else rows + 1)
            except StopIteration:
                return
            except pd.errors.ParserError as exc:
                raise _parse_failure(uri, name, sep, exc, limits) from None
            if chunk.empty:
                return
            yield _arrow_table(chunk)
            if rows is None:
                return


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The parser's Python str (missing: NaN) as Arrow large strings, converted in one pass;
    pandas' dtype=str checks every value again first, which costs twice as much."""
    return pa.table(
        {
            str(i): pa.array(frame.iloc[:, i].to_numpy(), type=pa.large_string(), from_pandas=True)
            for i in range(frame.shape[1])
        }
    )


def _chunks(
    tables: Iterator[pa.Table], names: list[str], rows: int | None
) -> Iterator[pd.DataFrame]:
    """Frames of `rows` records (all of them if None) under the header, numbered on from 0; a
    file with a header and no records yields one empty frame."""
    held: list[pa.Table] = []
    count = start = 0
    for table in tables:
        held.append(table)
        count += table.num_rows
        while rows is not None and count >= rows:
            joined = pa.concat_tables(held)
            yield _frame(joined.slice(0, rows), names, start)
            start += rows
            count -= rows
            held = [joined.slice(rows)] if count else []
    if count or not start:  # the rest; or a header without records (`held`: an empty slice)
        yield _frame(pa.concat_tables(held), names, start)


def _frame(table: pa.Table, names: list[str], start: int) -> pd.DataFrame:
    """Arrow-backed `str` columns (one chunk each) under the cleaned header."""
    columns = [pd.array(table.column(i).combine_chunks(), dtype=_TEXT) for i in range(len(names))]
    index = pd.RangeIndex(start, start + table.num_rows)
    return pd.DataFrame(dict(enumerate(columns)), index=index).set_axis(pd.Index(names), axis=1)


def _parse_failure(uri: str, name: str, sep: str, exc: Exception, limits: Limits) -> ExportError:
    """Turn a C-parser error into a one-line message without cell values."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Expected" in text and "fields" in text:
        record = _find_long_record(uri, name, sep, limits)
        where = f"record {record}" if record is not None else "a record"
        return ExportError(
            f"cannot read {name}: {where} has more fields than the header "
            "(unquoted delimiter in a value, or a missing header)"
        )
    if "EOF inside string" in text:
        return ExportError(
            f"cannot read {name}: a quoted field is never closed (unbalanced quotes)"
        )
    detail = text.split("C error:", 1)[-1].strip()
    return ExportError(f"cannot read {name}: malformed CSV ({detail})")


def _find_long_record(uri: str, name: str, sep: str, limits: Limits) -> int | None:
    """1-based data-record number of the first row longer than the header (error path only).

    pandas reports a physical line that counts blank lines and quoted line breaks unevenly, so
    the file is scanned again with the csv module to name the record the caller can find.
    """
    try:
        with contextlib.ExitStack() as stack:
            source = _open_source(uri, name, stack, limits)
            width: int | None = None
            number = 0
            reader = csv.reader(source.text_stream(), delimiter=sep, quotechar='"')
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # pandas skips blank and whitespace-only lines
                if width is None:
                    width = len(record)
                    continue
                number += 1
                if len(record) > width:
                    return number
    except (csv.Error, ExportError, OSError, ValueError):
        return None
    return None


def _sniff_delimiter(text: str, *, complete: bool) -> str:
    """Pick comma, semicolon, tab or pipe from the head of the file.

    Each candidate is scored by how the first records parse with it: a header of more than
    one column, no record longer than the header, and the most records as wide as the header.
    csv.Sniffer only breaks ties, because on its own it is easily fooled by delimiters that
    appear inside quoted values.
    """
    if not complete:
        cut = text.rfind("\n")
        if cut > 0:
            text = text[: cut + 1]
    scores = {d: _delimiter_score(text, d, complete=complete) for d in _DELIMITERS}
    best = max(scores.values())
    sample = text[:16384]
    if len(text) > len(sample):
        sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in scores and scores[sniffed] == best:
        return sniffed
    return next(d for d in _DELIMITERS if scores[d] == best)


def _delimiter_score(text: str, sep: str, *, complete: bool) -> tuple[bool, bool, int, float, int]:
    widths: list[int] = []
    named = False  # the header holds a name, not only blanks and delimiters ("\t" in a TSV)
    try:
        for record in csv.reader(io.StringIO(text), delimiter=sep, quotechar='"'):
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if not widths:
                named = any(cell.strip().strip("".join(_DELIMITERS)) for cell in record)
            widths.append(len(record))
            if len(widths) > _SNIFF_RECORDS:
                break
    except csv.Error:
        return (False, False, -sys.maxsize, 0.0, 0)
    if not complete and len(widths) > 1:
        widths.pop()  # the head may end inside a quoted multi-line record
    if not widths:
        return (False, False, 0, 0.0, 0)
    width, body = widths[0], widths[1:]
    longer = sum(n > width for n in body)
    same = sum(n == width for n in body) / len(body) if body else 1.0
    return (width > 1, named, -longer, same, width)

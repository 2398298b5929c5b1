"""CSV records parsed by pyarrow's reader a block of whole records at a time, straight into Arrow
strings and on both cores, with pandas' C parser taking over wherever the two might differ.

pandas' parser is the reference (`csv_files`): what it refuses, pads or skips is what a file
means here. pyarrow reads the same dialect the same way for a block whose every record is as
wide as the header and whose quotes all close; any other block (a short or long record, a
whitespace-only line, a quote still open at the end of the file, a one-column file) raises or is
seen, and from there on the rest of the file goes to pandas, header replayed first. The blocks
are cut where the byte scanner under the parser (`source._Scanned`, which follows pandas'
quoting) saw a record end, so the two parsers never disagree about where a record starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

from pipelines.read.source import _BLOCK, _Prefixed, _Scanned

BLOCK_BYTES: Final = 8 * 1024 * 1024  # whole records handed to pyarrow at once
_ARROW_BLOCK: Final = 1024 * 1024  # pyarrow's own unit of parallel parsing within a block

# What reads the rest of the file, header first, when pyarrow cannot be trusted with it.
Takeover = Callable[[_Prefixed], Iterator[pa.Table]]


def arrow_tables(
    scanner: _Scanned, sep: str, takeover: Takeover, block_bytes: int = BLOCK_BYTES
) -> Iterator[pa.Table]:
    """The file's records as tables of large strings, missing values null; the first table's
    first row is the header. `takeover` gets a stream of the header and all that is left."""
    pending = b""  # bytes read and not yet parsed, from a record's start
    base = 0  # the file offset of pending[0]
    header = b""  # the header record's bytes, blank lines before it included
    width = 0
    eof = False
    while not eof:
        pending, eof = _fill(scanner, pending, block_bytes)
        if not width and not eof and scanner.header_end is None:
            continue  # the header is longer than the block: read on
        if not width:
            width = scanner.header_fields
            header = pending[: scanner.header_end] if scanner.header_end else pending
            if width < 2:  # pandas skips whitespace-only lines; in one column they are values
                yield from takeover(_Prefixed(pending, scanner))
                return
        cut = len(pending) if eof else scanner.record_start - base
        if cut <= 0:
            continue  # no record ends in what was read: read on
        table = _parse(memoryview(pending)[:cut], width, sep)
        if table is None or (eof and scanner.in_quote):
            if base == 0:
                yield from takeover(_Prefixed(pending, scanner))
            else:
                yield from _after_header(takeover(_Prefixed(header + pending, scanner)))
            return
        yield table
        pending = pending[cut:]  # the start of a record: a small copy
        base += cut


def _after_header(tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """The tables without their first row: the header, replayed for the parser taking over."""
    first = next(tables, None)
    if first is not None and first.num_rows > 1:
        yield first.slice(1)
    yield from tables


def _fill(scanner: _Scanned, pending: bytes, size: int) -> tuple[bytes, bool]:
    """`pending` and what was read after it: once, then on until `size` bytes; and whether the
    file has ended. Joined once, so each byte is copied once."""
    parts = [pending]
    held = len(pending)
    while True:
        data = scanner.read(_BLOCK)
        if not data:
            return b"".join(parts), True
        parts.append(data)
        held += len(data)
        if held >= size:
            return b"".join(parts), False


def _arrow_owned(block: memoryview) -> pa.Buffer:
    """A copy of `block` in Arrow's own memory (~2 ms per 10 MB).

    read_csv's pool threads may drop the last reference to their input after it has returned.
    Freeing a buffer that wraps Python memory (`pa.py_buffer`) takes the GIL; a pool thread
    asking for it while the interpreter exits aborts the process ("terminate called without an
    active exception") or hangs it for good, as a run ending right after a read (a bad header,
    an error in the first chunk) did. Arrow's memory is freed without the GIL.
    """
    owned = pa.allocate_buffer(len(block))
    np.frombuffer(owned, dtype=np.uint8)[:] = np.frombuffer(block, dtype=np.uint8)
    return owned


def _parse(block: memoryview, width: int, sep: str) -> pa.Table | None:
    """The block's records, every one `width` fields; None if pyarrow finds one that is not."""
    names = [str(i) for i in range(width)]
    try:
        return pa_csv.read_csv(
            _arrow_owned(block),
            read_options=pa_csv.ReadOptions(
                column_names=names, use_threads=True, block_size=_ARROW_BLOCK
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=sep,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid:
        return None

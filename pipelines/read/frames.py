"""What the three readers share: clean, unique header names, all-string frames, chunk sizes.

A chunk holds at most `_CHUNK_CELLS` cells however wide the file is, so memory stays bounded by
the chunk.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

import pandas as pd

from pipelines.read.errors import ExportError

_MAX_HEADER_SHOWN: Final = 80
_CHUNK_CELLS: Final = 5_000_000  # rows x columns of one chunk: a wide file gets shorter chunks


def _rows_per_chunk(chunk_rows: int | None, width: int) -> int | None:
    """`chunk_rows`, fewer for a wide file, so a chunk never holds more than _CHUNK_CELLS."""
    if chunk_rows is None:
        return None
    return max(1, min(chunk_rows, _CHUNK_CELLS // max(width, 1)))


# BOMs and control characters other than tab, LF and CR: junk in a header (a NUL inside
# "first_name" would otherwise hide the column from the mapping), as normalize_strings treats it
# in values.
_HEADER_JUNK: Final = dict.fromkeys(
    [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0xFEFF]
)


def _clean_text(value: object) -> str:
    """Header text without BOMs, control characters or surrounding whitespace ("" if blank)."""
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text.translate(_HEADER_JUNK).strip()


def _clean_name(value: object, position: int) -> str:
    """A usable column name; blank headers get pandas' positional name "Unnamed: N"."""
    return _clean_text(value) or f"Unnamed: {position}"


def _shown(header: str) -> str:
    """A header as quoted in a message: repr keeps it on one line; long ones are cut."""
    if len(header) > _MAX_HEADER_SHOWN:
        header = header[:_MAX_HEADER_SHOWN] + "..."
    return repr(header)


def _header_names(cells: list[object], name: str) -> list[str]:
    """Cleaned, unique column names; duplicates would make a mapping ambiguous."""
    if not any(_clean_text(cell) for cell in cells):
        raise ExportError(f"cannot read {name}: the header row is blank")
    names = [_clean_name(cell, i) for i, cell in enumerate(cells)]
    repeated = _first_repeat(names)
    if repeated is not None:
        raise ExportError(f"cannot read {name}: duplicate column header {_shown(repeated)}")
    return names


def _first_repeat(items: Iterable[str]) -> str | None:
    """The first item that equals an earlier one, if any."""
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


def _records_frame(rows: list[list[str | None]], names: list[str], start: int) -> pd.DataFrame:
    """An all-string frame from row lists, indexed by data-record number."""
    columns = {col: pd.array([row[i] for row in rows], dtype="str") for i, col in enumerate(names)}
    index = pd.RangeIndex(start, start + len(rows))
    return pd.DataFrame(columns, index=index, columns=pd.Index(names))

"""CSV text as pandas' `to_csv(index=False)` writes it, except that no line break goes unquoted.

Fast: `DataFrame.to_csv` prepares each block for the `csv` module (masking missing values,
per-chunk copies) and the `csv` module then inspects every field; together ~10 µs a row for a
typical export. Most columns hold nothing that needs quoting (no delimiter, quote or line break
anywhere in the column, one C-speed test per column), so their values are joined as they are;
the few that do are quoted here.

Safe: a field holding the delimiter, the quote, "\\r" or "\\n" is always quoted (RFC 4180).
The `csv` module, and so pandas, quotes only the characters of its line terminator: with
lines ending in "\\n" it writes a bare "\\r" unquoted, and every CSV reader then splits that
record in two. Otherwise the text is the `csv` module's (QUOTE_MINIMAL, doubled quotes, a lone
empty field written as `""`). Columns pandas formats itself (floats, dates, non-text
categories) are formatted by pandas, one column at a time; their texts need no quoting.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, TextIO

import numpy as np
import pandas as pd

__all__ = ["write_csv"]

_DELIMITER = ","
_QUOTE = '"'


def write_csv(
    frame: pd.DataFrame, handle: TextIO, *, header: bool = True, lineterminator: str = "\n"
) -> None:
    """Write `frame` to `handle` (opened with newline="") like `frame.to_csv(handle, ...)`."""
    if frame.columns.nlevels != 1:
        raise ValueError("write_csv writes frames with one level of column names")
    if frame.shape[1] == 0:  # no cells: pandas writes the empty lines
        frame.to_csv(handle, header=header, index=False, lineterminator=lineterminator)
        return
    lone = frame.shape[1] == 1  # the csv module writes a row of one empty field as ""
    field = _Fields(lineterminator)
    lines: list[str] = []
    if header:
        names = [field.quoted(_text(name)) for name in frame.columns]
        lines.append(_DELIMITER.join(names) if not lone or names[0] else '""')
    if len(frame):
        columns = [field.column(_texts(frame.iloc[:, i])) for i in range(frame.shape[1])]
        if lone:
            lines += [text or '""' for text in columns[0]]
        else:
            lines += [_DELIMITER.join(row) for row in zip(*columns, strict=True)]
    if lines:
        handle.write(lineterminator.join(lines))
        handle.write(lineterminator)


def _text(value: object) -> str:
    """A cell as the `csv` module spells it: None "", floats by repr, the rest by str."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


class _Fields:
    """Quotes the fields that hold the delimiter, the quote or a line break."""

    def __init__(self, lineterminator: str) -> None:
        self._special = {_DELIMITER, _QUOTE, "\r", "\n", *lineterminator}
        self._special_re = re.compile("[" + "".join(map(re.escape, sorted(self._special))) + "]")

    def _needs_quotes(self, text: str) -> bool:
        return any(char in text for char in self._special)

    def quoted(self, text: str) -> str:
        """`text` as it appears between delimiters."""
        if not self._needs_quotes(text):
            return text
        return _QUOTE + text.replace(_QUOTE, _QUOTE + _QUOTE) + _QUOTE

    def column(self, texts: list[str]) -> list[str]:
        """A column of texts as written; one scan of the joined column finds what to quote."""
        joined = "".join(texts)
        if not self._needs_quotes(joined):
            return texts
        ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        hits = [match.start() for match in self._special_re.finditer(joined)]
        out = list(texts)
        for i in np.unique(np.searchsorted(ends, hits, side="right")).tolist():
            out[i] = self.quoted(texts[i])
        return out


def _texts(series: pd.Series) -> list[str]:
    """A column's cells as unquoted texts, missing values as ""."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) and pd.api.types.infer_dtype(
        dtype.categories, skipna=True
    ) not in ("string", "empty"):
        return _formatted_by_pandas(series)
    if not (
        pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype))
        or pd.api.types.is_integer_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    ):
        return _formatted_by_pandas(series)
    # pandas hands object values to the csv module as they are, so no formatting is lost
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = np.array(values, dtype=object)
        values[missing] = ""
    texts: list[Any] = values.tolist()
    if not (isinstance(dtype, pd.StringDtype) or _all_text(values)):
        texts = [_text(value) for value in texts]
    return texts


def _formatted_by_pandas(series: pd.Series) -> list[str]:
    """Numbers, dates and the like as pandas formats them (read back: no line break in them)."""
    buffer = io.StringIO()
    series.to_frame(name="").to_csv(buffer, header=False, index=False, lineterminator="\n")
    buffer.seek(0)
    return [row[0] if row else "" for row in csv.reader(buffer)]


def _all_text(values: np.ndarray) -> bool:
    return len(values) == 0 or pd.api.types.infer_dtype(values, skipna=False) == "string"

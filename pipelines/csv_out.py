"""CSV text exactly as pandas' `to_csv(index=False)` writes it, several times faster.

`DataFrame.to_csv` prepares each block for the `csv` module (masking missing values, per-chunk
copies) and the `csv` module then inspects every field; together ~10 µs a row for a typical
export. Most columns hold nothing the `csv` module would quote (no delimiter, quote or line
break anywhere in the column, one C-speed test per column), so their values can be joined as
they are; the few values that need quoting are formatted by the `csv` module itself, so the
bytes are the module's own. Frames with dtypes pandas formats (floats, dates, categories) and
one-column frames (the `csv` module's special case for a lone empty field) are left to pandas.
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
    columns = _plain_columns(frame) if frame.shape[1] > 1 else None
    if columns is None:
        frame.to_csv(handle, header=header, index=False, lineterminator=lineterminator)
        return
    field = _Fields(lineterminator)
    lines: list[str] = []
    if header:
        lines.append(_DELIMITER.join(field.quoted(_text(name)) for name in frame.columns))
    if len(frame):
        quoted = [field.column(values) for values in columns]
        lines += [_DELIMITER.join(row) for row in zip(*quoted, strict=True)]
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
    """Quotes fields exactly as `csv.writer(lineterminator=...)` does, asking it when unsure."""

    def __init__(self, lineterminator: str) -> None:
        self._lineterminator = lineterminator
        self._special = {_DELIMITER, _QUOTE, "\r", "\n", *lineterminator}
        self._special_re = re.compile("[" + "".join(map(re.escape, sorted(self._special))) + "]")
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator=lineterminator)

    def _might_quote(self, text: str) -> bool:
        return any(char in text for char in self._special)

    def quoted(self, text: str) -> str:
        """`text` as it appears between delimiters in the `csv` module's output."""
        if not self._might_quote(text):
            return text
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow([text, ""])  # two fields: no lone-empty-field special case
        return self._buffer.getvalue()[: -len(self._lineterminator) - 1]

    def column(self, texts: list[str]) -> list[str]:
        """A column of texts as written; one scan of the joined column finds what to quote."""
        joined = "".join(texts)
        if not self._might_quote(joined):
            return texts
        ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        hits = [match.start() for match in self._special_re.finditer(joined)]
        out = list(texts)
        for i in np.unique(np.searchsorted(ends, hits, side="right")).tolist():
            out[i] = self.quoted(texts[i])
        return out


def _plain_columns(frame: pd.DataFrame) -> list[list[str]] | None:
    """Each column as texts with missing values as "", or None if pandas must format one."""
    if frame.columns.nlevels != 1 or not frame.columns.is_unique:
        return None
    columns: list[list[str]] = []
    for _, series in frame.items():
        dtype = series.dtype
        if not (
            pd.api.types.is_object_dtype(dtype)
            or isinstance(dtype, pd.StringDtype)
            or pd.api.types.is_integer_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
        ) or isinstance(dtype, pd.CategoricalDtype):
            return None
        # pandas hands object values to the csv module as they are, so no formatting is lost
        values = series.to_numpy(dtype=object)
        missing = pd.isna(values)
        if missing.any():
            values = np.array(values, dtype=object)
            values[missing] = ""
        texts: list[Any] = values.tolist()
        if not (isinstance(dtype, pd.StringDtype) or _all_text(values)):
            texts = [_text(value) for value in texts]
        columns.append(texts)
    return columns


def _all_text(values: np.ndarray) -> bool:
    return len(values) == 0 or pd.api.types.infer_dtype(values, skipna=False) == "string"

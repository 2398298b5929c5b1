"""The run files' writers as they were before Arrow (commit 25158cd): the oracle the fast ones
must match byte for byte. Only tests import this.

`legacy_write_csv` is the old csv_text.write_csv, `legacy_neutralize_formulas` and
`legacy_reject_sizes` the old validation_files code, `legacy_batches` the old BatchWriter's
buffering (every waiting frame concatenated, then sliced) with its batch and id-index texts.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, TextIO

import numpy as np
import pandas as pd

from pipelines.outputs.batch_index import index_kinds

_DELIMITER = ","
_QUOTE = '"'


def legacy_write_csv(
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


def legacy_text(frame: pd.DataFrame, *, header: bool = True, lineterminator: str = "\n") -> str:
    buffer = io.StringIO(newline="")
    legacy_write_csv(frame, buffer, header=header, lineterminator=lineterminator)
    return buffer.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def legacy_neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix cells a spreadsheet would run as a formula with a quote (OWASP CSV injection).

    Column names too: rejects.csv repeats the source's headers, and a header is a cell.
    """
    safe = frame.copy()
    safe.columns = pd.Index([_neutralized_name(name) for name in safe.columns], dtype=object)
    for position in range(safe.shape[1]):  # by position: two names may now be the same
        values = safe.iloc[:, position]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            safe.isetitem(position, _neutralized(values).array)
    return safe


def _neutralized_name(name: object) -> object:
    if isinstance(name, str) and name.startswith(_FORMULA_START):
        return "'" + name
    return name


def _neutralized(values: pd.Series) -> pd.Series:
    """One text column with risky cells quoted, as a "string" column.

    Plain lists: pandas' str.startswith plus where cost ~5x more for the same answer.
    """
    array = values.to_numpy(dtype=object)
    missing = pd.isna(array)
    if pd.api.types.infer_dtype(array[~missing], skipna=False) not in ("string", "empty"):
        text = values.astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False).astype(bool)
        return text.where(~risky, "'" + text)
    out = np.array(array, dtype=object)
    out[missing] = pd.NA
    present = np.flatnonzero(~missing)
    texts = array[present].tolist()
    starts = [i for i, text in enumerate(texts) if text.startswith(_FORMULA_START)]
    if starts:
        out[present[starts]] = ["'" + texts[i] for i in starts]
    return pd.Series(pd.array(out, dtype="string"), index=values.index, name=values.name)


def legacy_reject_sizes(rejects: pd.DataFrame) -> pd.Series:
    """Characters each record writes to rejects.csv, as check_reject_size counted them."""
    sizes = np.zeros(len(rejects), dtype=np.int64)
    for position in range(rejects.shape[1]):
        lengths = rejects.iloc[:, position].astype("string").str.len()
        sizes += lengths.fillna(0).to_numpy(dtype=np.int64)
    return pd.Series(sizes).groupby(rejects["source_row"].to_numpy()).sum()


def legacy_batches(
    chunks: list[pd.DataFrame], batch_rows: int
) -> list[tuple[str, str | None, list[int]]]:
    """(batch CSV, id index CSV or None, 1-based source rows) of each batch, as BatchWriter
    wrote them."""
    columns: list[Any] | None = None
    pending: list[pd.DataFrame] = []
    waiting_rows = 0
    out: list[tuple[str, str | None, list[int]]] = []

    def flush(rows: int) -> None:
        nonlocal pending, waiting_rows
        waiting = pd.concat(pending) if len(pending) > 1 else pending[0]
        batch, rest = waiting.iloc[:rows], waiting.iloc[rows:]
        pending = [rest] if len(rest) else []
        waiting_rows = len(rest)
        kinds = index_kinds(batch.columns)
        index = None
        if kinds:
            ids = batch[list(kinds.values())]
            ids.columns = pd.Index(list(kinds))
            index = legacy_text(ids)
        numbers = (batch.index.to_numpy(dtype="int64") + 1).tolist()
        out.append((legacy_text(batch), index, numbers))

    for accepted in chunks:
        if columns is None:
            columns = list(accepted.columns)
        if accepted.empty:
            continue
        pending.append(accepted.reindex(columns=columns))
        waiting_rows += len(accepted)
        while waiting_rows >= batch_rows:
            flush(batch_rows)
    if waiting_rows:
        flush(waiting_rows)
    return out

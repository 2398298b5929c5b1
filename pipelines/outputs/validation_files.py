"""Write a validation run's files: normalized.csv, rejects.csv, warnings.csv, summary.json.

Files are appended chunk by chunk so memory stays bounded by the chunk. normalized.csv is what
Kindful will read (exact values, UTF-8 without BOM); rejects and warnings are for people and
open safely in a spreadsheet.

The files appear together or not at all: chunks go to hidden partial files (`.NAME.partial`)
that `close` renames into place, summary.json last; a run that fails partway (`discard`, or
leaving the `with` block on an exception) leaves none of the four, not even a previous run's.

They hold donor names and emails, so the folder is created 0700 and the files 0600, in a folder
this user owns (`private_files`). rejects.csv repeats a record's values on each of its problem
lines; a record whose lines would pass `Limits.reject_chars_per_row` stops the run (a 245 KB
gzip of long, many-times-wrong records once wrote a 296 MB rejects.csv).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from pipelines.errors import InputError
from pipelines.outputs.behind import WriteBehind
from pipelines.outputs.csv_text import csv_cells, offsets, write_csv_bytes
from pipelines.outputs.private_files import open_private, private_dir, write_private_text
from pipelines.read.limits import Limits
from pipelines.transform.prepare import PreparedChunk

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_BYTES = np.frombuffer("".join(_FORMULA_START).encode("ascii"), dtype=np.uint8)


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix cells a spreadsheet would run as a formula with a quote (OWASP CSV injection).

    Column names too: rejects.csv repeats the source's headers, and a header is a cell. Text
    columns come back as "string" columns.
    """
    safe = frame.copy(deep=False)  # every changed column is replaced, never written into
    safe.columns = pd.Index([_neutralized_name(name) for name in safe.columns], dtype=object)
    columns = list(safe.items())  # by position: two names may now be the same
    for position, (_, values) in enumerate(columns):
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            safe.isetitem(position, _neutralized(values))
    return safe


def _neutralized_name(name: object) -> object:
    if isinstance(name, str) and name.startswith(_FORMULA_START):
        return "'" + name
    return name


def _neutralized(values: pd.Series) -> Any:
    """One text column with risky cells quoted, as a "string" array.

    Arrow: the first byte of each value tells (every formula start is one ASCII byte).
    """
    texts = None
    if pd.api.types.is_object_dtype(values.dtype) or isinstance(values.dtype, pd.StringDtype):
        texts = csv_cells(values)
    if texts is None:  # values other than str: pandas spells them
        text = values.astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False).astype(bool)
        return text.where(~risky, "'" + text).array
    count = len(texts)
    if count:
        starts = offsets(texts)
        data = np.frombuffer(texts.buffers()[2] or b"", dtype=np.uint8)
        present = (starts[1:] > starts[:-1]) & texts.is_valid().to_numpy(zero_copy_only=False)
        first = np.zeros(count, dtype=np.uint8)
        first[present] = data[starts[:-1][present]]
        risky = np.isin(first, _FORMULA_BYTES) & present
        if risky.any():
            quoted = pc.binary_join_element_wise(
                pa.scalar("'", texts.type), texts, pa.scalar("", texts.type)
            )
            texts = pc.if_else(pa.array(risky), quoted, texts)
    dtype: Any = pd.StringDtype()  # "string", as the other text columns
    return dtype.__from_arrow__(texts)


@dataclass
class OutputWriter:
    """Appends each prepared chunk to the run's files and keeps the counts for the summary."""

    out_dir: Path
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    warning_count: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    warning_reasons: Counter[str] = field(default_factory=Counter)
    ignored_columns: tuple[str, ...] = ()
    accepted_columns: list[str] | None = None
    limits: Limits = field(default_factory=Limits.from_env)
    _started: set[str] = field(default_factory=set)
    _behind: WriteBehind = field(default_factory=WriteBehind)

    def __post_init__(self) -> None:
        private_dir(self.out_dir)
        for name in _OUTPUTS:
            (self.out_dir / name).unlink(missing_ok=True)
        self.discard()  # a crashed run's partial files

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()  # after `close` there is nothing left to discard

    def _partial(self, name: str) -> Path:
        return self.out_dir / f".{name}.partial"

    def discard(self) -> None:
        """Remove the partial files of a run that will not be closed."""
        self._behind.abandon()
        for name in _OUTPUTS:
            self._partial(name).unlink(missing_ok=True)
        self._started.clear()

    def _append(self, name: str, frame: pd.DataFrame) -> None:
        path = self._partial(name)
        first = name not in self._started
        with open_private(path, "wb" if first else "ab") as handle:
            write_csv_bytes(frame, handle, header=first, lineterminator=os.linesep)
        self._started.add(name)

    def write(self, chunk: PreparedChunk) -> None:
        """Count one chunk and append its accepted rows, rejects and warnings: on the writer's
        thread (`behind`), while the caller prepares the next chunk; `flush` waits for it."""
        self.rows_read += chunk.rows_read
        self.rows_accepted += len(chunk.accepted)
        self.rows_rejected += len(chunk.rejected_rows)
        self.warning_count += len(chunk.warnings)
        self.reasons.update(_reason_keys(chunk.rejects))
        self.warning_reasons.update(_reason_keys(chunk.warnings))
        self.ignored_columns = chunk.ignored_columns
        if self.accepted_columns is None:
            self.accepted_columns = list(chunk.accepted.columns)
        self._behind.submit(self._write_files, chunk, self.accepted_columns)

    def flush(self) -> None:
        """Wait until every chunk written is in the partial files (a write's failure raised)."""
        self._behind.wait()

    def _write_files(self, chunk: PreparedChunk, columns: list[str]) -> None:
        self._append("normalized.csv", chunk.accepted.reindex(columns=columns))
        # measured before the lines are built: each repeats its record's values
        check_reject_size(chunk.rejects, self.limits, records=chunk.source)
        originals = chunk.source.loc[chunk.rejects["source_row"].to_numpy(dtype="int64") - 1]
        originals = originals.rename(columns=lambda c: f"{c} (source)" if c in _ISSUE else c)
        rejects = pd.concat(
            [chunk.rejects.reset_index(drop=True), originals.reset_index(drop=True)], axis=1
        )
        self._append("rejects.csv", neutralize_formulas(rejects))
        self._append("warnings.csv", neutralize_formulas(chunk.warnings))

    def summary(self, **extra: Any) -> dict[str, Any]:
        """The counts every caller checks: read = accepted + rejected."""
        return {
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "warnings": self.warning_count,
            "reasons": dict(self.reasons.most_common()),
            "warning_reasons": dict(self.warning_reasons.most_common()),
            "ignored_columns": list(self.ignored_columns),
            **extra,
        }

    def close(self, **extra: Any) -> dict[str, Any]:
        """Write summary.json (and empty files for outputs no chunk produced); publish all."""
        self._behind.close()
        for name, columns in (
            ("normalized.csv", self.accepted_columns or []),
            ("rejects.csv", _ISSUE),
            ("warnings.csv", _ISSUE),
        ):
            if name not in self._started:
                self._append(name, pd.DataFrame(columns=columns))
        summary = self.summary(**extra)
        write_private_text(self._partial("summary.json"), json.dumps(summary, indent=2) + "\n")
        for name in _OUTPUTS:  # summary.json last: its presence means the run is complete
            os.replace(self._partial(name), self.out_dir / name)
        self._started.clear()
        return summary


_ISSUE = ["source_row", "column", "value", "reason"]
_OUTPUTS = ("normalized.csv", "rejects.csv", "warnings.csv", "summary.json")


def check_reject_size(
    rejects: pd.DataFrame, limits: Limits, *, records: pd.DataFrame | None = None
) -> None:
    """Refuse a chunk in which one record's reject lines exceed `reject_chars_per_row`.

    `records`: the chunk's source records (index = source_row - 1), whose values each of a
    record's lines repeats after its issue columns; each record is measured once, before its
    values are copied into every line (seven lines of a 7 MB record would be 49 MB first).
    """
    if rejects.empty:
        return
    sizes = _characters(rejects)
    rows = rejects["source_row"].to_numpy(dtype=np.int64)
    if records is not None:
        distinct = np.unique(rows)
        sizes = sizes + _characters(records.loc[distinct - 1])[np.searchsorted(distinct, rows)]
    per_record = pd.Series(sizes).groupby(rows).sum()
    if int(per_record.max()) > limits.reject_chars_per_row:
        worst = per_record.index[int(np.argmax(per_record.to_numpy()))]
        lines = int((rows == worst).sum())
        raise InputError(
            f"record {worst} would write more than {limits.reject_chars_per_row} characters to "
            f"rejects.csv ({lines} problem line(s), each repeating the record; "
            f"limit {limits.setting('reject_chars_per_row')})"
        )


def _characters(frame: pd.DataFrame) -> np.ndarray:
    """Characters of each row's cells as written (missing: none)."""
    sizes = np.zeros(len(frame), dtype=np.int64)
    for _, column in frame.items():
        texts = csv_cells(column)
        if texts is None:  # floats, dates: as pandas spells them
            lengths = column.astype("string").str.len().fillna(0).to_numpy(dtype=np.int64)
        else:
            lengths = pc.utf8_length(texts).fill_null(0).to_numpy(zero_copy_only=False)
        sizes += lengths
    return sizes


def _reason_keys(issues: pd.DataFrame) -> Counter[str]:
    if issues.empty:
        return Counter()
    keys = issues["column"].astype(str) + ": " + issues["reason"].astype(str)
    return Counter({str(k): int(v) for k, v in keys.value_counts().items()})

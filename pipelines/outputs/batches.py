"""Accepted rows -> gzipped CSV batches of at most N rows, as Kindful's data_url imports want.

Batch k always holds accepted rows [k*N, (k+1)*N) in file order, whatever the read chunk size,
so a re-run produces byte-identical batches and the ledger can recognize work already done by
the batch's content hash. The files are UTF-8 without BOM (002: Kindful refuses a BOM). Beside
each batch, its id index (batch_index) ties Kindful's notifications back to source rows.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from pipelines.outputs.batch_index import (
    INDEX_SUFFIX,
    index_kinds,
    write_index,
    write_index_fields,
)
from pipelines.outputs.csv_text import (
    column_fields,
    csv_bytes,
    formatted_fields,
    header_line,
    rows_data,
)
from pipelines.outputs.private_files import open_private, private_dir
from pipelines.outputs.source_rows import SourceRows

DEFAULT_BATCH_ROWS = 10_000  # 002: "we recommend sending in batches of 10k records at a time"
# Level 6 (gzip's default) spends most of a run compressing; level 3 is ~3x faster for files
# ~10% larger, which matters less than CPU for a file fetched once.
GZIP_LEVEL = 3


@dataclass(frozen=True)
class Batch:
    """One written batch and the source rows it carries, in order."""

    number: int  # 1-based
    path: Path
    rows: int
    content_hash: str  # sha256 of the uncompressed CSV
    source_rows: SourceRows  # 1-based source record number of each batch row
    index_path: Path | None = None  # its external ids by record kind (batch_index)

    @property
    def name(self) -> str:
        return f"batch-{self.number:05d}"


@dataclass
class _Rows:
    """Accepted rows waiting for their batch, with each column's CSV fields made once."""

    frame: pd.DataFrame  # the batch columns
    fields: list[Any]  # per column: Arrow fields (csv_text.column_fields), None: batch-formatted

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Rows:
        return cls(frame, [column_fields(series) for _, series in frame.items()])

    def __len__(self) -> int:
        return len(self.frame)

    def split(self, rows: int) -> tuple[_Rows, _Rows]:
        """The first `rows` rows and the rest."""
        head = [None if f is None else f.slice(0, rows) for f in self.fields]
        tail = [None if f is None else f.slice(rows) for f in self.fields]
        return _Rows(self.frame.iloc[:rows], head), _Rows(self.frame.iloc[rows:], tail)

    def compacted(self) -> _Rows:
        """The same rows, their fields copied out of the whole chunk's (which can be freed)."""
        return _Rows(
            self.frame, [None if f is None else pa.concat_arrays([f]) for f in self.fields]
        )


@dataclass
class BatchWriter:
    """Buffers accepted rows and writes a batch whenever `batch_rows` are waiting.

    Each chunk's CSV fields are made once, as it arrives (csv_text.column_fields, Arrow); a batch
    joins slices of them, and its id index reuses its id columns' fields. The text is what
    writing the concatenated waiting frames wrote: while the waiting chunks' dtypes differ they
    are concatenated (pandas' common dtype, kept by the rows left over), and the columns pandas
    formats (floats, dates) are formatted per batch, as a whole.
    """

    out_dir: Path
    batch_rows: int = DEFAULT_BATCH_ROWS
    columns: list[str] | None = None
    batches: list[Batch] = field(default_factory=list)
    _pending: list[_Rows] = field(default_factory=list)
    _pending_rows: int = 0

    def __post_init__(self) -> None:
        if self.batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        private_dir(self.out_dir)  # batches hold donor data: 0700
        for pattern in ("batch-*.csv.gz", f"batch-*{INDEX_SUFFIX}"):
            for old in self.out_dir.glob(pattern):
                old.unlink()

    def add(self, accepted: pd.DataFrame) -> list[Batch]:
        """Take one chunk's accepted rows (index = 0-based record numbers); return new batches."""
        if self.columns is None:
            self.columns = list(accepted.columns)
        if accepted.empty:
            return []
        self._pending.append(_Rows.of(accepted.reindex(columns=self.columns)))
        self._pending_rows += len(accepted)
        written: list[Batch] = []
        while self._pending_rows >= self.batch_rows:
            written.append(self._flush(self.batch_rows))
        if written and self._pending:  # less than a batch left, of a chunk now written
            self._pending = [part.compacted() for part in self._pending]
        return written

    def close(self) -> list[Batch]:
        """Write the last, partial batch."""
        return [self._flush(self._pending_rows)] if self._pending_rows else []

    def discard(self) -> None:
        """Remove the batches written so far: a run that failed part way submits none."""
        for batch in self.batches:
            batch.path.unlink(missing_ok=True)
            if batch.index_path is not None:
                batch.index_path.unlink(missing_ok=True)
        self.batches.clear()
        self._pending, self._pending_rows = [], 0

    def _take(self, rows: int) -> list[_Rows]:
        """The waiting rows of the next batch, in order; the rest stay waiting."""
        if len(self._pending) > 1 and not _same_dtypes([p.frame for p in self._pending]):
            # as pandas concatenates them (their common dtype), the rest included
            self._pending = [_Rows.of(pd.concat([p.frame for p in self._pending]))]
        taken: list[_Rows] = []
        while rows:
            first = self._pending[0]
            if len(first) <= rows:
                taken.append(self._pending.pop(0))
            else:
                head, self._pending[0] = first.split(rows)
                taken.append(head)
            rows -= len(taken[-1])
        self._pending_rows = sum(map(len, self._pending))
        return taken

    def _flush(self, rows: int) -> Batch:
        names = self.columns or []
        taken = self._take(rows)
        columns = [_batch_fields(taken, position) for position in range(len(names))]
        if columns:
            text = b"".join((header_line(names), rows_data(columns)))
        else:  # no column: as pandas writes it
            text = csv_bytes(pd.concat([part.frame for part in taken]), lineterminator="\n")
        number = len(self.batches) + 1
        path = self.out_dir / f"batch-{number:05d}.csv.gz"
        # mtime=0: the gzip bytes depend only on the content.
        with open_private(path, "wb") as handle:
            handle.write(gzip.compress(text, compresslevel=GZIP_LEVEL, mtime=0))
        index_path = self.out_dir / f"batch-{number:05d}{INDEX_SUFFIX}"
        if all(names.count(column) == 1 for column in index_kinds(names).values()):
            written = write_index_fields(index_path, names, columns)
        else:  # as the frame's index is written (which refuses them)
            written = write_index(index_path, pd.concat([part.frame for part in taken]))
        numbers = [part.frame.index.to_numpy(dtype="int64") for part in taken]
        batch = Batch(
            number=number,
            path=path,
            rows=rows,
            content_hash=hashlib.sha256(text).hexdigest(),
            source_rows=SourceRows(np.concatenate(numbers) + 1),
            index_path=written,
        )
        self.batches.append(batch)
        return batch


def _same_dtypes(frames: list[pd.DataFrame]) -> bool:
    first = list(frames[0].dtypes)
    return all(list(frame.dtypes) == first for frame in frames[1:])


def _batch_fields(parts: list[_Rows], position: int) -> Any:
    """One column's fields in a batch made of `parts` (dtypes alike)."""
    fields = [part.fields[position] for part in parts]
    if all(f is not None for f in fields):
        if len(fields) == 1:
            return fields[0]
        if len({f.type for f in fields}) > 1:
            fields = [f.cast(pa.large_string()) for f in fields]
        return pa.concat_arrays(fields)
    columns = [part.frame.iloc[:, position] for part in parts]
    return formatted_fields(columns[0] if len(columns) == 1 else pd.concat(columns))

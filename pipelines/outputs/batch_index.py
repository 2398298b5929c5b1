"""Which source row sent which external id: how a Kindful notification finds its row.

001's notifications carry the affected record (`object`), never a row number, and every row we
send has its external ids (given or derived, see assign_ids). So each batch keeps, on disk
beside it, its id columns in batch order (`batch-NNNNN.ids.gz`), named by the record kind they
identify; with the batch's SourceRows that maps an external id to its source rows. On disk, not
in memory: every batch is written before the first is submitted, and 1M rows of ids would cost
~60 MB held until the run ends, against ~10 kB per batch read back while it is reconciled.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.outputs.csv_text import csv_bytes, header_line, rows_data
from pipelines.outputs.private_files import open_private

# The column holding each record kind's external id (001's column tables; 002: the app's
# external id is the row's `id`). A split batch's `id` is the split's own.
KIND_ID_COLUMNS: dict[str, str] = {
    "contact": "id",
    "transaction": "transaction_id",
    "note": "note_id",
    "pledge": "pledge_id",
    "non_cash_gift": "non_cash_gift_id",
    "soft_credit": "soft_credit_id",
}
SPLIT_KIND = "split_transaction"
# The record kind whose stats account for a row (schemas' `main_record`, a stats key).
MAIN_KINDS: dict[str, str] = {
    "Contact": "contact",
    "Transaction": "transaction",
    "Note": "note",
    "Pledge": "pledge",
    "Non Cash Gift": "non_cash_gift",
    "Soft Credit": "soft_credit",
}
INDEX_SUFFIX = ".ids.gz"
_SPLIT_MARK = "unit_amount_in_cents"  # only split_transaction has it (001)
_GZIP_LEVEL = 1  # a few kB per batch, read once


def index_kinds(columns: Iterable[str]) -> dict[str, str]:
    """Index column name (record kind) -> batch column, for the id columns present."""
    present = set(columns)
    kinds = {kind: col for kind, col in KIND_ID_COLUMNS.items() if col in present}
    if _SPLIT_MARK in present and "id" in present:
        kinds.pop("contact", None)
        kinds[SPLIT_KIND] = "id"
    return kinds


def write_index(path: Path, batch: pd.DataFrame) -> Path | None:
    """Write the batch's id columns as `<kind>` columns; None when it has no id column."""
    kinds = index_kinds(batch.columns)
    if not kinds:
        return None
    ids = batch[list(kinds.values())]
    ids.columns = pd.Index(list(kinds))
    return _write(path, csv_bytes(ids, lineterminator="\n"))


def write_index_fields(path: Path, columns: Sequence[str], fields: Sequence[Any]) -> Path | None:
    """`write_index` for a batch given as its columns' CSV fields (csv_text.formatted_fields,
    lines ending in "\n"), its column names unique."""
    kinds = index_kinds(columns)
    if not kinds:
        return None
    ids = [fields[list(columns).index(column)] for column in kinds.values()]
    return _write(path, b"".join((header_line(kinds), rows_data(ids))))


def _write(path: Path, text: bytes) -> Path:
    with open_private(path, "wb") as handle:  # external ids of donors: 0600
        handle.write(gzip.compress(text, _GZIP_LEVEL, mtime=0))
    return path


@dataclass(frozen=True)
class BatchIndex:
    """One batch's external ids by record kind, with the source row of each batch position."""

    ids: pd.DataFrame  # one str column per kind, "" where the row has none
    source_rows: np.ndarray  # 1-based source record number at each batch position

    @classmethod
    def load(cls, path: Path | None, source_rows: np.ndarray) -> BatchIndex:
        if path is None or not path.exists():
            return cls(pd.DataFrame(index=pd.RangeIndex(len(source_rows))), source_rows)
        ids = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, compression="gzip"
        )
        if len(ids) != len(source_rows):
            raise ValueError(f"{path.name}: {len(ids)} ids for {len(source_rows)} rows")
        return cls(ids, source_rows)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.ids.columns)

    def main_kind(self, main_record: str) -> str | None:
        """The kind whose id a row is dropped by: a split batch's splits, else main_record's."""
        if SPLIT_KIND in self.ids.columns:
            return SPLIT_KIND
        return MAIN_KINDS.get(main_record)

    def positions(self, keys: pd.DataFrame) -> pd.DataFrame:
        """Batch positions of `keys` (columns `key_no`, `kind`, `external_id`).

        Returns `key_no`, `position`: one line per batch row carrying that kind's id (several
        when rows repeat an id), none for a key no row sent. One merge per kind, no row loop.
        """
        found: list[pd.DataFrame] = []
        for kind, wanted in keys.groupby("kind", sort=False):
            if kind not in self.ids.columns:
                continue
            column = self.ids[kind]
            sent = pd.DataFrame(
                {"external_id": column.to_numpy(), "position": np.arange(len(column))}
            )
            sent = sent[sent["external_id"] != ""]
            found.append(
                wanted[["key_no", "external_id"]].merge(sent, on="external_id")[
                    ["key_no", "position"]
                ]
            )
        if not found:
            return pd.DataFrame(
                {"key_no": pd.Series(dtype="int64"), "position": pd.Series(dtype="int64")}
            )
        return pd.concat(found, ignore_index=True)

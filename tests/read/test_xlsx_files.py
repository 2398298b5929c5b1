"""XLSX: cells as text, sheet selection, blank rows."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from read_helpers import XLSX_EXPECTED, XLSX_ROWS, assert_all_strings, make_xlsx, records, write

from pipelines.read.errors import ExportError
from pipelines.read.export import read_export


@pytest.mark.parametrize("name", ["book.xlsx", "book.bin", "book.xlsx.gz"])
def test_xlsx_cells_become_text(tmp_path: Path, name: str) -> None:
    data = make_xlsx(XLSX_ROWS)
    if name.endswith(".gz"):
        data = gzip.compress(data)
    frame = read_export(write(tmp_path, name, data))
    assert records(frame) == XLSX_EXPECTED
    assert_all_strings(frame)


def test_xlsx_sheet_selection(tmp_path: Path) -> None:
    path = write(tmp_path, "book.xlsx", make_xlsx(XLSX_ROWS, extra_sheet=True))
    assert len(read_export(path)) == 2  # first sheet by default
    assert records(read_export(path, sheet="Second")) == [{"key": "value"}]
    assert records(read_export(path, sheet=1)) == [{"key": "value"}]


def test_xlsx_blank_rows_inside_are_kept_trailing_dropped(tmp_path: Path) -> None:
    rows: list[list[Any]] = [[None, None], ["a", "b"], [1, 2], [None, None], [3, 4]]
    rows += [[None, None]] * 5
    frame = read_export(write(tmp_path, "gaps.xlsx", make_xlsx(rows)))
    assert records(frame) == [
        {"a": "1", "b": "2"},
        {"a": None, "b": None},
        {"a": "3", "b": "4"},
    ]


def test_xlsx_header_only(tmp_path: Path) -> None:
    frame = read_export(write(tmp_path, "h.xlsx", make_xlsx([["a", "b"]])))
    assert list(frame.columns) == ["a", "b"]
    assert frame.empty


@pytest.mark.parametrize(
    ("sheet", "fragment"), [("Nope", "no worksheet named 'Nope'"), (3, "no worksheet number 3")]
)
def test_missing_sheet(tmp_path: Path, sheet: str | int, fragment: str) -> None:
    path = write(tmp_path, "book.xlsx", make_xlsx(XLSX_ROWS))
    with pytest.raises(ExportError, match=fragment):
        read_export(path, sheet=sheet)

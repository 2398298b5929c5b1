"""The XLSX reader on calamine gives what the openpyxl reader gave, value for value.

tests/read/expected/xlsx_records.json was written by the openpyxl reader before the change
(see make_xlsx_expected.py) for every workbook in the repository and for built ones holding
every kind of value; the workbooks that calamine would read otherwise must go to openpyxl.
Calamine reads a sheet in pieces of bounded size, so the same holds with pieces of one row.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import string
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import xlsx_cases
from make_xlsx_expected import EXPECTED, outcomes
from read_helpers import records

from pipelines.read import xlsx_files
from pipelines.read.errors import ExportError
from pipelines.read.export import iter_export
from pipelines.read.limits import Limits


class _Refuse:
    """Stands in for a reader that must not be used; remembers if it was (the export's error
    handling would turn the raised error into an ExportError)."""

    def __init__(self) -> None:
        self.used = False

    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[pd.DataFrame]:
        self.used = True
        raise AssertionError("the other reader was used")


def _one_row_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of one row number each, whatever the workbook carries, however many."""
    monkeypatch.setattr(xlsx_files, "_CALAMINE_CELLS", 1)
    monkeypatch.setattr(xlsx_files, "_CARRIED_PER_CELL", 1 << 62)
    monkeypatch.setattr(xlsx_files, "_REREAD_FREE", 1 << 62)


def _counted_pieces(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The sheet XML of every piece written, as it is written."""
    pieces: list[bytes] = []
    cut = xlsx_files._cut_sheet

    def counting(target: Any, scan: Any, span: int, folder: Path) -> Iterator[Path]:
        for path in cut(target, scan, span, folder):
            with zipfile.ZipFile(path) as archive:
                pieces.append(archive.read(scan.part))
            yield path

    monkeypatch.setattr(xlsx_files, "_cut_sheet", counting)
    return pieces


@pytest.mark.parametrize("pieces", ["default", "one row"])
def test_every_workbook_reads_as_the_openpyxl_reader_did(
    monkeypatch: pytest.MonkeyPatch, pieces: str
) -> None:
    if pieces == "one row":
        _one_row_pieces(monkeypatch)
    expected = json.loads(EXPECTED.read_text())
    found = outcomes()
    assert found.keys() == expected.keys()
    for case, outcome in expected.items():
        assert found[case] == outcome, case


@pytest.mark.parametrize("pieces", ["default", "one row"])
def test_the_built_workbooks_are_read_by_calamine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pieces: str
) -> None:
    if pieces == "one row":
        _one_row_pieces(monkeypatch)
    written = _counted_pieces(monkeypatch)
    refuse = _Refuse()
    monkeypatch.setattr(xlsx_files, "_openpyxl_frames", refuse)
    cases = {**xlsx_cases.built_cases()}
    sample = xlsx_cases.ROOT / "data_samples" / "spreadsheet_contacts.xlsx"
    cases[sample.name] = sample.read_bytes()
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with contextlib.suppress(ExportError):  # far-apart.xlsx is refused
            list(iter_export(str(tmp_path / name)))
        assert not refuse.used, name
    assert len(written) >= len(cases)
    if pieces == "one row":
        assert len(written) > 300


@pytest.mark.parametrize("name", sorted(xlsx_cases.fallback_cases()))
def test_workbooks_calamine_reads_otherwise_go_to_openpyxl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    refuse = _Refuse()
    monkeypatch.setattr(xlsx_files, "_calamine_frames", refuse)
    (tmp_path / name).write_bytes(xlsx_cases.fallback_cases()[name])
    with contextlib.suppress(ExportError):  # refused by openpyxl's reader, as before
        list(iter_export(str(tmp_path / name)))
    assert not refuse.used


def test_no_piece_spans_more_rows_than_its_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 columns, 80 cells a piece: pieces of at most 10 row numbers, cut before a row tag."""
    monkeypatch.setattr(xlsx_files, "_CALAMINE_CELLS", 80)
    monkeypatch.setattr(xlsx_files, "_CARRIED_PER_CELL", 1 << 62)
    written = _counted_pieces(monkeypatch)
    path = tmp_path / "edge.xlsx"
    path.write_bytes(xlsx_cases.edge_workbook())
    list(iter_export(str(path)))
    assert len(written) > 20
    stored = zipfile.ZipFile(io.BytesIO(xlsx_cases.edge_workbook())).read(
        "xl/worksheets/sheet1.xml"
    )
    head, _, _ = stored.partition(b"<sheetData>")
    rows = []
    for piece in written:
        assert piece.startswith(head + b"<sheetData>")
        assert piece.count(b"</sheetData>") == 1
        numbers = [int(n) for n in re.findall(rb'<row r="(\d+)"', piece)]
        assert numbers and numbers[-1] - numbers[0] < 10
        rows += numbers
    assert rows == [int(n) for n in re.findall(rb'<row r="(\d+)"', stored)]


@pytest.mark.parametrize("chunk_rows", [1, 7, 100])
def test_chunks_carry_on_as_one_frame(tmp_path: Path, chunk_rows: int) -> None:
    path = tmp_path / "edge.xlsx"
    path.write_bytes(xlsx_cases.edge_workbook())
    chunks = list(iter_export(str(path), chunk_rows=chunk_rows))
    assert all(len(chunk) <= chunk_rows for chunk in chunks)
    whole = pd.concat(chunks)
    assert list(whole.index) == list(range(len(whole)))
    expected = json.loads(EXPECTED.read_text())["edge.xlsx sheet=None"]["records"]
    assert records(whole) == expected


def test_a_piece_has_fewer_rows_where_a_long_shared_string_would_be_copied() -> None:
    """Calamine copies a shared string into every cell that uses it; openpyxl shares it."""
    assert xlsx_files._piece_span(8, 0, 0) == xlsx_files._CALAMINE_CELLS // 8
    assert xlsx_files._piece_span(8, 1 << 20, 0) == xlsx_files._CALAMINE_STRING_BYTES // (8 << 20)
    assert xlsx_files._piece_span(16_384, 1 << 30, 0) == 1
    # a workbook that carries 100 MB of shared strings: larger pieces, fewer of them
    assert xlsx_files._piece_span(8, 0, 100 << 20) == (100 << 20) // 128 // 8


def _long_string_workbook(tmp_path: Path) -> tuple[Path, str]:
    """A 20,000-character shared string in 200 cells, and that string."""
    text = "".join(random.Random(3).choices(string.ascii_letters, k=20_000))
    path = tmp_path / "long.xlsx"
    path.write_bytes(xlsx_cases.long_shared_string_workbook(text, 200))
    return path, text


def test_a_long_shared_string_in_many_cells_is_read_in_short_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, text = _long_string_workbook(tmp_path)
    with path.open("rb") as stream:
        assert xlsx_files._check_workbook(stream, "long", Limits()).longest >= 20_000
    monkeypatch.setattr(xlsx_files, "_CALAMINE_STRING_BYTES", 1 << 20)  # < 200 x 20 KB
    written = _counted_pieces(monkeypatch)
    assert records(pd.concat(iter_export(str(path)))) == [{"note": text}] * 200
    assert len(written) >= 4  # ~50 cells of 20 KB a piece


def test_pieces_that_would_read_too_much_again_leave_the_sheet_to_openpyxl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, text = _long_string_workbook(tmp_path)
    monkeypatch.setattr(xlsx_files, "_CALAMINE_STRING_BYTES", 1 << 15)  # a row a piece
    monkeypatch.setattr(xlsx_files, "_REREAD_FREE", 1 << 20)  # < 200 x 20 KB read again
    refuse = _Refuse()
    monkeypatch.setattr(xlsx_files, "_calamine_frames", refuse)
    assert records(pd.concat(iter_export(str(path)))) == [{"note": text}] * 200
    assert not refuse.used

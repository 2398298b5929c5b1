"""Workbooks that put every kind of cell value through the XLSX reader, built the same way
each time (seeded), for the test that calamine reads them as openpyxl did."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
# every workbook kept in the repository (the broken ones must fail alike)
STORED = sorted(
    p
    for p in [*ROOT.joinpath("tests").rglob("*.xlsx"), *ROOT.joinpath("data_samples").glob("*")]
    if p.suffix == ".xlsx" and ".venv" not in p.parts
)


def _numbers(rng: random.Random) -> list[Any]:
    fixed: list[Any] = [
        0,
        1,
        -1,
        7,
        6155550123,
        2**53 - 1,
        -(2**53 - 1),
        0.0,
        -0.0,
        1.0,
        5000.0,
        0.1 + 0.2,
        1 / 3,
        2 / 3,
        1e-7,
        1.5e-300,
        123456789.123456789,
        1e15 + 0.3,
        1e20,
        -1e20,
        12.5,
        99.99,
        1234.5678,
        0.000123,
        4.35,
        19.99 * 3,
        9007199254740991.0,
    ]
    drawn = [rng.uniform(-1e6, 1e6) for _ in range(60)]
    drawn += [round(rng.uniform(0, 1000), rng.randint(0, 6)) for _ in range(60)]
    drawn += [rng.randint(-(10**12), 10**12) for _ in range(30)]
    drawn += [rng.random() * 10 ** rng.randint(-12, 15) for _ in range(60)]
    return fixed + drawn


def _moments(rng: random.Random) -> list[Any]:
    fixed: list[Any] = [
        dt.datetime(2015, 10, 13, 18, 56, 12),
        dt.datetime(2016, 1, 2, 3, 4, 5, 999_999),
        dt.datetime(2016, 1, 2, 3, 4, 5, 500_000),
        dt.datetime(2016, 1, 2, 3, 4, 5, 499_999),
        dt.datetime(1900, 1, 1),
        dt.datetime(1900, 3, 1, 12),
        dt.datetime(1985, 7, 29),
        dt.datetime(9999, 12, 31, 23, 59, 59),
        dt.date(2024, 2, 29),
        dt.time(0, 0),
        dt.time(13, 14, 15),
        dt.time(23, 59, 59, 999_000),
        dt.timedelta(days=1, hours=2),
        dt.timedelta(hours=30, minutes=5, seconds=7),
    ]
    start = dt.datetime(1950, 1, 1)
    drawn: list[Any] = [
        start + dt.timedelta(seconds=rng.uniform(0, 120 * 365 * 86400)) for _ in range(120)
    ]
    drawn += [dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 40_000)) for _ in range(40)]
    drawn += [
        dt.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)) for _ in range(30)
    ]
    return fixed + drawn


TEXTS: list[Any] = [
    "Ada",
    " padded ",
    "",
    "Zoë Ñúñez",
    "日本語",
    "line\nbreak",
    "tab\there",
    "0042",
    "1e5",
    "TRUE",
    "=not a formula'",
    "x" * 3000,
    "emoji 🎉",
    "a & b < c",
    None,
    True,
    False,
]


def edge_workbook(*, epoch_1904: bool = False, extra: list[Any] | None = None) -> bytes:
    """Eight columns, ~300 rows: numbers, dates and times, text, booleans, holes, blank rows
    inside and after the data, a row that stops early, a cell styled but empty."""
    rng = random.Random(17)
    numbers, moments = _numbers(rng), _moments(rng)
    if epoch_1904:  # a date before 1904 is a negative number there, which Excel cannot show
        moments = [m for m in moments if not isinstance(m, dt.date) or m.year > 1904]
    workbook = openpyxl.Workbook()
    if epoch_1904:
        workbook.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    sheet = workbook.active
    sheet.title = "Edge"
    sheet.append(["number", "moment", "text", "mixed", "percent", "sparse", "bool", "last"])
    size = max(len(numbers), len(moments))
    for i in range(size):
        if i % 37 == 5:
            sheet.append([])  # a blank row inside the data
            continue
        mixed = [numbers, moments, TEXTS][i % 3]
        row = [
            numbers[i % len(numbers)],
            moments[i % len(moments)],
            TEXTS[i % len(TEXTS)],
            mixed[(i * 7) % len(mixed)],
            rng.random(),
            "s" if i % 11 == 0 else None,
            [True, False, None][i % 3],
            None if i % 5 else f"end {i}",
        ]
        if i % 13 == 0:
            row = row[:3]  # a short row
        sheet.append(row)
        if i % 4 == 0:
            sheet.cell(sheet.max_row, 5).number_format = "0.00%"
    if extra:
        sheet.append(extra)
    sheet.cell(sheet.max_row + 3, 2).number_format = "yyyy-mm-dd"  # styled, empty: trailing
    other = workbook.create_sheet("Other")
    other.append(["key", "value"])
    other.append(["a", 1.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)


def hand_written_workbook(extra: bytes = b"") -> bytes:
    """Cells openpyxl would not write: cached formula results (number, string, boolean),
    inline and rich-text strings, numbers in exponent form, a row that skips ahead."""
    sheet = SHEET_HEAD + (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>formula</t></is></c>'
        b'<c r="B1" t="inlineStr"><is><r><t>ri</t></r><r><rPr><b/></rPr><t>ch</t></r></is></c>'
        b'<c r="C1" t="inlineStr"><is><t xml:space="preserve"> num </t></is></c></row>'
        b'<row r="2"><c r="A2"><f>1+1</f><v>2</v></c>'
        b'<c r="B2" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="C2"><v>1.5E+3</v></c></row>'
        b'<row r="3"><c r="A3" t="b"><f>TRUE()</f><v>1</v></c>'
        b'<c r="B3" t="inlineStr"><is><t>x</t></is></c><c r="C3"><v>-2.5e-3</v></c></row>'
        b'<row r="7"><c r="A7"><f>1/3</f><v>0.33333333333333331</v></c>'
        b'<c r="C7"><v>42</v></c></row>'
        b'<row r="8"><c r="B8" s="0"/><c r="C8"><v>0.1</v></c></row>'
        + extra
        + b"</sheetData></worksheet>"
    )
    base = io.BytesIO()
    openpyxl.Workbook().save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = sheet if info.filename == "xl/worksheets/sheet1.xml" else src.read(info)
            dst.writestr(info.filename, data)
    return out.getvalue()


def long_shared_string_workbook(text: str, cells: int) -> bytes:
    """One shared string in `cells` cells, which calamine would copy into each (openpyxl
    writes inline strings, so the parts are written here as Excel writes them)."""
    shared = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<si><t>note</t></si><si><t>" + text.encode() + b"</t></si></sst>"
    )
    rows = [b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>']
    rows += [
        b'<row r="%d"><c r="A%d" t="s"><v>1</v></c></row>' % (i, i) for i in range(2, cells + 2)
    ]
    sheet = SHEET_HEAD + b"".join(rows) + b"</sheetData></worksheet>"
    override = (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    )
    base = io.BytesIO()
    openpyxl.Workbook().save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", override + b"</Types>")
            dst.writestr(info.filename, data)
        dst.writestr("xl/sharedStrings.xml", shared)
    return out.getvalue()


def offset_workbook() -> bytes:
    """A sheet whose first value is at C4, blank rows and columns around its values."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["C4"], sheet["D4"], sheet["E4"] = "name", "amount", "note"
    for row in range(5, 60):
        if row % 9 == 0:
            continue  # a blank row inside the data
        sheet.cell(row, 3, f"donor {row}")
        sheet.cell(row, 4, row * 2.5 if row % 4 else None)
        if row % 6 == 0:
            sheet.cell(row, 5, "late")
    sheet["D70"].number_format = "0.00"  # styled, empty: trailing
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def built_cases() -> dict[str, bytes]:
    """Workbooks calamine reads."""
    return {
        "edge.xlsx": edge_workbook(),
        "edge-1904.xlsx": edge_workbook(epoch_1904=True),
        "hand-written.xlsx": hand_written_workbook(),
        "shared-strings.xlsx": long_shared_string_workbook("Zoë &amp; co", 30),
        "offset.xlsx": offset_workbook(),
        # a value in a column without a header, 900,000 rows down: read in pieces, refused
        "far-apart.xlsx": hand_written_workbook(
            b'<row r="900000"><c r="Z900000"><v>1</v></c></row>'
        ),
    }


def fallback_cases() -> dict[str, bytes]:
    """Workbooks calamine would read otherwise, left to openpyxl (see `_SheetScan`)."""
    return {
        "blank-text.xlsx": edge_workbook(extra=["  ", "x"]),
        "negative-date.xlsx": edge_workbook(extra=[1, dt.datetime(1899, 1, 1)]),
        "date-1904-before-1904.xlsx": edge_workbook(
            epoch_1904=True, extra=[1, dt.date(1900, 1, 1)]
        ),
        "error-cell.xlsx": hand_written_workbook(
            b'<row r="9"><c r="A9" t="e"><v>#DIV/0!</v></c></row>'
        ),
        "padded-number.xlsx": hand_written_workbook(b'<row r="9"><c r="A9"><v> 42 </v></c></row>'),
        "iso-date-cell.xlsx": hand_written_workbook(
            b'<row r="9"><c r="A9" t="d"><v>2024-01-02T03:04:05</v></c></row>'
        ),
        "row-without-number.xlsx": hand_written_workbook(b'<row><c r="A9"><v>1</v></c></row>'),
        "cell-without-reference.xlsx": hand_written_workbook(b'<row r="9"><c><v>1</v></c></row>'),
        "rows-out-of-order.xlsx": hand_written_workbook(b'<row r="4"><c r="A4"><v>1</v></c></row>'),
        "tag-with-a-newline.xlsx": hand_written_workbook(
            b'<row r="9"><c\nr="A9"><v>1</v></c></row>'
        ),
        "padded-shared-string.xlsx": long_shared_string_workbook(" Zoë &amp; co ", 30),
        # markup that a cut before a row tag could split
        "comment.xlsx": hand_written_workbook(b'<!-- <row r="9"><c r="A9"><v>1</v></c></row> -->'),
        "cdata.xlsx": hand_written_workbook(
            b'<row r="9"><c r="A9" t="inlineStr"><is><t><![CDATA[<row r="10">]]></t></is></c></row>'
        ),
    }

"""What the reader tests share: writing a file, frames as plain records, and the workbook and
JSON lines every reader and source is tried with."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, str | None]]:
    """Rows as dicts with NA turned into None, so expectations read naturally."""
    return [
        {str(k): (None if pd.isna(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def assert_all_strings(frame: pd.DataFrame) -> None:
    assert isinstance(frame.index, pd.RangeIndex)
    for column in frame.columns:
        assert pd.api.types.is_string_dtype(frame[column].dtype), column
        assert all(isinstance(v, str) or pd.isna(v) for v in frame[column]), column


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def make_xlsx(rows: list[list[Any]], *, extra_sheet: bool = False) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Donors"
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        other = workbook.create_sheet("Second")
        other.append(["key"])
        other.append(["value"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


CREATED = dt.datetime(2015, 10, 13, 18, 56, 12)
NOISY = dt.datetime(2016, 1, 2, 3, 4, 5, 999_999)  # what Excel's float days often give back
XLSX_ROWS: list[list[Any]] = [
    [" first_name ", "created_at", "birthday", "amount", "count", "ratio", "opt_in", "note"],
    ["Ada", CREATED, dt.datetime(1985, 7, 29), 5000.0, 7, 12.5, True, None],
    ["Grace", NOISY, None, 0.1 + 0.2, 6155550123, 1.0, False, ""],
]
XLSX_EXPECTED = [
    {
        "first_name": "Ada",
        "created_at": "2015-10-13T18:56:12",
        "birthday": "1985-07-29T00:00:00",
        "amount": "5000",
        "count": "7",
        "ratio": "12.5",
        "opt_in": "true",
        "note": None,
    },
    {
        "first_name": "Grace",
        "created_at": "2016-01-02T03:04:06",  # Excel float noise rounds to the second
        "birthday": None,
        "amount": "0.3",
        "count": "6155550123",
        "ratio": "1",
        "opt_in": "false",
        "note": None,
    },
]


JSONL = (
    '{"id": 1, "name": "Ada", "amount": 25.50, "big": 12345678901234567890, "ok": true,'
    ' "tags": ["a", "b"], "meta": {"n": 1, "x": 2.5}, "gone": null, "text": "NA"}\n'
    "\n"
    '{"name": "Grace", "id": "007", "extra": "", "amount": 5000}\r\n'
)
JSONL_EXPECTED = [
    {
        "id": "1",
        "name": "Ada",
        "amount": "25.50",
        "big": "12345678901234567890",
        "ok": "true",
        "tags": '["a","b"]',
        "meta": '{"n":1,"x":2.5}',
        "gone": None,
        "text": "NA",
        "extra": None,
    },
    {
        "id": "007",
        "name": "Grace",
        "amount": "5000",
        "big": None,
        "ok": None,
        "tags": None,
        "meta": None,
        "gone": None,
        "text": None,
        "extra": None,
    },
]


LATE_KEYS = (
    "\n".join(
        [json.dumps({"id": i}) for i in range(5)]
        + [json.dumps({"id": 5, "late": "x", "": "blank"}), json.dumps({"": "again", "id": 6})]
    )
    + "\n"
)


def big_csv(rows: int) -> bytes:
    lines = ["id,first_name,note,amount"]
    for i in range(rows):
        note = f'"line {i}\nsecond, line"' if i % 7 == 0 else ("" if i % 5 == 0 else f"n{i}")
        lines.append(f"{i},Zoë{i},{note},{i * 100}")
    return ("\n".join(lines) + "\n").encode("utf-8")

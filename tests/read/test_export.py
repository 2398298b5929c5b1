"""read_export / iter_export: encodings, delimiters, containers, formats and every ExportError."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gzip
import http.server
import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pandas as pd
import pytest

from pipelines.read.export import ExportError, display_name, iter_export, read_export

ROOT = Path(__file__).resolve().parents[2]


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


# --------------------------------------------------------------------------------------------
# encodings
# --------------------------------------------------------------------------------------------

ENCODED = "id,first_name,city\n1,José,Zoë’s Café\n2,Ada,Nashville\n"
ENCODED_ROWS = [
    {"id": "1", "first_name": "José", "city": "Zoë’s Café"},
    {"id": "2", "first_name": "Ada", "city": "Nashville"},
]


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("utf-8", ENCODED.encode("utf-8")),
        ("utf-8 with BOM", b"\xef\xbb\xbf" + ENCODED.encode("utf-8")),
        ("windows-1252", ENCODED.encode("cp1252")),
        ("utf-16 LE with BOM", b"\xff\xfe" + ENCODED.encode("utf-16-le")),
        ("utf-16 BE with BOM", b"\xfe\xff" + ENCODED.encode("utf-16-be")),
        ("utf-16 LE without BOM", ENCODED.encode("utf-16-le")),
        ("utf-8 with CRLF", ENCODED.replace("\n", "\r\n").encode("utf-8")),
    ],
)
def test_encodings(tmp_path: Path, label: str, data: bytes) -> None:
    frame = read_export(write(tmp_path, "export.csv", data))
    assert list(frame.columns) == ["id", "first_name", "city"], label  # no BOM in "id"
    assert records(frame) == ENCODED_ROWS
    assert_all_strings(frame)


def test_cp1252_bytes_are_decoded_as_excel_writes_them(tmp_path: Path) -> None:
    # 0xE9 is é and 0x92 the right single quote in Windows-1252; both invalid as UTF-8.
    path = write(tmp_path, "excel.csv", b"name,note\nJos\xe9,O\x92Brien\n")
    assert records(read_export(path)) == [{"name": "José", "note": "O’Brien"}]


def test_cp1252_byte_after_a_long_ascii_head_switches_without_rereading(tmp_path: Path) -> None:
    body = b"".join(b"%d,Ada,Example\n" % i for i in range(20_000))  # ~350 KB of ASCII
    path = write(tmp_path, "late.csv", b"id,first,last\n" + body + b"x,Jos\xe9,Caf\x92\n")
    frame = read_export(path)
    assert len(frame) == 20_001
    assert records(frame.tail(1)) == [{"id": "x", "first": "José", "last": "Caf’"}]


def test_multibyte_utf8_across_read_blocks(tmp_path: Path) -> None:
    text = "id,name,city\n" + "".join(f"{i},Zoë 日本 ’{i}’,Café\n" for i in range(30_000))
    path = write(tmp_path, "wide.csv", text.encode("utf-8"))
    expected = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(read_export(path), expected, check_dtype=False)


def test_bom_never_leaks_into_headers(tmp_path: Path) -> None:
    data = "\ufeff\ufeff id ,\ufeffname\n1,Ada\n".encode()
    assert list(read_export(write(tmp_path, "bom.csv", data)).columns) == ["id", "name"]


# --------------------------------------------------------------------------------------------
# delimiters, quoting, missing values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sep", "data", "expected"),
    [
        (",", 'a,b,c\n1,"x;y",3\n', {"a": "1", "b": "x;y", "c": "3"}),
        (";", "a;b;c\n1;50,5;x|y\n", {"a": "1", "b": "50,5", "c": "x|y"}),
        ("\t", "a\tb\tc\n1\tx, y\t3\n", {"a": "1", "b": "x, y", "c": "3"}),
        ("|", "a|b|c\n1|x, y; z|3\n", {"a": "1", "b": "x, y; z", "c": "3"}),
        ("single column", "email\nada@example.org\nsmith, ada\n", None),
    ],
)
def test_delimiters(tmp_path: Path, sep: str, data: str, expected: dict[str, str] | None) -> None:
    frame = read_export(write(tmp_path, "d.csv", data.encode()))
    if expected is None:
        assert records(frame) == [{"email": "ada@example.org"}, {"email": "smith, ada"}]
    else:
        assert records(frame) == [expected]


def test_delimiter_sniffing_ignores_delimiters_inside_quotes(tmp_path: Path) -> None:
    data = 'name;note\n"Example, Ada";"a, b, c, d"\n"Sample, Grace";"e, f"\n'
    frame = read_export(write(tmp_path, "q.csv", data.encode()))
    assert records(frame) == [
        {"name": "Example, Ada", "note": "a, b, c, d"},
        {"name": "Sample, Grace", "note": "e, f"},
    ]


def test_quoted_newlines_and_delimiters(tmp_path: Path) -> None:
    data = (
        'id,note,amount\r\n1,"line one\r\nline two, with comma",5\r\n'
        '2,"say ""hi""\nthere",6\r\n3,plain,7\r\n'
    )
    frame = read_export(write(tmp_path, "q.csv", data.encode()))
    assert records(frame) == [
        {"id": "1", "note": "line one\r\nline two, with comma", "amount": "5"},
        {"id": "2", "note": 'say "hi"\nthere', "amount": "6"},
        {"id": "3", "note": "plain", "amount": "7"},
    ]
    assert list(frame.index) == [0, 1, 2]


def test_na_like_text_stays_text_and_only_empty_is_missing(tmp_path: Path) -> None:
    data = 'a,b,c,d,e,f,g\nNA,null,N/A,nan,None,"", \n'
    frame = read_export(write(tmp_path, "na.csv", data.encode()))
    assert records(frame) == [
        {"a": "NA", "b": "null", "c": "N/A", "d": "nan", "e": "None", "f": None, "g": " "}
    ]


def test_values_are_never_coerced(tmp_path: Path) -> None:
    data = "zip,id,amount,flag,when\n02134,007,5000.50,TRUE,2015-10-13\n"
    frame = read_export(write(tmp_path, "raw.csv", data.encode()))
    assert records(frame) == [
        {"zip": "02134", "id": "007", "amount": "5000.50", "flag": "TRUE", "when": "2015-10-13"}
    ]
    assert_all_strings(frame)


def test_short_rows_are_padded_with_missing(tmp_path: Path) -> None:
    frame = read_export(write(tmp_path, "short.csv", b"a,b,c\n1,2\n3\n"))
    assert records(frame) == [
        {"a": "1", "b": "2", "c": None},
        {"a": "3", "b": None, "c": None},
    ]


def test_blank_lines_are_not_records_but_empty_fields_rows_are(tmp_path: Path) -> None:
    frame = read_export(write(tmp_path, "blank.csv", b"\na,b\n1,2\n\n,\n3,4\n\n"))
    assert records(frame) == [
        {"a": "1", "b": "2"},
        {"a": None, "b": None},
        {"a": "3", "b": "4"},
    ]


def test_header_only_gives_an_empty_frame_with_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "header.csv", b" id , name \n")
    frame = read_export(path)
    assert list(frame.columns) == ["id", "name"]
    assert frame.empty
    assert_all_strings(frame)
    chunks = list(iter_export(path, chunk_rows=10))
    assert len(chunks) == 1
    assert list(chunks[0].columns) == ["id", "name"]
    assert chunks[0].empty


def test_blank_header_names_get_positional_names(tmp_path: Path) -> None:
    frame = read_export(write(tmp_path, "trailing.csv", b"a,b,\n1,2,\n"))
    assert list(frame.columns) == ["a", "b", "Unnamed: 2"]
    assert records(frame) == [{"a": "1", "b": "2", "Unnamed: 2": None}]


# --------------------------------------------------------------------------------------------
# gzip
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export.csv.gz", "export.csv", "export", "export.gz"])
def test_gzip_is_detected_by_magic_bytes(tmp_path: Path, name: str) -> None:
    data = gzip.compress("a;b\n1;Zoë\n".encode("cp1252"))
    assert records(read_export(write(tmp_path, name, data))) == [{"a": "1", "b": "Zoë"}]


def test_gz_extension_on_plain_text_is_fine(tmp_path: Path) -> None:
    assert records(read_export(write(tmp_path, "liar.csv.gz", b"a,b\n1,2\n"))) == [
        {"a": "1", "b": "2"}
    ]


# --------------------------------------------------------------------------------------------
# xlsx
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# JSON lines
# --------------------------------------------------------------------------------------------

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


@pytest.mark.parametrize("name", ["notes.jsonl", "notes.ndjson", "notes.txt", "notes.jsonl.gz"])
def test_json_lines(tmp_path: Path, name: str) -> None:
    data = JSONL.encode()
    if name.endswith(".gz"):
        data = gzip.compress(data)
    frame = read_export(write(tmp_path, name, data))
    assert list(frame.columns) == [
        "id", "name", "amount", "big", "ok", "tags", "meta", "gone", "text", "extra",
    ]  # fmt: skip
    assert records(frame) == JSONL_EXPECTED
    assert_all_strings(frame)


# --------------------------------------------------------------------------------------------
# chunking
# --------------------------------------------------------------------------------------------


def big_csv(rows: int) -> bytes:
    lines = ["id,first_name,note,amount"]
    for i in range(rows):
        note = f'"line {i}\nsecond, line"' if i % 7 == 0 else ("" if i % 5 == 0 else f"n{i}")
        lines.append(f"{i},Zoë{i},{note},{i * 100}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def big_jsonl(rows: int) -> bytes:
    return "".join(
        json.dumps({"id": i, "name": f"Zoë{i}", "note": None if i % 5 == 0 else f"n{i}"}) + "\n"
        for i in range(rows)
    ).encode()


def big_xlsx(rows: int) -> bytes:
    return make_xlsx([["id", "name"], *([i, f"n{i}"] for i in range(rows))])


@pytest.mark.parametrize(
    ("name", "build", "rows", "chunk_rows"),
    [
        ("big.csv", big_csv, 10_000, 2_300),
        ("big.csv.gz", lambda n: gzip.compress(big_csv(n)), 5_000, 1_000),
        ("big.jsonl", big_jsonl, 1_000, 300),
        ("big.xlsx", big_xlsx, 1_000, 300),
        ("tiny.csv", big_csv, 9, 3),  # exact multiple: no empty trailing chunk
    ],
)
def test_chunks_equal_whole(
    tmp_path: Path, name: str, build: Callable[[int], bytes], rows: int, chunk_rows: int
) -> None:
    path = write(tmp_path, name, build(rows))
    whole = read_export(path)
    chunks = list(iter_export(path, chunk_rows=chunk_rows))
    assert len(chunks) > 3 or rows == 9
    assert all(0 < len(chunk) <= chunk_rows for chunk in chunks)
    assert [chunk.index[0] for chunk in chunks] == list(range(0, rows, chunk_rows))
    for chunk in chunks:
        assert isinstance(chunk.index, pd.RangeIndex)
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)
    assert len(whole) == rows
    assert whole.index.equals(pd.RangeIndex(rows))


LATE_KEYS = (
    "\n".join(
        [json.dumps({"id": i}) for i in range(5)]
        + [json.dumps({"id": 5, "late": "x", "": "blank"}), json.dumps({"": "again", "id": 6})]
    )
    + "\n"
)


@pytest.mark.parametrize("name", ["late.jsonl", "late.jsonl.gz"])
def test_jsonl_key_first_seen_in_a_later_chunk(tmp_path: Path, name: str) -> None:
    data = LATE_KEYS.encode()
    path = write(tmp_path, name, gzip.compress(data) if name.endswith(".gz") else data)
    chunks = list(iter_export(path, chunk_rows=3))
    # every chunk has the whole file's columns; a blank key keeps the name it first got
    assert [list(c.columns) for c in chunks] == [["id", "late", "Unnamed: 2"]] * 3
    assert pd.isna(chunks[0]["late"]).all()
    whole = read_export(path)
    assert list(whole.columns) == ["id", "late", "Unnamed: 2"]
    assert whole["Unnamed: 2"].tolist()[-2:] == ["blank", "again"]
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)


def test_jsonl_chunks_refuse_a_bad_line_before_the_first_chunk(tmp_path: Path) -> None:
    lines = [json.dumps({"id": i}) for i in range(6)] + ['{"id": 6, "id": "Secretson"}']
    path = write(tmp_path, "bad.jsonl", ("\n".join(lines) + "\n").encode())
    chunks = iter_export(path, chunk_rows=2)
    with pytest.raises(ExportError, match="line 7 repeats the key 'id'") as caught:
        next(chunks)
    with pytest.raises(ExportError) as whole:
        read_export(path)
    assert str(caught.value) == str(whole.value)
    assert "Secretson" not in str(caught.value)


def test_jsonl_key_pass_on_remote_sources(s3_bucket: Any, http_root: tuple[Path, str]) -> None:
    """The first pass opens the source again: S3 and HTTP bodies are not seekable."""
    body = gzip.compress(LATE_KEYS.encode())
    s3_bucket.put_object(Bucket="donor-exports", Key="in/late.jsonl.gz", Body=body)
    root, base = http_root
    (root / "late.jsonl").write_bytes(LATE_KEYS.encode())
    for uri in ("s3://donor-exports/in/late.jsonl.gz", f"{base}/late.jsonl?X-Amz-Signature=s"):
        chunks = list(iter_export(uri, chunk_rows=4))
        assert [list(c.columns) for c in chunks] == [["id", "late", "Unnamed: 2"]] * 2
        pd.testing.assert_frame_equal(pd.concat(chunks), read_export(uri))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1e309", "1e309"),
        ("-1E+309", "-1E+309"),
        ("-0", "-0"),
        ("-0.0", "-0.0"),
        ("1.10", "1.10"),
        ("1E5", "1E5"),
        ("0.0000001", "0.0000001"),
        ("25.50", "25.50"),
        ("12345678901234567890", "12345678901234567890"),
        ("NaN", "NaN"),
        ("-Infinity", "-Infinity"),
        ('[1.10, -0, 1e309, "x", {"a": 2.50}]', '[1.10,-0,1e309,"x",{"a":2.50}]'),
        (
            '{"n": {"m": [0.0000001, null, true]}, "s": "é\\""}',
            '{"n":{"m":[0.0000001,null,true]},"s":"é\\""}',
        ),
    ],
)
def test_jsonl_numbers_keep_their_written_form(tmp_path: Path, written: str, expected: str) -> None:
    path = write(tmp_path, "numbers.jsonl", f'{{"amount": {written}}}\n'.encode())
    assert read_export(path)["amount"].tolist() == [expected]


def test_jsonl_deep_nesting_is_one_line_or_text(tmp_path: Path) -> None:
    """Nesting the parser accepts is written back out without recursion."""
    deep = "[" * 500 + "1.0" + "]" * 500
    path = write(tmp_path, "deep.jsonl", f'{{"tags": {deep}}}\n'.encode())
    assert read_export(path)["tags"].tolist() == [deep]


def test_csv_chunks_keep_missing_and_quoted_values(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", big_csv(50))
    first = next(iter_export(path, chunk_rows=20))
    assert first.loc[0, "note"] == "line 0\nsecond, line"
    assert bool(first["note"].isna()[5])


@pytest.mark.parametrize("chunk_rows", [0, -1, 1.5, True])
def test_chunk_rows_must_be_positive(tmp_path: Path, chunk_rows: Any) -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        iter_export(write(tmp_path, "a.csv", b"a\n1\n"), chunk_rows=chunk_rows)


# --------------------------------------------------------------------------------------------
# errors: one line, names the file, never a cell value
# --------------------------------------------------------------------------------------------

SECRET = "Secretson"  # a donor value that must never appear in a message


def _zip_with_csv() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export.csv", f"a,b\n{SECRET},2\n")
    return buffer.getvalue()


def xlsx_ragged() -> bytes:
    return make_xlsx([["a", "b"], ["x", "y"], ["z", SECRET, "extra"]])


ERROR_CASES: list[tuple[str, str, bytes | Callable[[], bytes], str]] = [
    ("empty file", "empty.csv", b"", "empty"),
    ("only blank lines", "blank.csv", b"\n\n\r\n", "empty"),
    ("blank header", "bh.csv", f",,\n1,{SECRET},3\n".encode(), "header row is blank"),
    ("duplicate header", "dup.csv", f"id,Name, name ,name\n1,{SECRET},a,b\n".encode(), "'name'"),
    (
        "ragged row",
        "ragged.csv",
        f'a,b\n1,2\n\n"multi\nline",3\n{SECRET},x,y\n5,6\n'.encode(),
        "record 3 has more fields",
    ),
    ("ragged first row", "ragged1.csv", f"a,b\n{SECRET},2,3\n".encode(), "record 1 has more"),
    (
        "ragged late row",
        "ragged_late.csv",
        b"a,b\n" + b"1,2\n" * 70_000 + f"{SECRET},2,3\n".encode(),
        "record 70001 has more",
    ),
    ("unterminated quote", "quote.csv", f'a,b\n1,"{SECRET}\n2,3\n'.encode(), "never closed"),
    ("undecodable", "bad.csv", b"a,b\n1,\x81\x8d" + SECRET.encode() + b"\n", "cannot decode"),
    (
        "utf-8 then invalid",
        "mixed.csv",
        "a,b\n1,Zoë\n".encode() + b"2,Jos\xe9" + SECRET.encode() + b"\n",
        "UTF-8, UTF-16 or Windows-1252",
    ),
    (
        "truncated utf-16",
        "odd.csv",
        b"\xff\xfe" + "a,b\n1,2\n".encode("utf-16-le") + b"x",
        "decode",
    ),
    (
        "invalid json line",
        "bad.jsonl",
        f'{{"a": "{SECRET}"}}\n{{"a": "{SECRET}",}}\n'.encode(),
        "invalid JSON on line 2",
    ),
    ("json not an object", "arr.jsonl", f'{{"a": 1}}\n["{SECRET}"]\n'.encode(), "line 2 is not"),
    ("json duplicate key", "dupkey.jsonl", f'{{"a": 1, "a": "{SECRET}"}}\n'.encode(), "'a'"),
    ("json array file", "list.json", f'[{{"a": "{SECRET}"}}]'.encode(), "JSON lines"),
    ("empty jsonl", "empty.jsonl", b"\n\n", "empty"),
    ("zip that is not a workbook", "data.zip", _zip_with_csv, "not an Excel"),
    ("xlsx extension, not a zip", "fake.xlsx", f"a,b\n{SECRET},2\n".encode(), "not an Excel"),
    ("legacy xls", "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + SECRET.encode(), ".xls"),
    ("xlsx value beyond header", "ragged.xlsx", xlsx_ragged, "record 2 has more cells"),
    ("empty workbook", "empty.xlsx", lambda: make_xlsx([]), "empty"),
    (
        "truncated gzip",
        "broken.csv.gz",
        gzip.compress(b"a,b\n" + f"1,{SECRET}\n".encode() * 9000, mtime=0)[:200],
        "gzip",
    ),
]


@pytest.mark.parametrize(
    ("label", "name", "data", "fragment"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_export_errors(
    tmp_path: Path, label: str, name: str, data: bytes | Callable[[], bytes], fragment: str
) -> None:
    content = data() if callable(data) else data
    path = write(tmp_path, name, content)
    with pytest.raises(ExportError) as caught:
        read_export(path)
    message = str(caught.value)
    assert fragment in message, (label, message)
    assert "\n" not in message
    assert "\r" not in message
    assert SECRET not in message
    assert name in message
    assert caught.value.__cause__ is None  # no chained traceback to leak values through
    with pytest.raises(ExportError) as chunked:  # the same error when streaming
        list(iter_export(path, chunk_rows=1000))
    assert str(chunked.value) == message


@pytest.mark.parametrize(
    ("sheet", "fragment"), [("Nope", "no worksheet named 'Nope'"), (3, "no worksheet number 3")]
)
def test_missing_sheet(tmp_path: Path, sheet: str | int, fragment: str) -> None:
    path = write(tmp_path, "book.xlsx", make_xlsx(XLSX_ROWS))
    with pytest.raises(ExportError, match=fragment):
        read_export(path, sheet=sheet)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="file not found") as caught:
        read_export(str(tmp_path / "nowhere.csv"))
    assert "nowhere.csv" in str(caught.value)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot read"):
        read_export(str(tmp_path))


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("https://host/a/b.csv?X-Amz-Signature=abc&x=1", "https://host/a/b.csv"),
        ("https://user:pw@host:8443/b.csv#frag", "https://host:8443/b.csv"),
        ("s3://bucket/key.csv?versionId=1", "s3://bucket/key.csv"),
        ("/data/in/export.csv", "/data/in/export.csv"),
        ("export.csv?token=1", "export.csv"),
    ],
)
def test_display_name_hides_queries_and_credentials(uri: str, shown: str) -> None:
    assert display_name(uri) == shown


def test_export_error_is_always_one_line() -> None:
    assert str(ExportError("a\nb\r\nc")) == "a b c"


# --------------------------------------------------------------------------------------------
# remote sources: real HTTP and S3 (moto) servers on 127.0.0.1
# --------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("KINDFUL_ETL_ALLOW_PRIVATE_HOSTS", "127.0.0.1")  # loopback is refused
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_csv_gzip_and_xlsx(http_root: tuple[Path, str]) -> None:
    root, base = http_root
    (root / "export.csv").write_bytes(ENCODED.encode("cp1252"))
    (root / "export.bin").write_bytes(gzip.compress(b"a|b\n1|2\n"))
    (root / "book.xlsx").write_bytes(make_xlsx(XLSX_ROWS))
    assert records(read_export(f"{base}/export.csv?X-Amz-Signature=s3cr3t")) == ENCODED_ROWS
    assert records(read_export(f"{base}/export.bin")) == [{"a": "1", "b": "2"}]
    assert records(read_export(f"{base}/book.xlsx")) == XLSX_EXPECTED
    chunks = list(iter_export(f"{base}/export.csv", chunk_rows=1))
    assert [c.index[0] for c in chunks] == [0, 1]


def test_http_not_found_hides_the_query_string(http_root: tuple[Path, str]) -> None:
    _, base = http_root
    with pytest.raises(ExportError, match="not found") as caught:
        read_export(f"{base}/missing.csv?X-Amz-Signature=s3cr3t")
    assert "s3cr3t" not in str(caught.value)
    assert "/missing.csv" in str(caught.value)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    import boto3  # type: ignore[import-untyped]

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "NO_PROXY": "127.0.0.1,localhost",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    # The moto server lives for the module, so the bucket may exist from an earlier test.
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket="donor-exports")
    return client


def test_s3_csv_gzip_and_xlsx(s3_bucket: Any) -> None:
    s3_bucket.put_object(
        Bucket="donor-exports", Key="in/export.csv.gz", Body=gzip.compress(ENCODED.encode())
    )
    s3_bucket.put_object(Bucket="donor-exports", Key="in/book.xlsx", Body=make_xlsx(XLSX_ROWS))
    s3_bucket.put_object(Bucket="donor-exports", Key="in/notes.jsonl", Body=JSONL.encode())
    assert records(read_export("s3://donor-exports/in/export.csv.gz")) == ENCODED_ROWS
    assert records(read_export("s3://donor-exports/in/book.xlsx")) == XLSX_EXPECTED
    assert records(read_export("s3://donor-exports/in/notes.jsonl")) == JSONL_EXPECTED


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("s3://donor-exports/in/missing.csv", "not found"),
        ("s3://no-such-bucket/in/export.csv", "NoSuchBucket"),
    ],
)
def test_s3_errors(s3_bucket: Any, uri: str, fragment: str) -> None:
    with pytest.raises(ExportError, match=fragment) as caught:
        read_export(uri)
    assert uri in str(caught.value)


# --------------------------------------------------------------------------------------------
# the shipped samples
# --------------------------------------------------------------------------------------------

SAMPLES = [
    ("contacts.csv", 24, "id"),
    ("contact_with_transaction.csv", 20, "transaction_id"),
    ("split_transaction.csv", 17, "unit_amount_in_cents"),
    ("contact_with_note.jsonl", 15, "note_type"),
    ("spreadsheet_contacts.xlsx", 18, "email"),
    ("classy_transactions.csv", 25, "total_gross_amount"),
]


@pytest.mark.parametrize(("name", "rows", "column"), SAMPLES)
def test_samples_read(name: str, rows: int, column: str) -> None:
    frame = read_export(str(ROOT / "data_samples" / name))
    assert len(frame) == rows
    assert column in frame.columns
    assert_all_strings(frame)


def test_samples_are_what_the_generator_writes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts/make_samples.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path)]) == 0
    for path in sorted(tmp_path.iterdir()):
        committed = ROOT / "data_samples" / path.name
        assert committed.read_bytes() == path.read_bytes(), (
            f"re-run scripts/make_samples.py: {path.name}"
        )

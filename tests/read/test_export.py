"""read_export / iter_export: chunks equal the whole file, every ExportError, the samples."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from read_helpers import assert_all_strings, big_csv, make_xlsx, write

from pipelines.read.errors import ExportError
from pipelines.read.export import display_name, iter_export, read_export

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------
# chunking
# --------------------------------------------------------------------------------------------


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

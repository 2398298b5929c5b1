"""JSON lines: keys become columns in first-seen order, in every chunk; values as written."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from read_helpers import JSONL, JSONL_EXPECTED, LATE_KEYS, assert_all_strings, records, write

from pipelines.read.errors import ExportError
from pipelines.read.export import iter_export, read_export


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

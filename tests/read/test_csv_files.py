"""CSV: delimiters, quoting, missing values and header cells, whole and in chunks."""

from __future__ import annotations

from pathlib import Path

import pytest
from read_helpers import assert_all_strings, big_csv, records, write

from pipelines.read.export import iter_export, read_export


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


def test_csv_chunks_keep_missing_and_quoted_values(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", big_csv(50))
    first = next(iter_export(path, chunk_rows=20))
    assert first.loc[0, "note"] == "line 0\nsecond, line"
    assert bool(first["note"].isna()[5])

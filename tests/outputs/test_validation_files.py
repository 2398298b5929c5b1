"""The run's files as CSV readers and spreadsheets see them, and only ever complete.

* `write_csv` is pandas' `to_csv(index=False)` text, except that every field holding the
  delimiter, the quote, "\\r" or "\\n" is quoted, so any CSV reader finds exactly the records
  written (pandas and the csv module leave a bare "\\r" unquoted when lines end in "\\n").
* Column names of rejects.csv are neutralized like its cells.
* A validate that fails partway leaves none of normalized.csv, rejects.csv, warnings.csv and
  summary.json, and no partial file.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.errors import InputError
from pipelines.outputs.batches import BatchWriter
from pipelines.outputs.csv_text import write_csv
from pipelines.outputs.validation_files import OutputWriter, check_reject_size, neutralize_formulas
from pipelines.read.errors import ExportError
from pipelines.read.limits import Limits
from pipelines.transform.job import validate_export

OUTPUTS = ("normalized.csv", "rejects.csv", "warnings.csv", "summary.json")
CLI = str(Path(sys.executable).parent / "kindful-etl")


def written(frame: pd.DataFrame, lineterminator: str = "\n") -> str:
    buffer = io.StringIO(newline="")
    write_csv(frame, buffer, lineterminator=lineterminator)
    return buffer.getvalue()


def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


CELL = st.one_of(
    st.none(),
    st.lists(
        st.sampled_from(["a", "é", " ", ",", '"', "\n", "\r", "\r\n", "=", "\t"]), max_size=6
    ).map("".join),
)


@settings(max_examples=300)
@given(
    rows=st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=8),
    width=st.integers(1, 3),
    lineterminator=st.sampled_from(["\n", "\r\n"]),
)
def test_any_text_reads_back_as_exactly_the_records_written(
    rows: list[list[str | None]], width: int, lineterminator: str
) -> None:
    names = ["a", "b\rc", "d,e"][:width]
    frame = pd.DataFrame([row[:width] for row in rows], columns=names, dtype="str")
    text = written(frame, lineterminator)
    expected = [names, *[["" if cell is None else cell for cell in row[:width]] for row in rows]]
    assert read_back(text) == expected
    if "\r" not in "".join([*names, *(c or "" for row in rows for c in row[:width])]):
        # otherwise exactly what pandas writes
        assert text == frame.to_csv(index=False, lineterminator=lineterminator)


@pytest.mark.parametrize("lineterminator", ["\n", "\r\n"])
def test_other_dtypes_are_written_as_pandas_writes_them(lineterminator: str) -> None:
    frame = pd.DataFrame(
        {
            "float": [1.5, None, 1e20],
            "int": [1, -2, 3],
            "Int64": pd.array([1, None, 3], dtype="Int64"),
            "bool": [True, False, True],
            "date": pd.to_datetime(["2020-01-01 00:00", None, "2021-02-03 04:05"]),
            "category": pd.Categorical(["x", None, "a,b"]),
            "number category": pd.Categorical([1.5, 2.0, None]),
            "object": ["x", 1.25, None],
        }
    )
    assert written(frame, lineterminator) == frame.to_csv(
        index=False, lineterminator=lineterminator
    )
    one = frame[["float"]]
    assert written(one, lineterminator) == one.to_csv(index=False, lineterminator=lineterminator)
    duplicated = pd.DataFrame([["a,b", 1], ["", 2]], columns=["x", "x"])
    assert written(duplicated) == duplicated.to_csv(index=False, lineterminator="\n")


@pytest.mark.parametrize("lineterminator", ["\n", "\r\n"])
def test_a_bare_cr_is_quoted_whatever_the_dtype_around_it(lineterminator: str) -> None:
    frame = pd.DataFrame({"text": ["2019\r01", "x"], "amount": [1.5, None]})
    text = written(frame, lineterminator)
    assert '"2019\r01"' in text
    assert read_back(text) == [["text", "amount"], ["2019\r01", "1.5"], ["x", ""]]
    lone = pd.DataFrame({"text": ["a\rb", "", None]}, dtype="str")
    assert read_back(written(lone, lineterminator)) == [["text"], ["a\rb"], [""], [""]]


def test_a_bare_cr_in_any_run_file_stays_inside_its_record(tmp_path: Path) -> None:
    from pipelines.transform.prepare import PreparedChunk

    source = pd.DataFrame({"first_name": ["Ada\rX", "Bo"], "note": ["=1\r2", "ok"]}, dtype="str")
    issue = {"source_row": [1], "column": ["first_name"], "value": ["Ada\rX"], "reason": ["r"]}
    chunk = PreparedChunk(
        source=source,
        accepted=pd.DataFrame({"first_name": ["Bo\r"], "note": ["o\rk"]}, index=[1], dtype=object),
        rejects=pd.DataFrame(issue),
        warnings=pd.DataFrame(issue),
        rejected_rows=pd.Index([0]),
        ignored_columns=(),
    )
    with OutputWriter(tmp_path) as writer:
        writer.write(chunk)
        writer.close()
    for name in ("normalized.csv", "rejects.csv", "warnings.csv"):
        rows = read_back((tmp_path / name).read_bytes().decode())
        assert len(rows) == 2, (name, rows)
    rejects = read_back((tmp_path / "rejects.csv").read_bytes().decode())
    assert rejects[1][4:] == ["Ada\rX", "'=1\r2"]


def test_a_batch_keeps_cr_and_lf_inside_their_records(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path, batch_rows=2)
    (first,) = writer.add(pd.DataFrame({"id": ["1", "2"], "note": ["a\rb", "c\r\nd"]}))
    (second,) = [*writer.add(pd.DataFrame({"id": ["3"], "note": ["\r"]})), *writer.close()]
    assert read_back(gzip.decompress(first.path.read_bytes()).decode()) == [
        ["id", "note"],
        ["1", "a\rb"],
        ["2", "c\r\nd"],
    ]
    assert read_back(gzip.decompress(second.path.read_bytes()).decode()) == [
        ["id", "note"],
        ["3", "\r"],
    ]


def test_header_names_that_start_a_formula_are_neutralized() -> None:
    frame = pd.DataFrame(
        [["=1", 2, "x"]], columns=['=HYPERLINK("x")', "@SUM(A1)", "-"], dtype=object
    )
    safe = neutralize_formulas(frame)
    assert list(safe.columns) == ['\'=HYPERLINK("x")', "'@SUM(A1)", "'-"]
    assert safe.iloc[0].tolist() == ["'=1", "2", "x"]
    clash = neutralize_formulas(pd.DataFrame([["=a", "b"]], columns=["=x", "'=x"]))
    assert list(clash.columns) == ["'=x", "'=x"]
    assert clash.iloc[0].tolist() == ["'=a", "b"]


# --------------------------------------------------------------------------------------------
# outputs appear complete or not at all
# --------------------------------------------------------------------------------------------

# Record 3 is ragged: with one record a chunk, records 1 and 2 are written before it is read.
RAGGED = "first_name,last_name\nAda,Example\nGrace,Tester\nx,y,z\n"


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.is_file())


def test_a_validate_failing_partway_leaves_no_output_file(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("first_name,last_name\nAda,Example\n")
    out = tmp_path / "out"
    validate_export(str(good), data_format="contact", out_dir=out)
    assert leftovers(out) == sorted(OUTPUTS)
    bad = tmp_path / "bad.csv"
    bad.write_text(RAGGED)
    with pytest.raises(ExportError, match="record 3 has more fields"):
        validate_export(str(bad), data_format="contact", out_dir=out, chunk_rows=1)
    assert leftovers(out) == []  # neither partial files nor the previous run's


def test_outputs_are_written_under_partial_names_until_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.transform.job
    from pipelines.transform.prepare import PreparedChunk

    good = tmp_path / "good.csv"
    good.write_text("first_name,last_name\nAda,Example\nGrace,Tester\n")
    out = tmp_path / "out"
    seen: list[list[str]] = []

    class Spy(OutputWriter):
        def write(self, chunk: PreparedChunk) -> None:
            super().write(chunk)
            self.flush()
            seen.append(leftovers(self.out_dir))

    monkeypatch.setattr(pipelines.transform.job, "OutputWriter", Spy)
    validate_export(str(good), data_format="contact", out_dir=out, chunk_rows=1)
    partial = [".normalized.csv.partial", ".rejects.csv.partial", ".warnings.csv.partial"]
    assert seen == [partial, partial]
    assert leftovers(out) == sorted(OUTPUTS)


def test_cli_validate_failing_partway_is_one_line_and_no_output_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(RAGGED)
    out = tmp_path / "out"
    result = subprocess.run(
        [CLI, "validate", str(bad), "--format", "contact", "--chunk-rows", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"},
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "record 3 has more fields" in lines[0], result.stderr
    assert not out.exists() or leftovers(out) == []


def test_a_records_repeated_values_are_measured_once_per_line_before_they_are_copied() -> None:
    """`records=`: the same verdict as measuring the lines with the record's values in them."""
    source = pd.DataFrame({"name": ["x" * 50, "ok", "y" * 20]}, dtype="str")
    issues = pd.DataFrame(
        {
            "source_row": [1, 1, 3],
            "column": ["a", "b", "a"],
            "value": ["v", pd.NA, "vv"],
            "reason": ["r1", "r22", "r"],
        }
    )
    # record 1: two lines of (1 + 1 + 1 + 2) + 50 and (1 + 1 + 0 + 3) + 50 = 110 characters
    check_reject_size(issues, Limits(reject_chars_per_row=110), records=source)
    with pytest.raises(InputError, match="record 1 would write more than 109 characters"):
        check_reject_size(issues, Limits(reject_chars_per_row=109), records=source)
    lines = pd.concat([issues, source.loc[[0, 0, 2]].reset_index(drop=True)], axis=1)
    with pytest.raises(InputError, match="record 1 would write more than 109 characters"):
        check_reject_size(lines, Limits(reject_chars_per_row=109))

"""The Arrow writers write exactly the bytes the Python ones did (legacy_outputs, the oracle).

* `csv_bytes`/`write_csv`: any frame of text (object, "str", "string"), integers, booleans,
  floats, dates, categories and mixed object columns, with or without a header, "\\n" or
  "\\r\\n" lines, one-column frames, tricky names.
* `neutralize_formulas`: the same frame back (names, dtypes, values); `check_reject_size`: the
  same verdict and message at any limit.
* `BatchWriter`: the same batches, id indexes, hashes and source rows whatever the chunking,
  also when a column's dtype changes between chunks.
* `OutputWriter`: the same run files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from legacy_outputs import (
    legacy_batches,
    legacy_neutralize_formulas,
    legacy_reject_sizes,
    legacy_text,
)

from pipelines.errors import InputError
from pipelines.outputs.batches import BatchWriter
from pipelines.outputs.csv_text import csv_bytes, write_csv, write_csv_bytes
from pipelines.outputs.validation_files import (
    OutputWriter,
    check_reject_size,
    neutralize_formulas,
)
from pipelines.read.limits import Limits
from pipelines.transform.prepare import PreparedChunk

PIECES = [
    "a",
    "Ada",
    "é",
    "日本",
    "😀",
    " ",
    ",",
    '"',
    "'",
    "\n",
    "\r",
    "\r\n",
    "\t",
    "=",
    "+",
    "-",
    "@",
    "\x00",
    "\u2028",
    "1",
]
TEXT = st.lists(st.sampled_from(PIECES), max_size=4).map("".join)
MISSING = st.sampled_from([None, np.nan, pd.NA])
NAMES = st.one_of(
    st.sampled_from(["a", "", "a,b", "=x", 'q"', "\r", "é", "-1", "id", "transaction_id"]),
    st.integers(-2, 2),
)
KINDS = [
    "object",
    "str",
    "string",
    "string[pyarrow]",
    "int64",
    "Int64",
    "bool",
    "boolean",
    "float",
    "datetime",
    "category",
    "number category",
    "mixed object",
    "missing object",
    "NaT object",
]


def column(draw: st.DrawFn, kind: str, rows: int) -> pd.Series:
    """One column of `rows` cells of a kind."""

    def cells(strategy: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(strategy, min_size=rows, max_size=rows))

    if kind == "object":
        return pd.Series(cells(st.one_of(TEXT, MISSING)), dtype=object)
    if kind in ("str", "string", "string[pyarrow]"):
        return pd.Series(cells(st.one_of(TEXT, st.none())), dtype=kind)
    if kind == "int64":
        return pd.Series(cells(st.integers(-(2**63), 2**63 - 1)), dtype="int64")
    if kind == "Int64":
        return pd.Series(cells(st.one_of(st.integers(-1000, 1000), st.none())), dtype="Int64")
    if kind == "bool":
        return pd.Series(cells(st.booleans()), dtype=bool)
    if kind == "boolean":
        return pd.Series(cells(st.one_of(st.booleans(), st.none())), dtype="boolean")
    if kind == "float":
        floats = st.one_of(st.sampled_from([0.1, 1e20, -0.0, 2.5, np.inf]), st.floats())
        return pd.Series(cells(floats), dtype="float64")
    if kind == "datetime":
        stamps = st.sampled_from(["2020-01-01", "2021-02-03 04:05:06", None])
        return pd.Series(pd.to_datetime(cells(stamps), format="ISO8601"))
    if kind == "category":
        return pd.Series(pd.Categorical(cells(st.one_of(TEXT, st.none()))))
    if kind == "number category":
        return pd.Series(pd.Categorical(cells(st.sampled_from([1.5, 2.0, None]))))
    if kind == "mixed object":
        odd = st.sampled_from([1, 1.25, True, b"b,", Decimal("1.5"), np.float32(2.5), None])
        return pd.Series(cells(st.one_of(TEXT, odd)), dtype=object)
    if kind == "missing object":
        return pd.Series(cells(MISSING), dtype=object)
    # pd.NaT is missing to both pandas and Arrow, numpy's NaT to pandas only
    nat = st.sampled_from([pd.NaT, np.datetime64("NaT")])
    return pd.Series(cells(st.one_of(TEXT, nat)), dtype=object)


@st.composite
def frames(draw: st.DrawFn, max_columns: int = 4, kinds: list[str] = KINDS) -> pd.DataFrame:
    rows = draw(st.integers(0, 6))
    width = draw(st.integers(0, max_columns))
    names = draw(st.lists(NAMES, min_size=width, max_size=width))
    chosen = draw(st.lists(st.sampled_from(kinds), min_size=width, max_size=width))
    frame = pd.DataFrame(index=pd.RangeIndex(rows))
    for position, (name, kind) in enumerate(zip(names, chosen, strict=True)):
        frame.insert(position, name, column(draw, kind, rows), allow_duplicates=True)
    return frame


def written_text(frame: pd.DataFrame, **options: Any) -> str:
    buffer = io.StringIO(newline="")
    write_csv(frame, buffer, **options)
    return buffer.getvalue()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=frames(),
    header=st.booleans(),
    lineterminator=st.sampled_from(["\n", "\r\n", os.linesep]),
)
def test_any_frame_is_written_as_the_python_writer_wrote_it(
    frame: pd.DataFrame, header: bool, lineterminator: str
) -> None:
    options: dict[str, Any] = {"header": header, "lineterminator": lineterminator}
    expected = legacy_text(frame, **options)
    assert csv_bytes(frame, **options) == expected.encode("utf-8")
    assert written_text(frame, **options) == expected
    binary = io.BytesIO()
    write_csv_bytes(frame, binary, **options)
    assert binary.getvalue() == expected.encode("utf-8")


TRICKY = ["plain", "", None, "a,b", 'say "hi"', "2019\r01", "line\r\nbreak", "one\ntwo", "\r"]
TRICKY += ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "日本語", 'é,"', "😀"]


@pytest.mark.parametrize("dtype", [object, "str", "string", "string[pyarrow]"])
@pytest.mark.parametrize("lineterminator", ["\n", "\r\n"])
@pytest.mark.parametrize("width", [1, 2])
def test_tricky_values(dtype: Any, lineterminator: str, width: int) -> None:
    frame = pd.DataFrame({"text": TRICKY, "other": TRICKY[::-1]}, dtype=dtype).iloc[:, :width]
    text = csv_bytes(frame, lineterminator=lineterminator)
    assert text == legacy_text(frame, lineterminator=lineterminator).encode()
    assert b'"2019\r01"' in text  # a bare CR is always quoted
    if width == 1:  # a lone empty field is written ""; a missing one too
        assert f'{lineterminator}""{lineterminator}""{lineterminator}'.encode() in text


def test_numbers_booleans_and_dates_as_pandas_writes_them() -> None:
    frame = pd.DataFrame(
        {
            "int": [1, -2, 2**62],
            "Int64": pd.array([1, None, 3], dtype="Int64"),
            "bool": [True, False, True],
            "boolean": pd.array([True, None, False], dtype="boolean"),
            "float": [1.5, None, 1e20],
            "date": pd.to_datetime(["2020-01-01", None, "2021-02-03"]),
            "object": ["x", 1.25, None],
        }
    )
    assert csv_bytes(frame) == frame.to_csv(index=False).encode()
    assert csv_bytes(frame) == legacy_text(frame).encode()


def test_sliced_arrow_columns_and_a_header_only_frame() -> None:
    frame = pd.DataFrame({"a": TRICKY, "b": TRICKY[::-1]}, dtype="str").iloc[3:7]
    assert csv_bytes(frame) == legacy_text(frame).encode()
    empty = frame.iloc[:0]
    assert csv_bytes(empty) == legacy_text(empty).encode() == b"a,b\n"
    assert csv_bytes(empty, header=False) == b""
    lone = pd.DataFrame({"": ["", None]}, dtype=object)
    assert csv_bytes(lone) == legacy_text(lone).encode() == b'""\n""\n""\n'


def assert_same_frame(new: pd.DataFrame, old: pd.DataFrame) -> None:
    assert list(new.columns) == list(old.columns)
    assert new.index.equals(old.index)
    for position in range(old.shape[1]):
        mine, theirs = new.iloc[:, position], old.iloc[:, position]
        assert mine.dtype == theirs.dtype, (position, mine.dtype, theirs.dtype)
        pd.testing.assert_series_equal(mine, theirs, check_exact=True)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames())
def test_neutralize_formulas_returns_what_it_did(frame: pd.DataFrame) -> None:
    assert_same_frame(neutralize_formulas(frame), legacy_neutralize_formulas(frame))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), data=st.data())
def test_check_reject_size_judges_as_it_did(frame: pd.DataFrame, data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.integers(1, 3), min_size=len(frame), max_size=len(frame)))
    rejects = pd.concat([pd.DataFrame({"source_row": rows}), frame], axis=1)
    if rejects.empty:
        check_reject_size(rejects, Limits(reject_chars_per_row=0))
        return
    sizes = legacy_reject_sizes(rejects)
    worst = int(sizes.max())
    check_reject_size(rejects, Limits(reject_chars_per_row=worst))
    if worst:
        with pytest.raises(InputError) as refused:
            check_reject_size(rejects, Limits(reject_chars_per_row=worst - 1))
        record = sizes.index[int(np.argmax(sizes.to_numpy()))]
        assert f"record {record} would write more than {worst - 1} characters" in str(refused.value)


BATCH_KINDS = ["object", "str", "int64", "Int64", "float", "datetime", "mixed object"]


@st.composite
def chunk_lists(draw: st.DrawFn) -> list[pd.DataFrame]:
    """Chunks of accepted rows (index = record numbers), a column's dtype free to change."""
    names = draw(
        st.sampled_from([["id", "note", "amount"], ["transaction_id"], ["note"], ["id", "id"]])
    )
    chunks: list[pd.DataFrame] = []
    number = 0
    for _ in range(draw(st.integers(1, 4))):
        frame = draw(frames(max_columns=0))
        rows = len(frame)
        for name in names:
            if draw(st.integers(0, 5)) == 0 and name != "id":
                continue  # a missing column: reindex fills it with NaN (float)
            kind = draw(st.sampled_from(BATCH_KINDS))
            values = column(draw, kind, rows)
            frame.insert(frame.shape[1], name, values, allow_duplicates=True)
        gaps = draw(st.lists(st.integers(0, 2), min_size=rows, max_size=rows))
        frame.index = pd.Index(number + np.cumsum(np.array(gaps, dtype=np.int64) + 1))
        number += sum(gaps) + rows
        chunks.append(frame)
    return chunks


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(chunks=chunk_lists(), batch_rows=st.integers(1, 5))
def test_batches_are_the_bytes_they_were(
    tmp_path_factory: pytest.TempPathFactory, chunks: list[pd.DataFrame], batch_rows: int
) -> None:
    try:
        expected = legacy_batches(chunks, batch_rows)
    except ValueError as refused:  # duplicate id columns were refused, and still are
        with pytest.raises(ValueError, match=re.escape(str(refused))):
            write_batches(tmp_path_factory.mktemp("b"), chunks, batch_rows)
        return
    batches = write_batches(tmp_path_factory.mktemp("b"), chunks, batch_rows)
    assert len(batches) == len(expected)
    for batch, (text, index, numbers) in zip(batches, expected, strict=True):
        data = text.encode()
        assert batch.path.read_bytes() == gzip.compress(data, compresslevel=3, mtime=0)
        assert batch.content_hash == hashlib.sha256(data).hexdigest()
        assert batch.rows == len(numbers)
        assert list(batch.source_rows) == numbers
        if index is None:
            assert batch.index_path is None
        else:
            assert batch.index_path is not None
            assert gzip.decompress(batch.index_path.read_bytes()) == index.encode()


def write_batches(out: Path, chunks: list[pd.DataFrame], batch_rows: int) -> list[Any]:
    writer = BatchWriter(out, batch_rows=batch_rows)
    for chunk in chunks:
        writer.add(chunk)
    writer.close()
    return list(writer.batches)


def test_a_batch_column_turning_float_midway_is_written_as_pandas_concatenates_it(
    tmp_path: Path,
) -> None:
    """Rows left over from a concatenation keep its dtype, as they did."""
    chunks = [
        pd.DataFrame({"id": ["1", "2", "3"], "n": [1, 2, 3]}, index=[0, 1, 2]),
        pd.DataFrame({"id": ["4", "5"], "n": [4.5, 5.5]}, index=[3, 4]),
        pd.DataFrame({"id": ["6", "7", "8"], "n": [6, 7, 8]}, index=[5, 6, 7]),
    ]
    batches = write_batches(tmp_path, chunks, batch_rows=2)
    texts = [gzip.decompress(b.path.read_bytes()).decode() for b in batches]
    assert texts == [text for text, _, _ in legacy_batches(chunks, 2)]
    assert texts[-1] == "id,n\n7,7.0\n8,8.0\n"  # int rows that came after a float one


def test_the_run_files_are_the_bytes_they_were(tmp_path: Path) -> None:
    source = pd.DataFrame(
        {"first_name": TRICKY, "=note": TRICKY[::-1], "n": [str(i) for i in range(len(TRICKY))]},
        dtype="str",
    )
    accepted = source.iloc[::2].astype(object).rename(columns={"=note": "note"})
    issues = pd.DataFrame(
        {
            "source_row": np.arange(1, len(source), 2, dtype=np.int64),
            "column": pd.Series(["first_name"] * (len(source) // 2), dtype="str"),
            "value": pd.Series(source["first_name"].iloc[::2].tolist()[: len(source) // 2]),
            "reason": pd.Series(['bad "name", see\r\nnotes'] * (len(source) // 2), dtype="str"),
        }
    )
    chunk = PreparedChunk(
        source=source,
        accepted=accepted,
        rejects=issues,
        warnings=issues.iloc[::3],
        rejected_rows=pd.Index(np.arange(0, len(source), 2)),
        ignored_columns=(),
    )
    with OutputWriter(tmp_path) as writer:
        writer.write(chunk)
        writer.write(chunk)
        writer.close()
    originals = source.loc[issues["source_row"].to_numpy() - 1].reset_index(drop=True)
    rejects = pd.concat([issues, originals], axis=1)
    expected = {
        "normalized.csv": [accepted, accepted],
        "rejects.csv": [legacy_neutralize_formulas(rejects)] * 2,
        "warnings.csv": [legacy_neutralize_formulas(issues.iloc[::3])] * 2,
    }
    for name, parts in expected.items():
        text = "".join(
            legacy_text(part, header=i == 0, lineterminator=os.linesep)
            for i, part in enumerate(parts)
        )
        assert (tmp_path / name).read_bytes() == text.encode(), name


def test_text_utf8_cannot_hold_still_fails_to_encode() -> None:
    frame = pd.DataFrame({"a": ["ok", "lone \ud800 surrogate"]}, dtype=object)
    handle = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    with pytest.raises(UnicodeEncodeError):
        legacy_text(frame).encode("utf-8")
    with pytest.raises(UnicodeEncodeError):
        csv_bytes(frame)
    with pytest.raises(UnicodeEncodeError):
        write_csv(frame, handle)

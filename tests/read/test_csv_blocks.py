"""pyarrow's block reader reads every file as pandas' C parser alone does: the same records,
values and missing cells, the same refusals, whatever the block size and wherever pandas takes
over."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.read import csv_blocks, csv_files
from pipelines.read.errors import ExportError
from pipelines.read.export import iter_export, read_export
from pipelines.read.source import _Prefixed, _Scanned
from tests.read.read_helpers import records, write

ROOT = Path(__file__).resolve().parents[2]

_PIECES = ["a", "b", "é", " ", "\t", ",", ";", '"', '""', "\n", "\r\n", "\r", "\x00", "1"]


def _pandas_only(scanner: _Scanned, sep: str, takeover: csv_blocks.Takeover) -> Iterator[pa.Table]:
    """What the reader did before pyarrow: pandas from the first byte."""
    return takeover(_Prefixed(b"", scanner))


def _read(path: str, chunk_rows: int | None) -> list[pd.DataFrame] | str:
    try:
        if chunk_rows is None:
            return [read_export(path)]
        return list(iter_export(path, chunk_rows=chunk_rows))
    except ExportError as exc:
        return str(exc)


def _same(path: str, chunk_rows: int | None, block_bytes: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_files, "arrow_tables", _pandas_only)
        expected = _read(path, chunk_rows)
    with pytest.MonkeyPatch.context() as patch:
        blocks = functools.partial(csv_blocks.arrow_tables, block_bytes=block_bytes)
        patch.setattr(csv_files, "arrow_tables", blocks)
        got = _read(path, chunk_rows)
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
        return
    assert [len(f) for f in got] == [len(f) for f in expected]
    for frame, reference in zip(got, expected, strict=True):
        assert list(frame.columns) == list(reference.columns)
        assert list(frame.index) == list(reference.index)
        assert records(frame) == records(reference)
        assert all(str(frame[c].dtype) == "str" for c in frame.columns)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.sampled_from(["x,y,z\n", "x,y\r\n", '"x","y,1",z\n', "\n\nx;y\n", "x\n", "x,y"]),
    body=st.lists(st.sampled_from(_PIECES), max_size=60).map("".join),
    rows=st.lists(st.sampled_from(["1,2,3\n", "a,,\n", ',"q\nq",\n', "1,2\n"]), max_size=8),
    chunk_rows=st.sampled_from([None, 1, 2, 5]),
    block_bytes=st.sampled_from([1, 7, 64, 1 << 20]),
)
def test_any_text_reads_as_pandas_reads_it(
    tmp_path: Path,
    header: str,
    body: str,
    rows: list[str],
    chunk_rows: int | None,
    block_bytes: int,
) -> None:
    path = write(tmp_path, "fuzz.csv", (header + "".join(rows) + body + "".join(rows)).encode())
    _same(path, chunk_rows, block_bytes)


_INNER = ["a", "é", " ", "\t", ",", '""', "\n", "\r\n", "\r", "\x00"]  # inside quotes
_PLAIN = ["a", "é", " ", "\t", '"', "\x00"]  # a quote here is a plain character
_plain = st.lists(st.sampled_from(_PLAIN), max_size=4).map("".join)
_quoted = st.lists(st.sampled_from(_INNER), max_size=5).map(lambda p: '"' + "".join(p) + '"')
_field = st.one_of(_plain, _quoted, st.tuples(_quoted, _plain).map("".join))  # "a"b reads ab
_record = st.tuples(
    st.lists(_field, min_size=3, max_size=3).map(",".join), st.sampled_from(["\n", "\r\n", "\r"])
).map("".join)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.lists(_record, min_size=1, max_size=12).map("".join),
    ending=st.booleans(),
    chunk_rows=st.sampled_from([None, 3]),
    block_bytes=st.sampled_from([1, 17, 1 << 20]),
)
def test_records_as_wide_as_the_header_read_as_pandas_reads_them(
    tmp_path: Path, body: str, ending: bool, chunk_rows: int | None, block_bytes: int
) -> None:
    """Mostly pyarrow's path: quoted delimiters, line breaks and quotes, text after a closing
    quote, quotes inside unquoted values, NULs, with and without a last line break."""
    text = "x,y,z\n" + (body if ending else body.rstrip("\r\n"))
    _same(write(tmp_path, "records.csv", text.encode()), chunk_rows, block_bytes)


@pytest.mark.parametrize(
    "body",
    [
        "1,2,3\n" * 40,  # pyarrow reads it all
        "1,2,3\n" * 40 + "4,5\n" + "6,7,8\n" * 40,  # a short record: pandas pads it
        "1,2,3\n" * 40 + "   \n" + "6,7,8\n" * 40,  # a whitespace-only line: pandas skips it
        "1,2,3\n" * 40 + "4,5,6,7\n",  # a long record: refused, naming it
        "1,2,3\n" * 40 + '4,5,"6\n7,8\n',  # a quote never closed: refused
        '1,"2\r\n2",3\n' * 40,  # quoted line breaks
        '1,"a ""quoted"" b",3\n' * 40,
    ],
)
@pytest.mark.parametrize("block_bytes", [1, 50, 1 << 20])
def test_takeover_anywhere_keeps_every_record(tmp_path: Path, body: str, block_bytes: int) -> None:
    path = write(tmp_path, "blocks.csv", ("x,y,z\n" + body).encode())
    _same(path, 7, block_bytes)
    _same(path, None, block_bytes)


def test_pyarrow_reads_a_clean_file_without_pandas(tmp_path: Path) -> None:
    """The fast path is taken: no takeover for a file both parsers read alike."""
    path = write(tmp_path, "clean.csv", ('x,y,z\n1,"a,b",\n' * 1000).encode())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_files, "_pandas_tables", _refuse)
        frame = read_export(path)
    assert len(frame) == 1999  # the header's repeats are records
    assert records(frame)[0] == {"x": "1", "y": "a,b", "z": None}


def _refuse(*args: object, **kwargs: object) -> Iterator[pa.Table]:
    raise AssertionError("pandas took over a file pyarrow reads alike")


# Pins the process to one core and keeps the GIL (a long switch interval, a busy loop), so a
# pool thread of read_csv that frees its input late asks for the GIL only as the interpreter
# exits: with the input in Python's memory that hung or aborted ~2 runs in 3.
_EXIT_RIGHT_AFTER_A_READ = """
import os, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
sys.setswitchinterval(100)
from pipelines.read.export import read_export
assert len(read_export(sys.argv[1])) == 50
start = time.perf_counter()
while time.perf_counter() - start < 0.05:
    pass
sys.exit(2)
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux's sched_setaffinity")
def test_a_process_ending_right_after_a_read_exits_as_it_says(tmp_path: Path) -> None:
    """A run that fails right after reading (a bad header) ends with its one-line error's status,
    never "terminate called without an active exception" (SIGABRT) or a hang at exit."""
    path = write(tmp_path, "small.csv", ("x,y\n" + "1,2\n" * 50).encode())
    for _ in range(8):
        try:
            run = subprocess.run(
                [sys.executable, "-c", _EXIT_RIGHT_AFTER_A_READ, str(path)],
                capture_output=True, text=True, timeout=30, check=False, cwd=ROOT,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            pytest.fail("the process hung at exit")
        assert run.returncode == 2, (run.returncode, run.stderr[-2000:])

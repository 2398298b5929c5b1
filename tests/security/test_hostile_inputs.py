"""Hostile exports (tiny files, huge cost): each is refused by `kindful-etl validate`
with one line naming the limit, in under 5 CPU seconds and under 300 MB peak RSS.

Each file is generated here, into the test's folder, at a size that shows the cost; each run
is its own process and its cost is that child's own (`os.wait4`): wall seconds, CPU seconds
(user + system, which other work on the machine cannot inflate) and peak RSS, interpreter and
imports included (~0.7 s, ~120 MB for a one-row file).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.measure import CPU_SECONDS, PEAK_MB, WALL_CEILING, Cost, run_measured

from pipelines.errors import InputError
from pipelines.read.errors import ExportError
from pipelines.read.export import read_export
from pipelines.read.limits import Limits
from pipelines.read.source import _Scanned

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def validate(path: Path, tmp_path: Path, data_format: str = "contact", **env: str) -> Cost:
    out = tmp_path / "out"
    return run_measured(
        ["validate", str(path), "--format", data_format, "--out", str(out)], out, env
    )


def assert_refused_within_bounds(cost: Cost, *fragments: str) -> None:
    """Exit 2, one line naming its limit's setting, within the bounds; any of `fragments`."""
    assert cost.returncode == 2, (cost.returncode, cost.stderr[-2000:])
    lines = cost.stderr.strip().splitlines()
    assert len(lines) == 1, cost.stderr[-2000:]
    assert lines[0].startswith("kindful-etl: error: ")
    assert any(fragment in lines[0] for fragment in fragments), lines[0]
    assert "KINDFUL_ETL_MAX_" in lines[0], lines[0]  # the refusal names its setting
    assert len(lines[0]) < 400
    assert cost.cpu < CPU_SECONDS, cost
    assert cost.peak_mb < PEAK_MB, cost


def gzip_members(first: bytes, repeated: bytes, times: int) -> bytes:
    """A multi-member gzip (valid, and what `gzip` reads as one stream): cheap to build big."""
    member = gzip.compress(repeated, compresslevel=9, mtime=0)
    return gzip.compress(first, mtime=0) + member * times


def patched_xlsx(
    parts: dict[str, bytes], header: Iterable[str] = ("first_name", "last_name")
) -> bytes:
    """A real openpyxl workbook with some parts replaced (a worksheet, the shared strings)."""
    workbook = openpyxl.Workbook()
    workbook.active.append(list(header))
    base = io.BytesIO()
    workbook.save(base)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(base) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, parts.get(info.filename, source.read(info.filename)))
        for name, data in parts.items():
            if name not in source.namelist():
                target.writestr(name, data)
    return out.getvalue()


SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = b"</sheetData></worksheet>"


def inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


# --------------------------------------------------------------------------------------------
# small files that would cost without bound, each refused within the bounds
# --------------------------------------------------------------------------------------------


def test_a_header_of_a_million_columns_is_refused(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(1_000_000)).encode() + b"\nx\n"
    path = tmp_path / "wide.csv.gz"
    path.write_bytes(gzip.compress(header, mtime=0))
    cost = validate(path, tmp_path)
    assert_refused_within_bounds(cost, "the header has more than 2000 columns")


def test_a_header_of_a_million_columns_after_blank_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(b"\n\n  \n" + b",".join([b"x"] * 1_000_000) + b"\n")
    assert_refused_within_bounds(validate(path, tmp_path), "the header has more than")


def test_json_lines_with_a_new_key_on_every_line_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.jsonl"
    path.write_text("".join(json.dumps({f"k{i}": "v"}) + "\n" for i in range(200_000)))
    cost = validate(path, tmp_path)
    assert_refused_within_bounds(cost, "more than 2000 distinct keys")


def test_an_xlsx_with_five_million_shared_strings_is_refused(tmp_path: Path) -> None:
    """Numbered strings (a 13 MB file) so that the count, not the compression ratio, trips."""
    shared = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"".join(b"<si><t>%d</t></si>" % i for i in range(5_000_000))
        + b"</sst>"
    )
    types = zipfile.ZipFile(io.BytesIO(patched_xlsx({}))).read("[Content_Types].xml")
    override = (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" />'
    )
    types = types.replace(b"</Types>", override + b"</Types>")  # as Excel registers it
    path = tmp_path / "strings.xlsx"
    path.write_bytes(patched_xlsx({"xl/sharedStrings.xml": shared, "[Content_Types].xml": types}))
    cost = validate(path, tmp_path)
    assert_refused_within_bounds(cost, "more than 1000000 shared strings")


def test_one_256_mb_line_gzipped_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "line.csv.gz"
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as stream:
        stream.write(b"first_name,last_name\nAda,")
        for _ in range(256):
            stream.write(b"x" * (1 << 20))
        stream.write(b"\n")
    assert path.stat().st_size < 400_000
    cost = validate(path, tmp_path)
    # ~1000 times over: the ratio trips first, past 16 MiB
    assert_refused_within_bounds(cost, "decompresses more than 100 times over", "longer than")


def test_a_long_line_of_plain_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "line.csv"
    with path.open("wb") as stream:
        stream.write(b"first_name,last_name\nAda,")
        stream.write(b"x" * (24 << 20))
        stream.write(b"\n")
    cost = validate(path, tmp_path)
    assert_refused_within_bounds(cost, "a value longer than 4 MiB")
    cost = validate(path, tmp_path, KINDFUL_ETL_MAX_FIELD_BYTES=str(32 << 20))
    assert_refused_within_bounds(cost, "a record longer than 16 MiB")


def test_a_quoted_value_spanning_many_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    with path.open("wb") as stream:
        stream.write(b'first_name,last_name\nAda,"')
        stream.write(b"short line\n" * 1_000_000)  # each line short, the value 11 MB
        stream.write(b'"\n')
    cost = validate(path, tmp_path)
    assert_refused_within_bounds(cost, "a value longer than 4 MiB")


def test_an_xlsx_with_a_value_at_column_xfd_on_each_row_is_refused(tmp_path: Path) -> None:
    rows = [b'<row r="1">' + inline("A1", "first_name") + inline("B1", "last_name") + b"</row>"]
    rows += [
        f'<row r="{i}">'.encode() + inline(f"A{i}", "Ada") + inline(f"XFD{i}", "x") + b"</row>"
        for i in range(2, 20_002)
    ]
    sheet = SHEET_HEAD + b"".join(rows) + SHEET_TAIL
    path = tmp_path / "xfd.xlsx"
    path.write_bytes(patched_xlsx({"xl/worksheets/sheet1.xml": sheet}))
    cost = validate(path, tmp_path)
    assert cost.returncode == 2, cost.stderr
    assert "more cells than the header" in cost.stderr
    assert cost.cpu < CPU_SECONDS and cost.peak_mb < PEAK_MB, cost


def test_an_xlsx_with_a_styled_empty_cell_at_xfd_on_each_row_is_read_quickly(
    tmp_path: Path,
) -> None:
    """The 96 KB file that took 35 s: openpyxl padded every row to 16,384 cells."""
    rows = [b'<row r="1">' + inline("A1", "first_name") + inline("B1", "last_name") + b"</row>"]
    rows += [
        f'<row r="{i}">'.encode()
        + inline(f"A{i}", "Ada")
        + inline(f"B{i}", "Lovelace")
        + f'<c r="XFD{i}" s="0"/></row>'.encode()
        for i in range(2, 20_002)
    ]
    sheet = SHEET_HEAD + b"".join(rows) + SHEET_TAIL
    path = tmp_path / "xfd-styled.xlsx"
    path.write_bytes(patched_xlsx({"xl/worksheets/sheet1.xml": sheet}))
    cost = validate(path, tmp_path)
    assert cost.returncode == 0, cost.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["rows_read"] == summary["rows_accepted"] == 20_000
    assert cost.cpu < CPU_SECONDS and cost.peak_mb < PEAK_MB, cost


def test_an_xlsx_row_number_past_excels_last_row_is_refused(tmp_path: Path) -> None:
    rows = b'<row r="1">' + inline("A1", "first_name") + b"</row>"
    rows += b'<row r="900000000">' + inline("A900000000", "Ada") + b"</row>"
    path = tmp_path / "far.xlsx"
    path.write_bytes(patched_xlsx({"xl/worksheets/sheet1.xml": SHEET_HEAD + rows + SHEET_TAIL}))
    assert_refused_within_bounds(validate(path, tmp_path), "more than 1048576 rows")


def test_a_gzip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip_members(b"first_name,last_name\n", b"Ada,Lovelace\n" * 5_000_000, 16))
    assert path.stat().st_size < 3_000_000  # ~1 GB inside
    cost = validate(path, tmp_path)
    assert_refused_within_bounds(cost, "decompresses more than 100 times over")


def test_an_xlsx_gz_bomb_is_refused_before_much_is_spooled(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx.gz"
    path.write_bytes(gzip_members(b"PK\x03\x04", bytes(64 << 20), 16))
    assert path.stat().st_size < 1_500_000  # ~1 GB inside
    cost = validate(path, tmp_path)
    assert_refused_within_bounds(cost, "decompresses more than 100 times over")


def test_records_whose_rejects_would_flood_rejects_csv_are_refused(tmp_path: Path) -> None:
    """The 245 KB gzip that wrote a 296 MB rejects.csv: long, many-times-wrong records (kept
    under 16 MiB inside, where the compression ratio is not judged yet)."""
    long = "x" * 1_000_000
    columns = ["first_name", "last_name", "company_name", "city", "country", "state", "title"]
    record = ",".join([long] * len(columns))
    body = ",".join(columns) + "\n" + "\n".join([record] * 2) + "\n"
    path = tmp_path / "flood.csv.gz"
    path.write_bytes(gzip.compress(body.encode(), compresslevel=9, mtime=0))
    assert path.stat().st_size < 300_000
    cost = validate(path, tmp_path)
    assert_refused_within_bounds(cost, "characters to rejects.csv")
    assert not list((tmp_path / "out").glob("rejects.csv"))


def test_a_fifo_given_as_the_source_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    cost = validate(fifo, tmp_path)
    assert cost.returncode == 2 and "not a regular file" in cost.stderr, cost
    assert cost.wall < WALL_CEILING


# --------------------------------------------------------------------------------------------
# each limit has its setting, and the settings are checked
# --------------------------------------------------------------------------------------------


def test_a_setting_raises_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "four.csv"
    path.write_text("first_name,last_name,city,state\nAda,Lovelace,London,\n")
    with pytest.raises(ExportError, match="KINDFUL_ETL_MAX_COLUMNS=3"):
        read_export(str(path), limits=Limits.from_env({"KINDFUL_ETL_MAX_COLUMNS": "3"}))
    assert len(read_export(str(path), limits=Limits.from_env({"KINDFUL_ETL_MAX_COLUMNS": "4"})))
    assert validate(path, tmp_path, KINDFUL_ETL_MAX_COLUMNS="3").returncode == 2


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1e6"])
def test_a_bad_limit_setting_is_a_one_line_error(value: str) -> None:
    with pytest.raises(InputError, match="KINDFUL_ETL_MAX_LINE_BYTES must be a positive"):
        Limits.from_env({"KINDFUL_ETL_MAX_LINE_BYTES": value})


def test_the_input_byte_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("first_name\n" + "Ada\n" * 1000)
    with pytest.raises(ExportError, match=r"larger than 1 KiB.*KINDFUL_ETL_MAX_INPUT_BYTES"):
        read_export(str(path), limits=Limits(input_bytes=1024))


def test_a_wide_file_comes_in_shorter_chunks(tmp_path: Path) -> None:
    from pipelines.read.export import iter_export
    from pipelines.read.frames import _CHUNK_CELLS

    width = 1000
    path = tmp_path / "wide.csv"
    rows = 12_000
    path.write_text(
        ",".join(f"c{i}" for i in range(width)) + "\n" + ("," * (width - 1) + "\n") * rows
    )
    chunks = list(iter_export(str(path), chunk_rows=100_000))
    assert sum(len(c) for c in chunks) == rows
    assert max(len(c) for c in chunks) * width <= _CHUNK_CELLS


# --------------------------------------------------------------------------------------------
# the CSV scanner reads quoting exactly as pandas' C parser does
# --------------------------------------------------------------------------------------------


def reference_lengths(data: bytes, sep: int) -> tuple[int, int, int]:
    """(header fields, longest record, longest field) by pandas' tokenizer rules, byte by byte:
    a quote opens a value only at a field's start; `""` inside one is a quote."""
    start_field, unquoted, quoted, quote_in_quoted = range(4)
    state = start_field
    record = field = longest_record = longest_field = 0
    header, header_open, started = 1, True, False
    for i, byte in enumerate(data):
        started = started or byte not in b" \t\r\n"
        bound = line_end = False
        if state == quoted:
            state = quote_in_quoted if byte == 34 else quoted
            continue
        if state == start_field and byte == 34:
            state = quoted
            continue
        if state == quote_in_quoted and byte == 34:
            state = quoted
            continue
        if byte in (sep, 10):
            bound, line_end = True, byte == 10
        elif state != unquoted:
            state = unquoted
        if bound:
            longest_field = max(longest_field, i - field)
            field, state = i + 1, start_field
            if header_open and started and not line_end:
                header += 1
        if line_end:
            longest_record = max(longest_record, i - record)
            record = i + 1
            header_open = header_open and not started
    longest_field = max(longest_field, len(data) - field)
    longest_record = max(longest_record, len(data) - record)
    return header, longest_record, longest_field


class Blocks:
    """A source that returns the data in the given read sizes (as networks do)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data = io.BytesIO(data)
        self._sizes = sizes or [1]
        self._next = 0

    def read(self, size: int = -1) -> bytes:
        want = self._sizes[self._next % len(self._sizes)]
        self._next += 1
        return self._data.read(min(size, want))


def scanner_refusal(data: bytes, sizes: list[int], limits: Limits) -> str | None:
    scanner = _Scanned(Blocks(data, sizes), "f.csv", limits)
    scanner.sep = ord(",")
    buffer = bytearray(4096)
    try:
        while scanner.readinto(buffer):
            pass
    except ExportError as refusal:
        return str(refusal)
    return None


@given(
    data=st.binary(max_size=300).map(lambda b: bytes(b'ab,"\n '[x % 6] for x in b)),
    sizes=st.lists(st.integers(1, 64), min_size=1, max_size=8),
    which=st.sampled_from(["columns", "line_bytes", "field_bytes"]),
    slack=st.integers(0, 1),
)
def test_the_scanner_measures_as_the_reference_does(
    data: bytes, sizes: list[int], which: str, slack: int
) -> None:
    header, record, field = reference_lengths(data, ord(","))
    actual = {"columns": header, "line_bytes": record, "field_bytes": field}[which]
    limit = max(actual - slack, 1)
    refusal = scanner_refusal(data, sizes, Limits(**{which: limit}))
    assert (refusal is not None) == (actual > limit), (refusal, actual, limit)


def test_the_scanner_treats_a_stray_quote_as_pandas_does() -> None:
    """A quote inside an unquoted value is a plain character: no false "value too long"."""
    data = b"height,name\n5'11\",Ada\n" + b"6',Bob\n" * 10_000
    assert scanner_refusal(data, [65536], Limits(field_bytes=100, line_bytes=100)) is None
    assert reference_lengths(data, ord(","))[2] < 100


def test_a_json_value_past_the_field_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"first_name": "x" * 5000, "last_name": "L"}) + "\n")
    with pytest.raises(ExportError, match="a value longer than 4 KiB"):
        read_export(str(path), limits=Limits(field_bytes=4096))


def test_an_xlsx_cell_past_the_field_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cell.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["first_name"])
    workbook.active.append(["x" * 5000])
    workbook.save(path)
    with pytest.raises(ExportError, match="a cell longer than 4 KiB"):
        read_export(str(path), limits=Limits(field_bytes=4096))


def test_zlib_bomb_members_inside_an_xlsx_are_refused(tmp_path: Path) -> None:
    sheet = SHEET_HEAD + b'<row r="1">' + inline("A1", "first_name") + b"</row>"
    sheet += b" " * (100 << 20) + SHEET_TAIL  # 100 MB of whitespace: ~100 KB deflated
    path = tmp_path / "zipbomb.xlsx"
    path.write_bytes(patched_xlsx({"xl/worksheets/sheet1.xml": sheet}))
    assert path.stat().st_size < 1_000_000
    # the ratio is the zip directory's, read without inflating anything
    with pytest.raises(ExportError, match="decompresses more than 100 times over"):
        read_export(str(path))


def test_open_source_bytes_applies_the_readers_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the ledger's content hash should read through: the same refusals as the reader."""
    from pipelines.read.export import open_source_bytes

    monkeypatch.delenv("KINDFUL_ETL_ALLOW_PRIVATE_HOSTS", raising=False)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match="not a regular file"), open_source_bytes(str(fifo)):
        pass
    path = tmp_path / "a.csv"
    path.write_bytes(b"first_name\n" + b"Ada\n" * 100)
    with open_source_bytes(str(path)) as stream:
        assert b"".join(iter(lambda: stream.read(64), b"")) == path.read_bytes()
    with (
        pytest.raises(ExportError, match="KINDFUL_ETL_MAX_INPUT_BYTES=100"),
        open_source_bytes(str(path), limits=Limits(input_bytes=100)),
    ):
        pass  # a local file's size is checked on opening
    with (
        pytest.raises(ExportError, match="loopback, private or link-local"),
        open_source_bytes("http://u:pw@127.0.0.1:9/a.csv?sig=x"),
    ):
        pass

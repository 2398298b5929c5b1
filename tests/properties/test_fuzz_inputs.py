"""Hypothesis fuzzing of the reader, every normalizer and prepare_chunk.

1. The reader: arbitrary bytes end in an ExportError with a one-line message or in an all-string
   frame, never in any other exception; well-formed CSV text gives exactly the records Python's
   csv module finds, and chunked reading gives the same frame as a whole read.
2. Every normalizer in pipelines/normalize/: arbitrary text never raises; run over a column as
   normalize_frame runs it, the result keeps the input's index, holds only strings or NA, and is
   idempotent on its own output.
3. prepare_chunk on random frames of every format: each record accepted or rejected exactly once.

Example counts are bounded so the whole file runs in well under a minute.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import importlib
import inspect
import io
import json
import pkgutil
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import pipelines.normalize
from pipelines.errors import InputError
from pipelines.mapping.spec import ColumnMap, Mapping
from pipelines.normalize.booleans import booleans_distinct
from pipelines.normalize.choices import choices_distinct, gender_distinct
from pipelines.normalize.core import (
    DistinctNormalizer,
    clean_distinct,
    clean_values,
    distinct,
    na_series,
    spread,
)
from pipelines.normalize.countries import countries_distinct
from pipelines.normalize.currency import currency_distinct
from pipelines.normalize.dates import dates_distinct
from pipelines.normalize.emails import emails_distinct
from pipelines.normalize.integers import integers_distinct
from pipelines.normalize.money import (
    cents_distinct,
    dollars_distinct,
    money_distinct,
    normalize_dollars,
)
from pipelines.normalize.result import Normalized
from pipelines.normalize.states import states_distinct
from pipelines.normalize.timestamps import timestamps_distinct
from pipelines.read.errors import ExportError
from pipelines.read.export import iter_export, read_export
from pipelines.transform.options import RunOptions
from pipelines.transform.prepare import prepare_chunk
from schemas.columns import FORMATS, NOTE_TYPES, TRANSACTION_TYPES, Kind

pytestmark = pytest.mark.slow


def fuzz(examples: int) -> settings:
    """A bounded number of examples, no per-example deadline (CI machines are slow)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# --------------------------------------------------------------------------------------------
# 1. the reader
# --------------------------------------------------------------------------------------------

NAMES = ["export.csv", "export.csv.gz", "export.jsonl", "export.json", "export.xlsx", "export"]
PREFIXES = [
    b"",
    b"\xef\xbb\xbf",  # UTF-8 BOM
    b"\xff\xfe",  # UTF-16 LE BOM
    b"\xfe\xff",  # UTF-16 BE BOM
    b"\x1f\x8b",  # gzip magic
    b"PK\x03\x04",  # zip magic
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # legacy .xls
    b"a,b\n",
    b'{"a": 1}\n',
    b"[",
]


@st.composite
def file_bytes(draw: st.DrawFn) -> bytes:
    """Noise, noise behind a magic number or BOM, or gzip of noise (so the inside is reached)."""
    body = draw(st.binary(max_size=600))
    prefix = draw(st.sampled_from(PREFIXES))
    data = prefix + body
    if draw(st.booleans()) and draw(st.booleans()):
        data = gzip.compress(data, mtime=0)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    return data


def assert_all_strings(frame: pd.DataFrame) -> None:
    assert isinstance(frame.index, pd.RangeIndex)
    for column in frame.columns:
        assert isinstance(column, str)
        for value in frame[column].tolist():
            assert isinstance(value, str) or pd.isna(value), (column, value)


def read_outcome(path: str, chunk_rows: int | None) -> pd.DataFrame | str:
    """The frame, or the ExportError's message; any other exception escapes and fails the test."""
    failure: ExportError | None = None
    try:
        if chunk_rows is None:
            return read_export(path)
        frames = list(iter_export(path, chunk_rows=chunk_rows))
        return pd.concat(frames) if len(frames) > 1 else frames[0]
    except ExportError as error:
        failure = error
    message = str(failure)
    assert message and "\n" not in message and "\r" not in message, message
    assert failure.__cause__ is None
    return message


@fuzz(100)
@given(data=file_bytes(), name=st.sampled_from(NAMES), chunk_rows=st.integers(1, 4))
def test_reader_on_arbitrary_bytes_gives_a_frame_or_one_line(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, name: str, chunk_rows: int
) -> None:
    path = tmp_path_factory.mktemp("bytes") / name
    path.write_bytes(data)
    whole = read_outcome(str(path), None)
    chunked = read_outcome(str(path), chunk_rows)
    if isinstance(whole, str):
        assert chunked == whole
        return
    assert_all_strings(whole)
    assert isinstance(chunked, pd.DataFrame)
    pd.testing.assert_frame_equal(chunked, whole)


# Well-formed CSV: random headers (duplicates, blanks, quotes, delimiters, line breaks, NUL,
# non-ASCII) and random cells, written by Python's csv module with the chosen delimiter.
DELIMITERS = [",", ";", "\t", "|"]
CELL_ALPHABET = st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters=",;\t|")
SPECIAL_CELLS = ['"', '""', "a\nb", "a\r\nb", "\x00", " ", "  x  ", "é", "名前", "\ufeff", "=1+2"]


def cells(delimiter: str) -> st.SearchStrategy[str]:
    """Cell text: the file's own delimiter may appear (the writer quotes it); other candidates
    may not, or the delimiter itself would be ambiguous and no count could be expected."""
    return st.one_of(
        st.text(CELL_ALPHABET, max_size=8),
        st.text(st.sampled_from([delimiter, '"', "\n", "\r", " ", "x"]), max_size=5),
        st.sampled_from(SPECIAL_CELLS),
    )


def bare_cr_as_lf(text: str) -> str:
    """The reader's one change to text: a CR not followed by LF (old-Mac line ends) is LF."""
    return re.sub(r"\r(?!\n)", "\n", text)


def clean_header(name: str) -> str:
    """The documented header cleaning: control characters and BOMs dropped, then trimmed."""
    kept = (
        ch
        for ch in bare_cr_as_lf(name)
        if ch != "\ufeff" and not (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
    )
    return "".join(kept).strip()


@contextlib.contextmanager
def unlimited_csv_fields() -> Iterator[None]:
    old = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def csv_records(text: str, delimiter: str) -> list[list[str]]:
    """Records as Python's csv module reads them; blank lines and lines of only spaces and tabs
    are not records (a quoted empty field is)."""
    with unlimited_csv_fields():
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [
        row
        for row in rows
        if row and not (len(row) == 1 and row[0] != "" and row[0].strip(" \t") == "")
    ]


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, str, str]:
    """(text, delimiter, encoding) of a well-formed CSV file, blank lines included."""
    delimiter = draw(st.sampled_from(DELIMITERS))
    pool = ["id", "first_name", "First_Name", " id ", "", "  ", "名前", "a\nb", "\x00", "x"]
    header = draw(
        st.lists(st.one_of(st.sampled_from(pool), cells(delimiter)), min_size=1, max_size=5)
    )
    width = len(header)
    row = st.lists(cells(delimiter), min_size=max(width - 1, 1), max_size=width)
    rows = draw(st.lists(row, max_size=12))
    # LF, CRLF or old-Mac CR line ends. The csv module quotes a field holding a character of
    # the line terminator (and always "\n"), but not a bare "\r" when lines end in "\n".
    terminator = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    unsafe = {"\n": "\r", "\r\n": "", "\r": "\n"}[terminator]
    # Blank lines, or lines of only spaces and tabs. A tab-only line is a blank line to a CSV
    # but a record to a TSV, so none before the header, where nothing tells the two apart.
    blank = st.sampled_from(["", " ", "\t"] if delimiter != "\t" else ["", " "])
    lines: list[str] = []
    for number, drawn in enumerate([header, *rows]):
        cells_row = [c.replace(unsafe, "") if unsafe else c for c in drawn]
        # a lone cell of spaces, quoted or not, reads the same to csv: it cannot tell which
        if len(cells_row) == 1 and cells_row[0] and not cells_row[0].strip(" \t"):
            cells_row = ["x"]
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=terminator)
        writer.writerow(cells_row)
        before = st.sampled_from(["", " "]) if number == 0 else blank
        lines.extend(draw(before) + terminator for _ in range(draw(st.integers(0, 2))))
        lines.append(buffer.getvalue())
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return "".join(lines), delimiter, encoding


def expected_header(text: str, delimiter: str) -> list[str] | str:
    """The column names a reader must give, or the reason it must refuse the header."""
    records = csv_records(text, delimiter)
    if not records:
        return "the file is empty"
    names = [clean_header(cell) for cell in records[0]]
    if not any(names):
        return "header row is blank"
    names = [name or f"Unnamed: {i}" for i, name in enumerate(names)]
    if len(set(names)) < len(names):
        return "duplicate column header"
    return names


@fuzz(100)
@given(csv_file=csv_files(), chunk_rows=st.integers(1, 5))
@example(csv_file=('a,b\n1,2\n""\n   \n3\n', ",", "utf-8"), chunk_rows=1)
@example(csv_file=("a,b\r\r,3\r", ",", "utf-8"), chunk_rows=1)  # CR-only blank line
@example(csv_file=("\t\nid,first_name,First_Name\n\t\n,\n", ",", "utf-8"), chunk_rows=2)
def test_reader_reads_exactly_the_records_the_csv_module_finds(
    tmp_path_factory: pytest.TempPathFactory, csv_file: tuple[str, str, str], chunk_rows: int
) -> None:
    text, delimiter, encoding = csv_file
    assume(not text.lstrip().startswith("{"))  # that is read as JSON lines, by design
    assume(not text.startswith("\ufeff"))  # in UTF-8, a leading U+FEFF is a BOM
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    if encoding == "cp1252" and not data.isascii():
        with contextlib.suppress(UnicodeDecodeError):
            data.decode("utf-8")  # also valid UTF-8 ("Ã©"): ambiguous, and read as UTF-8
            data = text.encode("utf-8")
    path = tmp_path_factory.mktemp("csv") / "export.csv"
    path.write_bytes(data)
    header = expected_header(text, delimiter)
    whole = read_outcome(str(path), None)
    chunked = read_outcome(str(path), chunk_rows)
    if isinstance(header, str):
        # A blank header is refused, though not always for that reason: a leading U+FEFF is
        # taken for a BOM (an empty file), and tab-only lines may make it read as a TSV.
        assert isinstance(whole, str), whole
        assert header == "header row is blank" or header in whole, whole
        assert chunked == whole
        return
    assert isinstance(whole, pd.DataFrame), whole
    records = csv_records(text.removeprefix("\ufeff"), delimiter)[1:]
    assert len(whole) == len(records)
    assert list(whole.columns) == header
    width = len(header)
    expected = [
        [bare_cr_as_lf(cell) or None for cell in record + [""] * (width - len(record))]
        for record in records
    ]
    got = [[None if pd.isna(v) else v for v in row] for row in whole.itertuples(index=False)]
    assert got == expected
    assert isinstance(chunked, pd.DataFrame)
    pd.testing.assert_frame_equal(chunked, whole)


# --------------------------------------------------------------------------------------------
# 2. every normalizer
# --------------------------------------------------------------------------------------------

Normalizer = Callable[[pd.Series], Normalized]


def unchanged(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """What a column without a normalizer gets after cleaning: nothing."""
    return present.astype(object), na_series(present.index)


# The normalizers normalize_frame picks, by the module function that is one (arguments None) or
# builds one from the arguments given.
BUILT_FROM: dict[str, tuple[Callable[..., Any], tuple[Any, ...] | None]] = {
    "strings": (unchanged, None),
    "timestamps": (timestamps_distinct, ()),
    "timestamps_chicago": (timestamps_distinct, ("America/Chicago",)),
    "timestamps_tokyo": (timestamps_distinct, ("Asia/Tokyo",)),
    "dates": (dates_distinct, ()),
    "dates_day_first": (dates_distinct, (True,)),
    "cents": (cents_distinct, None),
    "dollars": (dollars_distinct, None),
    # money in major units by currency and decimal mark; in cents with a decimal comma
    "dollars_usd": (money_distinct, (True,)),
    "dollars_decimal_comma": (money_distinct, (True, ",", "EUR", "amount_in_cents")),
    "dollars_jpy": (money_distinct, (True, ".", "JPY")),
    "dollars_bhd_decimal_comma": (money_distinct, (True, ",", "BHD")),
    "dollars_unknown_currency": (money_distinct, (True, ".", None)),
    "cents_decimal_comma": (money_distinct, (False, ",")),
    "integers": (integers_distinct, None),
    "booleans": (booleans_distinct, None),
    "gender": (gender_distinct, None),
    "transaction_type": (choices_distinct, (TRANSACTION_TYPES,)),
    "note_type": (choices_distinct, (NOTE_TYPES,)),
    "states": (states_distinct, None),
    "countries": (countries_distinct, None),
    "emails": (emails_distinct, None),
    "currency_lower": (currency_distinct, ("lower",)),
    "currency_upper": (currency_distinct, ("upper",)),
}
DISTINCT: dict[str, DistinctNormalizer] = {
    name: function if arguments is None else function(*arguments)
    for name, (function, arguments) in BUILT_FROM.items()
}


def on_rows(normalizer: DistinctNormalizer) -> Normalizer:
    """`normalizer` over a column's rows as `normalize_frame` runs it: once per distinct value,
    after `clean_distinct`, with the answers spread back to the rows."""

    def run(values: pd.Series) -> Normalized:
        codes, uniques = distinct(values)
        found, problems = normalizer(clean_distinct(uniques))
        return spread(values.index, codes, found, problems, len(uniques))

    return run


NORMALIZERS: dict[str, Normalizer] = {
    **{name: on_rows(normalizer) for name, normalizer in DISTINCT.items()},
    # the one row-level normalizer: mapping rules read amounts with it before normalization
    "dollars_in_mapping_rules": normalize_dollars,
}


def test_every_normalizer_module_function_is_fuzzed() -> None:
    """Every `*_distinct` normalizer (what normalize_frame picks) and `normalize_*` function of
    the modules under pipelines.normalize is among the fuzzed ones; core's cleaning runs in all
    of them."""
    found = set()
    for module in pkgutil.iter_modules(pipelines.normalize.__path__):
        if module.name not in {"core", "frame", "result"}:
            loaded = importlib.import_module(f"pipelines.normalize.{module.name}")
            found |= {
                function
                for name, function in inspect.getmembers(loaded, inspect.isfunction)
                if not name.startswith("_")
                and (name.endswith("_distinct") or name.startswith("normalize_"))
                and function.__module__ == loaded.__name__
            }
    fuzzed = {function for function, _ in BUILT_FROM.values()} | {normalize_dollars}
    assert found == fuzzed - {unchanged}


SPECIAL_TEXT = [
    "1e309", "-1e309", "NaN", "nan", "inf", "-inf", "Infinity", "-0", "+0", "-0.0", "0",
    "١٢٣", "１２３", "²", "½", "𝟙𝟚𝟛", "9" * 400, "-" + "9" * 30, "1" * 25 + ".5", "$", "()",
    "($)", "(-5)", "-$-5", "1,0000", "1_000", "0x10", "1e5", ".5", "5.", "$.", "--1", "+-1",
    " 12 ", "\u200b12", "12\u00a0", "\x00", "\x00123", "12\x01", "2020-13-45", "0000-01-01",
    "9999-12-31T23:59:60Z", "0001-01-01", "1/1/0001 00:00", "12/31/9999 11:59:59 PM",
    "2015-10-13T18:56:12+24:00", "2015-10-13 18:56:12 +9999", "02/30/2020", "Oct 13, 2015",
    "Feb 30 2015", "May", "June 1st 99999", "Jan 1 0001 +1400", "1444762572.9999999999",
    "-62135596801", "253402300800", "99999999999999999999", "٣/٤/٢٠٢٠", "@", "a@b", "a@b.c",
    "A@EXAMPLE.ORG", "ａ@example.org", "x@xn--", "ß", "İ", "ﬀ", "ǅ", "USD", "usd ", "ＵＳＤ",
    "us$", "€", "The", "&", "Korea, Republic of", "'", "’", "yes", "N", "1.0", "male", "Cash",
    "sent  email", "Tenn.", "tennessee", "=HYPERLINK(\"x\")", "\t-3", "\r=5", "@SUM(A1)",
]  # fmt: skip
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
    st.text(st.sampled_from("0123456789.,-+$() eE/:TZ\x00\x7f"), max_size=24),
    st.sampled_from(SPECIAL_TEXT),
)
CELLS = st.lists(st.one_of(st.none(), TEXT), max_size=10)


def plain(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else v for v in values.tolist()]


def check_normalized(name: str, series: pd.Series, result: Normalized) -> None:
    assert isinstance(result, Normalized)
    assert result.values.index.equals(series.index)
    assert result.problems.index.equals(series.index)
    for value in result.values.tolist():
        assert isinstance(value, str) or pd.isna(value), (name, value)
    for problem in result.problems.tolist():
        assert isinstance(problem, str) or pd.isna(problem), (name, problem)
    # the canonical form is a fixed point (dollars' output is cents, canonical for cents)
    again = NORMALIZERS["cents"] if name.startswith("dollars") else NORMALIZERS[name]
    assert plain(again(result.values).values) == plain(result.values), name


@fuzz(40)
@pytest.mark.parametrize("name", DISTINCT)
@given(texts=st.lists(TEXT.map(str.strip).filter(bool), max_size=10, unique=True))
def test_normalizer_on_arbitrary_distinct_text_even_uncleaned(name: str, texts: list[str]) -> None:
    """Each normalizer alone, on what it could be handed (control characters included): it
    answers only for the labels it was given, with strings or NA."""
    present = pd.Series(texts, index=pd.Index(range(3 * len(texts), 0, -3)), dtype="str")
    values, problems = DISTINCT[name](present)
    for answers in (values, problems):
        assert set(answers.index) <= set(present.index), name
        for answer in answers.tolist():
            assert isinstance(answer, str) or pd.isna(answer), (name, answer)


@fuzz(40)
@pytest.mark.parametrize("name", NORMALIZERS)
@given(texts=CELLS, start=st.integers(0, 10**6), dtype=st.sampled_from(["object", "str"]))
def test_normalizer_over_a_column_as_the_pipeline_runs_it(
    name: str, texts: list[str | None], start: int, dtype: str
) -> None:
    index = pd.Index(range(start + len(texts), start, -1))  # not 0..n-1, not ascending
    series = pd.Series(texts, index=index, dtype=dtype)
    check_normalized(name, series, NORMALIZERS[name](series))


@fuzz(40)
@given(texts=CELLS, dtype=st.sampled_from(["object", "str"]))
def test_cleaning_straight_from_the_rows_matches_cleaning_per_distinct_value(
    texts: list[str | None], dtype: str
) -> None:
    """normalize_frame cleans a column without a normalizer row by row when it can: the same."""
    series = pd.Series(texts, dtype=dtype)
    direct = clean_values(series)
    if direct is not None:
        assert plain(pd.Series(direct)) == plain(NORMALIZERS["strings"](series).values)


def test_timestamp_with_a_trailing_nul_is_unparseable_not_an_exception() -> None:
    """numpy's fixed-width strings drop trailing NULs: '0\\x00' must not be read as '0'.

    (Cleaning removes NULs before normalize_frame's timestamps see them; the normalizer alone
    must still not misread one.)
    """
    texts = ["0\x00", "1444762572\x00", "\x00", "2015-10-13\x00\x00", "Oct 13, 2015\x00"]
    values, problems = timestamps_distinct()(pd.Series([*texts, "1444762572"], dtype="str"))
    assert plain(values.sort_index()) == [None] * 5 + ["2015-10-13T18:56:12+00:00"]
    assert plain(problems.sort_index()) == ["unparseable timestamp"] * 5 + [None]


def test_far_future_local_time_west_of_utc_is_unparseable_not_an_exception() -> None:
    texts = ["9999-12-31 23:00:00", "12/31/9999 11:59:59 PM", "Dec 31 9999 23:00"]
    result = NORMALIZERS["timestamps_chicago"](pd.Series(texts, dtype="str"))
    assert plain(result.values) == [None, None, None]
    assert plain(result.problems) == ["unparseable timestamp"] * 3


@pytest.mark.parametrize(
    ("source_tz", "text", "expected"),
    [
        # Chicago was UTC-6 in 9999 and on local mean time (-5:50:36) in year 1
        ("America/Chicago", "9999-12-31 17:59:59", "9999-12-31T23:59:59+00:00"),
        ("America/Chicago", "12/31/9999 06:00:00 PM", None),
        ("America/Chicago", "9999-12-30 23:00:00", "9999-12-31T05:00:00+00:00"),
        ("America/Chicago", "0001-01-01 00:00:00", "0001-01-01T05:50:36+00:00"),
        ("Asia/Tokyo", "0001-01-01 09:18:59", "0001-01-01T00:00:00+00:00"),  # LMT +9:18:59
        ("Asia/Tokyo", "0001-01-01 09:18:58", None),
        ("America/Chicago", "Dec 31 9999 17:59:59", "9999-12-31T23:59:59+00:00"),
        ("Asia/Tokyo", "9999-12-31 23:59:59", "9999-12-31T14:59:59+00:00"),
        ("Pacific/Kiritimati", "0001-01-01 00:00:00", "0001-01-01T10:29:20+00:00"),  # LMT
        ("Pacific/Kiritimati", "9999-12-31 23:59:59", "9999-12-31T09:59:59+00:00"),  # +14
        ("Etc/GMT+12", "9999-12-31 11:59:59", "9999-12-31T23:59:59+00:00"),
        ("Etc/GMT+12", "9999-12-31 12:00:00", None),
    ],
)
def test_local_times_at_the_ends_of_rfc3339_years(
    source_tz: str, text: str, expected: str | None
) -> None:
    """Within a day of years 1 and 9999 a local time converts while its UTC instant is in range."""
    normalizer = on_rows(timestamps_distinct(source_tz))
    result = normalizer(pd.Series([text, "2015-10-13 12:00:00"], dtype="str"))
    assert plain(result.values)[0] == expected
    assert plain(result.problems)[0] == (None if expected else "unparseable timestamp")


# --------------------------------------------------------------------------------------------
# 3. prepare_chunk on random frames of every format
# --------------------------------------------------------------------------------------------

GOOD: dict[Kind, list[str]] = {
    Kind.STRING: ["Ada", "Example", "Acme", "General", "x" * 300],
    Kind.TEXT: ["a note", "line\nbreak", "y" * 6000],
    Kind.EMAIL: ["a@example.org", "A@Example.ORG ", "nope"],
    Kind.TIMESTAMP: ["1444762572", "2015-10-13 18:56:12 UTC", "10/13/2015", "13/45/2015"],
    Kind.DATE: ["1985-07-29", "7/29/1985", "1985-02-30"],
    Kind.CENTS: ["500", "5000.0", "50.5", "0", "-1", "1e3", "30,00", "1.234,56", "1.234", "0.5"],
    Kind.INTEGER: ["1", "2.0", "2.5", "-3"],
    Kind.BOOLEAN: ["Y", "no", "maybe", "1"],
    Kind.GENDER: ["m", "Female", "x"],
    Kind.CHOICE: ["cash", "Sent  email", "General", "bogus"],
    Kind.STATE: ["Tennessee", "tn", "Ontario"],
    Kind.COUNTRY: ["USA", "uk", "Narnia"],
    Kind.CURRENCY_LOWER: ["USD", "eur", "zzz", "JPY", "bhd"],
    Kind.CURRENCY_UPPER: ["usd", "GBP", "zzz", "krw", "KWD"],
}
JUNK = ["", "  ", "\x00", "=1+2", "NaN", "١٢٣", "\ufeff", "9" * 40]


def cell_values(kind: Kind) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.sampled_from(GOOD[kind]),
        st.sampled_from(JUNK),
        st.text(max_size=5),
    )


def _valid_rows() -> dict[str, dict[str, str]]:
    """Per format, a record the reference itself sends (tests/fixtures), as text."""
    path = Path(__file__).resolve().parents[1].joinpath("fixtures") / "reference_examples.json"
    rows: dict[str, dict[str, str]] = {}
    for case in json.loads(path.read_text()):
        data, fmt = case.get("data"), FORMATS[case["data_format"]]
        if isinstance(data, list) and data and case["data_format"] not in rows:
            rows[fmt.name] = {k: str(v) for k, v in data[0].items() if k in fmt.names}
    return rows


VALID_ROWS = _valid_rows()


@st.composite
def frames(draw: st.DrawFn, data_format: str) -> pd.DataFrame:
    """A chunk as iter_export gives it: string cells, index continuing from an earlier chunk.

    Rows are a valid record, a valid record with a few cells spoiled, or random cells, so
    chunks mix accepted and rejected records.
    """
    fmt = FORMATS[data_format]
    valid = VALID_ROWS[data_format]
    extra = [c.name for c in fmt.columns if c.name not in valid and draw(st.integers(0, 3)) == 0]
    names = [*valid, *extra]
    kinds = {c.name: c.kind for c in fmt.columns}
    size = draw(st.integers(0, 12))
    rows: list[dict[str, str | None]] = []
    for _ in range(size):
        style = draw(st.sampled_from(["valid", "spoiled", "random"]))
        row: dict[str, str | None] = {name: valid.get(name) for name in names}
        if style == "random":
            row = {name: draw(cell_values(kinds[name])) for name in names}
        elif style == "spoiled" and names:
            for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)):
                row[name] = draw(cell_values(kinds[name]))
        row["not_a_kindful_column"] = draw(st.none() | st.text(max_size=3))
        rows.append(row)
    start = draw(st.integers(0, 3)) * 1000
    columns = [*names, "not_a_kindful_column"]
    return pd.DataFrame(
        rows, index=pd.RangeIndex(start, start + size), columns=columns, dtype="str"
    )


def _major_units(chunk: pd.DataFrame, data_format: str, decimal: str) -> Mapping:
    """A mapping that keeps every Kindful column of `chunk`, money in major units."""
    fmt = FORMATS[data_format]
    columns = []
    for name in chunk.columns:
        column = fmt.column(str(name))
        if column is not None:
            unit = "dollars" if column.kind is Kind.CENTS else None
            columns.append(ColumnMap(str(name), str(name), unit))  # type: ignore[arg-type]
    return Mapping("fuzz", data_format, columns=tuple(columns), decimal=decimal)  # type: ignore[arg-type]


@fuzz(15)
@pytest.mark.parametrize("data_format", list(FORMATS))
@given(
    data=st.data(),
    action=st.sampled_from(["create", "update"]),
    by_email=st.booleans(),
    money=st.sampled_from([None, ".", ","]),
)
def test_prepare_chunk_accepts_or_rejects_every_record_exactly_once(
    data_format: str, data: st.DataObject, action: str, by_email: bool, money: str | None
) -> None:
    """Also with money in major units (each row by its currency), either decimal mark."""
    chunk = data.draw(frames(data_format))
    match_by = {"contact": "email"} if by_email and FORMATS[data_format].has_contact else {}
    options = RunOptions(data_format=data_format, action=action, match_by=match_by)
    mapping = None if money is None else _major_units(chunk, data_format, money)
    try:
        result = prepare_chunk(chunk, mapping, options)
    except InputError as error:  # columns no row could do without: a file-level refusal
        refusal = str(error)
    else:
        refusal = ""
    if refusal:
        assert "missing column(s)" in refusal
        return
    records = set(chunk.index)
    accepted = set(result.accepted.index)
    rejected = set(result.rejected_rows)
    assert len(result.accepted) == len(accepted)
    assert accepted.isdisjoint(rejected)
    assert accepted | rejected == records
    assert set(result.rejects["source_row"]) == {r + 1 for r in rejected}
    assert result.rows_read == len(chunk)
    assert set(result.warnings["source_row"]) <= {r + 1 for r in accepted}

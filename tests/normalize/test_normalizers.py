"""Value normalizers: exact input -> output tables, Kindful's own examples, and properties.

Each normalizer is run as `normalize_frame` runs it: once per distinct value of a column, after
the cleaning every value gets (`clean_distinct`), with the answers spread back to the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import email_validator
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.normalize import emails
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
from pipelines.normalize.money import DECIMAL_COMMA_HINT, cents_distinct, dollars_distinct
from pipelines.normalize.result import Normalized
from pipelines.normalize.states import states_distinct
from pipelines.normalize.timestamps import rfc3339_utc, timestamps_distinct

NA = None  # expected "missing" in the tables below

Normalizer = Callable[[pd.Series], Normalized]


def on_rows(normalizer: DistinctNormalizer) -> Normalizer:
    """`normalizer` over a column's rows as `normalize_frame` runs it: once per distinct value,
    after `clean_distinct`, with the answers spread back to the rows."""

    def run(values: pd.Series) -> Normalized:
        codes, uniques = distinct(values)
        found, problems = normalizer(clean_distinct(uniques))
        return spread(values.index, codes, found, problems, len(uniques))

    return run


def unchanged(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """What a column without a normalizer gets after cleaning: nothing."""
    return present.astype(object), na_series(present.index)


strings = on_rows(unchanged)
timestamps = on_rows(timestamps_distinct())
dates = on_rows(dates_distinct())
cents = on_rows(cents_distinct)
dollars = on_rows(dollars_distinct)
integers = on_rows(integers_distinct)
booleans = on_rows(booleans_distinct)
gender = on_rows(gender_distinct)
states = on_rows(states_distinct)
countries = on_rows(countries_distinct)
email_addresses = on_rows(emails_distinct)

TRANSACTION_TYPES = [
    "Cash",
    "Credit",
    "Check",
    "Paypal",
    "Stock",
    "EFT",
    "Payroll Deduction",
    "Consolidated",
    "Square",
]
NOTE_TYPES = [
    "Call",
    "Event",
    "General",
    "Meeting",
    "Received Email",
    "Received Letter",
    "Recurring Gift Cancelation",
    "Recurring Gift Update",
    "Sent Email",
    "Sent Letter",
    "Visit From",
    "Visit To",
]

NORMALIZERS: dict[str, Normalizer] = {
    "strings": strings,
    "timestamps": timestamps,
    "timestamps_chicago": on_rows(timestamps_distinct("America/Chicago")),
    "dates": dates,
    "dates_day_first": on_rows(dates_distinct(day_first=True)),
    "cents": cents,
    "dollars": dollars,
    "booleans": booleans,
    "gender": gender,
    "choices": on_rows(choices_distinct(TRANSACTION_TYPES)),
    "states": states,
    "countries": countries,
    "emails": email_addresses,
    "currency_lower": on_rows(currency_distinct("lower")),
    "currency_upper": on_rows(currency_distinct("upper")),
    "integers": integers,
}


def _plain(cell: Any) -> Any:
    """NA of any kind -> None, so expected tables can say NA and compare with ==."""
    return None if pd.isna(cell) else cell


def one(normalizer: Normalizer, text: str | None) -> tuple[Any, Any]:
    """(value, problem) for a single cell."""
    result = normalizer(pd.Series([text], dtype="str"))
    return _plain(result.values.iloc[0]), _plain(result.problems.iloc[0])


def run_all(normalizer: Normalizer, texts: list[str | None]) -> list[tuple[Any, Any]]:
    result = normalizer(pd.Series(texts, dtype="str"))
    return [
        (_plain(value), _plain(problem))
        for value, problem in zip(result.values, result.problems, strict=True)
    ]


# --------------------------------------------------------------------------------------------
# The shared contract


@pytest.mark.parametrize("name", NORMALIZERS)
def test_missing_cells_give_na_without_problem_and_index_is_kept(name: str) -> None:
    normalizer = NORMALIZERS[name]
    index = pd.Index([40, 10, 30, 20, 50])
    values = pd.Series(["", None, np.nan, pd.NA, "   "], index=index, dtype=object)
    result = normalizer(values)
    assert result.values.index.equals(index)
    assert result.problems.index.equals(index)
    assert result.values.isna().all()
    assert result.problems.isna().all()


@pytest.mark.parametrize("name", NORMALIZERS)
@pytest.mark.parametrize("dtype", ["str", "object"])
def test_empty_series(name: str, dtype: str) -> None:
    result = NORMALIZERS[name](pd.Series([], dtype=dtype))
    assert len(result.values) == 0
    assert len(result.problems) == 0


@pytest.mark.parametrize("name", NORMALIZERS)
def test_values_are_python_str_or_na(name: str) -> None:
    texts = ["1444762572", "USA", "true", "Cash", "$5", "TN", "a@b.co", "usd", "7/29/1985", "x"]
    result = NORMALIZERS[name](pd.Series(texts * 3, index=range(100, 130), dtype="str"))
    for cell in [*result.values, *result.problems]:
        assert cell is pd.NA or type(cell) is str


def test_repeated_values_map_back_to_their_own_rows() -> None:
    texts = ["5", "x", None, "5", "2.5", "x", "", "5"]
    index = pd.Index(list("abcdefgh"))
    result = integers(pd.Series(texts, index=index, dtype=object))
    assert result.values.index.equals(index)
    assert [_plain(v) for v in result.values] == ["5", NA, NA, "5", NA, NA, NA, "5"]
    assert [_plain(p) for p in result.problems] == [
        NA,
        "not a whole number",
        NA,
        NA,
        "not a whole number",
        "not a whole number",
        NA,
        NA,
    ]


# --------------------------------------------------------------------------------------------
# Every example value in the Kindful Imports API reference

KINDFUL_EXAMPLES: list[tuple[str, str, str]] = [
    # (normalizer, example as written in the reference, expected canonical value)
    ("timestamps", "1444762572", "2015-10-13T18:56:12+00:00"),
    ("timestamps", "2015-10-13 18:56:12 UTC", "2015-10-13T18:56:12+00:00"),
    ("timestamps", "2015-10-13T18:56:12+00:00", "2015-10-13T18:56:12+00:00"),
    ("timestamps", "2015-09-29 17:23:49 +0000", "2015-09-29T17:23:49+00:00"),
    ("timestamps", "2015-10-15T18:56:12+00:00", "2015-10-15T18:56:12+00:00"),
    ("timestamps", "2016-10-13T18:56:12+00:00", "2016-10-13T18:56:12+00:00"),
    ("timestamps", "2016-03-31 15:36:52 UTC", "2016-03-31T15:36:52+00:00"),
    ("timestamps", "2016-04-05 10:36:52 UTC", "2016-04-05T10:36:52+00:00"),
    ("timestamps", "2017-01-25T11:53:12-06:00", "2017-01-25T17:53:12+00:00"),
    ("timestamps", "2017-01-25T11:52:37-06:00", "2017-01-25T17:52:37+00:00"),
    ("timestamps", "Tue, 13 Oct 2015 18:56:12 UTC +00:00", "2015-10-13T18:56:12+00:00"),
    ("timestamps", "Thu, 15 Oct 2015 18:56:12 UTC +00:00", "2015-10-15T18:56:12+00:00"),
    ("timestamps", "12345", "1970-01-01T03:25:45+00:00"),  # deleted_at example
    ("timestamps", "1509645791", "2017-11-02T18:03:11+00:00"),  # webhook created_at
    ("dates", "07/29/1985", "1985-07-29"),
    ("dates", "2015/05/18", "2015-05-18"),
    ("dates", "2015/5/18", "2015-05-18"),
    ("dates", "2015/07/07", "2015-07-07"),
    ("dates", "2016/01/31", "2016-01-31"),
    ("dates", "2016/07/13", "2016-07-13"),
    ("countries", "United States", "United States"),
    ("countries", "USA", "United States"),
    ("states", "TN", "TN"),
    ("states", "NY", "NY"),
    ("gender", "M", "M"),
    ("booleans", "true", "true"),
    ("booleans", "false", "false"),
    ("booleans", "True", "true"),
    ("booleans", "False", "false"),
    ("booleans", "Y", "true"),
    ("booleans", "N", "false"),
    ("booleans", "1", "true"),
    ("booleans", "0", "false"),
    ("booleans", "Yes", "true"),
    ("booleans", "No", "false"),
    ("cents", "5000", "5000"),
    ("cents", "500", "500"),
    ("cents", "200", "200"),
    ("cents", "3000", "3000"),
    ("cents", "1000", "1000"),
    ("cents", "100", "100"),
    ("cents", "300", "300"),
    ("cents", "25", "25"),
    ("cents", "623", "623"),
    ("cents", "10000", "10000"),
    ("cents", "20000", "20000"),
    ("integers", "7", "7"),
    ("integers", "1", "1"),
    ("integers", "4", "4"),
    ("integers", "2", "2"),
    ("currency_lower", "usd", "usd"),
    ("currency_upper", "USD", "USD"),
    ("currency_upper", "CAD", "CAD"),
    ("emails", "jsmith@email.co", "jsmith@email.co"),
    ("emails", "johnsmith@email.co", "johnsmith@email.co"),
    ("emails", "john@kindful.com", "john@kindful.com"),
    ("emails", "john+1@kindful.com", "john+1@kindful.com"),
    ("emails", "heavyweights@kindful.com", "heavyweights@kindful.com"),
    ("emails", "pete@kindful.com", "pete@kindful.com"),
    ("emails", "org@email.com", "org@email.com"),
    ("emails", "daniel+decline@kindful.com", "daniel+decline@kindful.com"),
    *(("choices", kind, kind) for kind in TRANSACTION_TYPES),
    ("choices", "check", "Check"),  # the reference's transaction response spells it so
]


@pytest.mark.parametrize(("name", "text", "expected"), KINDFUL_EXAMPLES)
def test_kindful_reference_examples(name: str, text: str, expected: str) -> None:
    assert one(NORMALIZERS[name], text) == (expected, NA)


@pytest.mark.parametrize("note_type", NOTE_TYPES)
def test_kindful_note_types(note_type: str) -> None:
    normalize = on_rows(choices_distinct(NOTE_TYPES))
    assert one(normalize, note_type) == (note_type, NA)
    assert one(normalize, note_type.lower()) == (note_type, NA)
    assert one(normalize, note_type.upper().replace(" ", "  ")) == (note_type, NA)


# --------------------------------------------------------------------------------------------
# cleaning: what every value gets, and all a column without a normalizer gets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\ufeffid", "id"),
        ("abc\ufeff", "abc"),
        ("a\ufeffb", "ab"),
        ("  padded  ", "padded"),
        ("\u00a0nbsp\u00a0", "nbsp"),
        ("a\x00b\x07c\x1bd", "abcd"),
        ("del\x7f", "del"),
        ("c1\x85\x9f", "c1"),
        ("line1\r\nline2", "line1\nline2"),
        ("line1\rline2", "line1\nline2"),
        ("keep\ttabs\nand newlines", "keep\ttabs\nand newlines"),
        ("\r\n", NA),
        ("\ufeff", NA),
        ("\x00 \x01", NA),
        ("  ", NA),
        ("", NA),
        (None, NA),
        ("Café ☕ 東京", "Café ☕ 東京"),
    ],
)
def test_cleaning(text: str | None, expected: str | None) -> None:
    assert one(strings, text) == (expected, NA)
    # the shortcut for columns without a normalizer cleans the same, or declines
    direct = clean_values(pd.Series([text], dtype="str"))
    assert direct is None or _plain(direct[0]) == expected


def test_cleaning_never_truncates() -> None:
    long_text = "x" * 100_000
    assert one(strings, f"  {long_text}\x00 ") == (long_text, NA)
    assert list(clean_values(pd.Series([f"  {long_text} "], dtype="str"))) == [long_text]


def test_cleaning_accepts_non_string_objects() -> None:
    values = pd.Series([5, 2.5, None, " a "], dtype=object)
    assert [_plain(v) for v in strings(values).values] == ["5", "2.5", NA, "a"]
    assert clean_values(values) is None  # not all text: the distinct path decides


# --------------------------------------------------------------------------------------------
# timestamps

UNPARSEABLE_TIMESTAMP = "unparseable timestamp"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # unix seconds
        ("0", "1970-01-01T00:00:00+00:00"),
        ("1444762572", "2015-10-13T18:56:12+00:00"),
        ("1444762572.0", "2015-10-13T18:56:12+00:00"),
        ("1444762572.999999999", "2015-10-13T18:56:12+00:00"),
        ("+1444762572", "2015-10-13T18:56:12+00:00"),
        ("-1", "1969-12-31T23:59:59+00:00"),
        ("-1.5", "1969-12-31T23:59:58+00:00"),
        ("-0.000001", "1969-12-31T23:59:59+00:00"),
        ("-2.000", "1969-12-31T23:59:58+00:00"),
        ("253402300799", "9999-12-31T23:59:59+00:00"),
        ("-62135596800", "0001-01-01T00:00:00+00:00"),
        # RFC 3339 / ISO 8601 with offsets
        ("2015-10-13T18:56:12+00:00", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13T13:56:12-05:00", "2015-10-13T18:56:12+00:00"),
        ("2015-10-14T00:26:12+05:30", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13T18:56:12Z", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13t18:56:12z", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13T18:56:12.999Z", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13T18:56:12.123456789+00:00", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13 18:56:12+0000", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13 13:56:12 -0500", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13T13:56:12-05", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13T18:56Z", "2015-10-13T18:56:00+00:00"),
        ("2015-10-13 18:56:12 UTC", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13 18:56:12 utc", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13 18:56:12UTC", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13 18:56:12 GMT", "2015-10-13T18:56:12+00:00"),
        ("2015/10/13 18:56:12 UTC", "2015-10-13T18:56:12+00:00"),
        ("2000-01-01T00:30:00+01:00", "1999-12-31T23:30:00+00:00"),
        # naive ISO and bare dates (source_tz UTC here)
        ("2015-10-13T18:56:12", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13 18:56:12", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13 18:56:12.75", "2015-10-13T18:56:12+00:00"),
        ("2015-10-13 6:56", "2015-10-13T06:56:00+00:00"),
        ("2015-10-13", "2015-10-13T00:00:00+00:00"),
        ("2015/10/13", "2015-10-13T00:00:00+00:00"),
        ("2015-5-3", "2015-05-03T00:00:00+00:00"),
        ("2016-02-29", "2016-02-29T00:00:00+00:00"),
        # US
        ("10/13/2015", "2015-10-13T00:00:00+00:00"),
        ("1/2/2015", "2015-01-02T00:00:00+00:00"),
        ("10-13-2015", "2015-10-13T00:00:00+00:00"),
        ("10/13/2015 18:56", "2015-10-13T18:56:00+00:00"),
        ("10/13/2015 18:56:12", "2015-10-13T18:56:12+00:00"),
        ("10/13/2015 18:56:12.9", "2015-10-13T18:56:12+00:00"),
        ("10/13/2015 6:56 PM", "2015-10-13T18:56:00+00:00"),
        ("10/13/2015 6:56 pm", "2015-10-13T18:56:00+00:00"),
        ("10/13/2015 6:56PM", "2015-10-13T18:56:00+00:00"),
        ("10/13/2015 06:56:12 AM", "2015-10-13T06:56:12+00:00"),
        ("10/13/2015 12:00 AM", "2015-10-13T00:00:00+00:00"),
        ("10/13/2015 12:30 PM", "2015-10-13T12:30:00+00:00"),
        ("7/4/2015 9:05:01 PM", "2015-07-04T21:05:01+00:00"),
        # month names (dateutil, checked for missing parts)
        ("October 13, 2015", "2015-10-13T00:00:00+00:00"),
        ("Oct 13 2015 6:56 PM", "2015-10-13T18:56:00+00:00"),
        ("Tue, 13 Oct 2015 13:56:12 -0500", "2015-10-13T18:56:12+00:00"),
    ],
)
def test_timestamps_become_rfc3339_utc_whole_seconds(text: str, expected: str) -> None:
    assert one(timestamps, text) == (expected, NA)


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "2015-02-30",
        "2015-02-29",
        "2015-13-01",
        "2015-10-13T24:00:00",
        "2015-10-13T18:60:00Z",
        "10/13/2015 13:56 PM",
        "10/13/2015 0:56 AM",
        "10/13/2015 25:00",
        "13/13/2015",
        "2015-10",
        "2015-10-13T18:56:12+25:00",
        "0000-01-01",
        "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
        "99999999999999",  # unix seconds past year 9999
        "1e9",
        "May 2015",  # no day: dateutil would invent one
        "13 Oct 2015 18:56:12 EST",  # unknown zone name: dateutil would drop it
        "junk 2015",
        "2015-10-13T18:56:12+00:00 and more",
        "1" * 100,
        "２０１５-10-13",  # full-width digits
    ],
)
def test_timestamps_that_cannot_be_read_are_a_problem(text: str) -> None:
    assert one(timestamps, text) == (NA, UNPARSEABLE_TIMESTAMP)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-07-01 12:00:00", "2015-07-01T17:00:00+00:00"),  # CDT, UTC-5
        ("2015-01-15 12:00:00", "2015-01-15T18:00:00+00:00"),  # CST, UTC-6
        ("2015-07-01T12:00:00", "2015-07-01T17:00:00+00:00"),
        ("07/01/2015 12:00 PM", "2015-07-01T17:00:00+00:00"),
        ("01/15/2015 12:00 PM", "2015-01-15T18:00:00+00:00"),
        ("2015-01-15", "2015-01-15T06:00:00+00:00"),
        ("January 15, 2015", "2015-01-15T06:00:00+00:00"),
        # fall back: 01:30 happens twice; the earlier (CDT) instant is taken
        ("2015-11-01 01:30:00", "2015-11-01T06:30:00+00:00"),
        # spring forward: 02:30 never happens; shifted forward to 03:00 CDT
        ("2015-03-08 02:30:00", "2015-03-08T08:00:00+00:00"),
        # values with an offset, and unix seconds, ignore source_tz
        ("2015-07-01T12:00:00+00:00", "2015-07-01T12:00:00+00:00"),
        ("2015-07-01 12:00:00 UTC", "2015-07-01T12:00:00+00:00"),
        ("1444762572", "2015-10-13T18:56:12+00:00"),
    ],
)
def test_timestamps_without_an_offset_are_read_in_the_source_timezone(
    text: str, expected: str
) -> None:
    normalize = on_rows(timestamps_distinct("America/Chicago"))
    assert one(normalize, text) == (expected, NA)


def test_timestamps_of_every_family_in_one_column() -> None:
    texts = [
        "2015-10-13T18:56:12+00:00",
        "1444762572",
        None,
        "10/13/2015 1:56 PM",
        "nope",
        "2015-10-13 13:56:12",
        "1444762572",
    ]
    assert run_all(on_rows(timestamps_distinct("America/New_York")), texts) == [
        ("2015-10-13T18:56:12+00:00", NA),
        ("2015-10-13T18:56:12+00:00", NA),
        (NA, NA),
        ("2015-10-13T17:56:00+00:00", NA),
        (NA, UNPARSEABLE_TIMESTAMP),
        ("2015-10-13T17:56:12+00:00", NA),
        ("2015-10-13T18:56:12+00:00", NA),
    ]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "America/", "../etc/passwd", "CST 6"])
def test_an_unknown_source_timezone_is_refused_in_one_line(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown timezone") as raised:
        timestamps_distinct(zone)
    assert "\n" not in str(raised.value)


_OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
_INSTANTS = st.datetimes(
    min_value=dt.datetime(1000, 1, 2), max_value=dt.datetime(9998, 12, 30), timezones=_OFFSETS
)


def _floor_utc(stamp: dt.datetime) -> str:
    return stamp.astimezone(dt.UTC).replace(microsecond=0).isoformat()


@settings(deadline=None)
@given(stamp=_INSTANTS, separator=st.sampled_from(["T", " "]), zulu=st.booleans())
def test_property_any_aware_iso_timestamp(stamp: dt.datetime, separator: str, zulu: bool) -> None:
    text = stamp.isoformat(sep=separator)
    if zulu and stamp.utcoffset() == dt.timedelta(0):
        text = text.removesuffix("+00:00") + "Z"
    assert one(timestamps, text) == (_floor_utc(stamp), NA)


@settings(deadline=None)
@given(
    stamp=st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    style=st.sampled_from(
        [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
            "%m/%d/%Y %H:%M:%S",
            "%m/%d/%Y %I:%M:%S %p",
            "%-m/%-d/%Y %-I:%M:%S%p",
            "%m-%d-%Y %H:%M:%S",
            "%Y-%m-%d %H:%M:%S UTC",
        ]
    ),
)
def test_property_naive_styles_in_utc(stamp: dt.datetime, style: str) -> None:
    expected = stamp.replace(microsecond=0, tzinfo=dt.UTC).isoformat()
    assert one(timestamps, stamp.strftime(style)) == (expected, NA)


@settings(deadline=None)
@given(
    seconds=st.integers(min_value=-62_135_596_800, max_value=253_402_300_799),
    fraction=st.one_of(st.none(), st.from_regex(r"[0-9]{1,9}", fullmatch=True)),
)
def test_property_unix_seconds_are_floored_exactly(seconds: int, fraction: str | None) -> None:
    text = str(seconds) if fraction is None else f"{seconds}.{fraction}"
    floored = int(Decimal(text).to_integral_value(rounding="ROUND_FLOOR"))
    if floored < -62_135_596_800:  # before 0001-01-01: RFC 3339 cannot write it
        assert one(timestamps, text) == (NA, UNPARSEABLE_TIMESTAMP)
        return
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    expected = (epoch + dt.timedelta(seconds=floored)).isoformat()
    assert one(timestamps, text) == (expected, NA)


@given(st.lists(st.integers(min_value=-62_135_596_800, max_value=253_402_300_799), max_size=50))
def test_property_rfc3339_formatter_matches_datetime(seconds: list[int]) -> None:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    expected = [(epoch + dt.timedelta(seconds=s)).isoformat() for s in seconds]
    assert list(rfc3339_utc(np.array(seconds, dtype=np.int64))) == expected


# --------------------------------------------------------------------------------------------
# dates

UNPARSEABLE_DATE = "unparseable date"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015/05/18", "2015-05-18"),
        ("2015/5/18", "2015-05-18"),
        ("2015-05-18", "2015-05-18"),
        ("2015-5-8", "2015-05-08"),
        ("07/29/1985", "1985-07-29"),
        ("7/29/1985", "1985-07-29"),
        ("07-29-1985", "1985-07-29"),
        ("7-9-1985", "1985-07-09"),
        ("1985-07-29T00:00:00", "1985-07-29"),
        ("1985-07-29 00:00:00", "1985-07-29"),
        ("1985-07-29 00:00", "1985-07-29"),
        ("1985-07-29T13:45:00.000", "1985-07-29"),
        ("7/29/1985 12:00:00 AM", "1985-07-29"),
        ("2020-02-29", "2020-02-29"),
        ("2000-02-29", "2000-02-29"),
        ("0001-01-01", "0001-01-01"),
        ("9999-12-31", "9999-12-31"),
    ],
)
def test_dates_become_yyyy_mm_dd(text: str, expected: str) -> None:
    assert one(dates, text) == (expected, NA)


@pytest.mark.parametrize(
    "text",
    [
        "02/30/2020",
        "2019-02-29",
        "1900-02-29",
        "13/07/1985",  # month 13 unless day_first
        "29/07/1985",
        "2015-13-01",
        "2015-00-10",
        "2015-01-00",
        "0000-01-01",
        "1985/07-29",  # mixed separators
        "85-07-29",
        "1985.07.29",
        "July 29, 1985",
        "1985-07-29T00:00:00Z",
        "garbage",
        "19850729",
    ],
)
def test_dates_that_cannot_be_read_are_a_problem(text: str) -> None:
    assert one(dates, text) == (NA, UNPARSEABLE_DATE)


@pytest.mark.parametrize(
    ("text", "expected", "problem"),
    [
        ("29/07/1985", "1985-07-29", NA),
        ("13/07/1985", "1985-07-13", NA),
        ("07/08/1985", "1985-08-07", NA),
        ("7-8-1985", "1985-08-07", NA),
        ("29/07/1985 00:00:00", "1985-07-29", NA),
        ("2015/05/18", "2015-05-18", NA),  # year first is always y/m/d
        ("07/29/1985", NA, UNPARSEABLE_DATE),
        ("30/02/2020", NA, UNPARSEABLE_DATE),
    ],
)
def test_day_first_dates(text: str, expected: str | None, problem: str | None) -> None:
    assert one(on_rows(dates_distinct(day_first=True)), text) == (expected, problem)


@settings(deadline=None)
@given(
    day=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    style=st.sampled_from(["%Y/%m/%d", "%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%Y-%m-%dT00:00:00"]),
    pad=st.booleans(),
)
def test_property_dates_any_documented_format(day: dt.date, style: str, pad: bool) -> None:
    year = f"{day.year:04d}"
    text = style.replace("%Y", year).replace("%m", f"{day.month:02d}" if pad else str(day.month))
    text = text.replace("%d", f"{day.day:02d}" if pad else str(day.day))
    assert one(dates, text) == (day.isoformat(), NA)
    if "/" in style and style.startswith("%m"):
        swapped = style.replace("%m", "%D").replace("%d", "%m").replace("%D", "%d")
        day_first_text = swapped.replace("%Y", year).replace("%m", str(day.month))
        day_first_text = day_first_text.replace("%d", str(day.day))
        assert one(on_rows(dates_distinct(day_first=True)), day_first_text) == (day.isoformat(), NA)


# --------------------------------------------------------------------------------------------
# cents / dollars / integers


@pytest.mark.parametrize(
    ("text", "expected", "problem"),
    [
        ("5000", "5000", NA),
        ("5000.0", "5000", NA),
        ("5000.00", "5000", NA),
        ("5000.", "5000", NA),
        ("-200", "-200", NA),
        ("+200", "200", NA),
        ("1,000", "1000", NA),
        ("1,234,567", "1234567", NA),
        ("0050", "50", NA),
        ("0", "0", NA),
        ("-0", "0", NA),
        ("0.0", "0", NA),
        ("123456789012345678901234567890", "123456789012345678901234567890", NA),
        ("50.5", NA, "not a whole number of cents"),
        ("50.05", NA, "not a whole number of cents"),
        ("-1.000001", NA, "not a whole number of cents"),
        ("abc", NA, "not an amount"),
        ("$5000", NA, "not an amount"),
        ("1,00", NA, DECIMAL_COMMA_HINT),
        ("1,0000", NA, DECIMAL_COMMA_HINT),
        (".5", NA, "not an amount"),
        (".", NA, "not an amount"),
        ("5e3", NA, "not an amount"),
        ("--5", NA, "not an amount"),
        ("1 000", NA, "not an amount"),
        ("٣", NA, "not an amount"),
        ("²", NA, "not an amount"),
    ],
)
def test_cents_become_integer_strings(text: str, expected: str | None, problem: str | None) -> None:
    assert one(cents, text) == (expected, problem)


@pytest.mark.parametrize(
    ("text", "expected", "problem"),
    [
        ("$1,234.56", "123456", NA),
        ("1234.5", "123450", NA),
        ("12", "1200", NA),
        ("(12.00)", "-1200", NA),
        ("($12.00)", "-1200", NA),
        ("-$5.00", "-500", NA),
        ("$-5.00", "-500", NA),
        ("+$3", "300", NA),
        ("$ 5", "500", NA),
        ("$0.10", "10", NA),
        ("0.01", "1", NA),
        (".5", "50", NA),
        ("$.99", "99", NA),
        ("5.", "500", NA),
        ("1.000", "100", NA),
        ("1.5000", "150", NA),
        ("-0.00", "0", NA),
        ("(0)", "0", NA),
        ("007.50", "750", NA),
        ("19.99", "1999", NA),
        ("0.29", "29", NA),
        ("1234567890123456789.01", "123456789012345678901", NA),
        ("1.005", NA, "fraction of a cent"),
        ("1,234,567.891", NA, "fraction of a cent"),
        ("0.001", NA, "fraction of a cent"),
        (" USD 5", NA, "not an amount"),
        ("USD 5", NA, "not an amount"),
        ("5 USD", NA, "not an amount"),
        ("$", NA, "not an amount"),
        (".", NA, "not an amount"),
        ("-", NA, "not an amount"),
        ("(-12)", NA, "not an amount"),
        ("-$-5", NA, "not an amount"),
        ("(12", NA, "not an amount"),
        ("12)", NA, "not an amount"),
        ("1 000", NA, "not an amount"),
        ("1,00.00", NA, "not an amount"),
        ("$$5", NA, "not an amount"),
        ("€5", NA, "not an amount"),
        ("five", NA, "not an amount"),
    ],
)
def test_dollars_become_integer_cents(text: str, expected: str | None, problem: str | None) -> None:
    assert one(dollars, text) == (expected, problem)


_CENTS = st.integers(min_value=-(10**15), max_value=10**15)


_STYLES = st.sampled_from(["plain", "dollar", "commas", "parens", "dollar-in"])


@given(whole_cents=_CENTS, style=_STYLES)
def test_property_dollars_are_exact_cents(whole_cents: int, style: str) -> None:
    amount = Decimal(whole_cents) / 100
    magnitude = abs(amount)
    if style == "plain":
        text = f"{amount:.2f}"
    elif style == "dollar":
        text = f"{'-' if amount < 0 else ''}${magnitude:.2f}"
    elif style == "commas":
        text = f"{'-' if amount < 0 else ''}${magnitude:,.2f}"
    elif style == "parens":
        text = f"(${magnitude:,.2f})" if amount < 0 else f"${magnitude:,.2f}"
    else:
        text = f"${amount:.2f}"
    assert one(dollars, text) == (str(whole_cents), NA)


@given(amount=st.decimals(min_value=-(10**9), max_value=10**9, places=3, allow_nan=False))
def test_property_dollars_third_decimal(amount: Decimal) -> None:
    text = f"{amount:.3f}"
    value, problem = one(dollars, text)
    if amount * 100 == (amount * 100).to_integral_value():
        assert (value, problem) == (str(int(amount * 100)), NA)
    else:
        assert (value, problem) == (NA, "fraction of a cent")


@given(whole_cents=_CENTS, zeros=st.integers(min_value=0, max_value=3), commas=st.booleans())
def test_property_cents_exact(whole_cents: int, zeros: int, commas: bool) -> None:
    text = f"{whole_cents:,}" if commas else str(whole_cents)
    if zeros:
        text += "." + "0" * zeros
    assert one(cents, text) == (str(whole_cents), NA)


@pytest.mark.parametrize(
    ("text", "expected", "problem"),
    [
        ("2", "2", NA),
        ("2.0", "2", NA),
        ("+2", "2", NA),
        ("-3", "-3", NA),
        ("002", "2", NA),
        ("10", "10", NA),
        ("1,000", "1000", NA),
        ("2.5", NA, "not a whole number"),
        ("two", NA, "not a whole number"),
        ("2 pcs", NA, "not a whole number"),
        ("0x10", NA, "not a whole number"),
    ],
)
def test_integers_become_plain_digits(text: str, expected: str | None, problem: str | None) -> None:
    assert one(integers, text) == (expected, problem)


# --------------------------------------------------------------------------------------------
# booleans / gender / choices


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *((t, "true") for t in ["Y", "y", "Yes", "YES", "T", "t", "true", "TRUE", "True"]),
        *((t, "true") for t in ["1", "1.0"]),
        *((f, "false") for f in ["N", "n", "No", "NO", "F", "f", "false", "FALSE", "False"]),
        *((f, "false") for f in ["0", "0.0"]),
        ("maybe", "maybe"),  # kept as given, no problem; the schema rejects it
        ("2", "2"),
        ("yes please", "yes please"),
    ],
)
def test_booleans_become_true_or_false(text: str, expected: str) -> None:
    assert one(booleans, text) == (expected, NA)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("M", "M"),
        ("m", "M"),
        ("Male", "M"),
        ("MALE", "M"),
        ("F", "F"),
        ("female", "F"),
        ("U", "U"),
        ("Unknown", "U"),
        ("unknown", "U"),
        ("X", "X"),
        ("Nonbinary", "Nonbinary"),
    ],
)
def test_gender_becomes_m_f_or_u(text: str, expected: str) -> None:
    assert one(gender, text) == (expected, NA)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cash", "Cash"),
        ("CASH", "Cash"),
        ("payroll deduction", "Payroll Deduction"),
        ("Payroll  Deduction", "Payroll Deduction"),
        ("payrolldeduction", "Payroll Deduction"),
        ("eft", "EFT"),
        ("PayPal", "Paypal"),
        ("Zelle", "Zelle"),  # unmatched: kept, no problem
        ("pay-pal", "pay-pal"),
    ],
)
def test_choices_get_their_allowed_spelling(text: str, expected: str) -> None:
    assert one(on_rows(choices_distinct(TRANSACTION_TYPES)), text) == (expected, NA)


def test_a_note_type_gets_its_allowed_spelling() -> None:
    assert one(on_rows(choices_distinct(NOTE_TYPES)), "sent email") == ("Sent Email", NA)


def test_ambiguous_allowed_spellings_are_not_guessed() -> None:
    allowed = ["Pay Pal", "PayPal"]
    assert run_all(on_rows(choices_distinct(allowed)), ["paypal", "Pay Pal", "PayPal"]) == [
        ("paypal", NA),
        ("Pay Pal", NA),
        ("PayPal", NA),
    ]


# --------------------------------------------------------------------------------------------
# states / countries


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TN", "TN"),
        ("tn", "TN"),
        ("Tn", "TN"),
        ("tennessee", "TN"),
        ("Tennessee", "TN"),
        ("Tenn.", "TN"),
        ("New York", "NY"),
        ("new  york", "NY"),
        ("NEW YORK", "NY"),
        ("District of Columbia", "DC"),
        ("dc", "DC"),
        ("Puerto Rico", "PR"),
        ("guam", "GU"),
        ("Virgin Islands", "VI"),
        ("Wyoming", "WY"),
        ("Ontario", "Ontario"),  # not a US state: untouched, no problem
        ("ON", "ON"),
        ("Bavaria", "Bavaria"),
    ],
)
def test_us_states_become_two_letter_codes_and_others_pass(text: str, expected: str) -> None:
    assert one(states, text) == (expected, NA)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("USA", "United States"),
        ("usa", "United States"),
        ("U.S.", "United States"),
        ("U.S.A.", "United States"),
        ("US", "United States"),
        ("us", "United States"),
        ("United States", "United States"),
        ("united states", "United States"),
        ("United States of America", "United States"),
        ("America", "United States"),
        ("UK", "United Kingdom"),
        ("U.K.", "United Kingdom"),
        ("Great Britain", "United Kingdom"),
        ("England", "United Kingdom"),
        ("Britain", "United Kingdom"),
        ("GB", "United Kingdom"),
        ("GBR", "United Kingdom"),
        ("Canada", "Canada"),
        ("CA", "Canada"),
        ("can", "Canada"),
        ("DE", "Germany"),
        ("deu", "Germany"),
        ("South Korea", "Korea, Republic of"),
        ("Korea, Republic of", "Korea, Republic of"),
        ("KR", "Korea, Republic of"),
        ("Cote d'Ivoire", "Côte d'Ivoire"),
        ("The Netherlands", "Netherlands"),
        ("Bosnia & Herzegovina", "Bosnia and Herzegovina"),
        ("Russia", "Russian Federation"),
        ("Vietnam", "Viet Nam"),
    ],
)
def test_countries_become_pycountry_names(text: str, expected: str) -> None:
    assert one(countries, text) == (expected, NA)


@pytest.mark.parametrize("text", ["Narnia", "Deutschland", "Unknown", "N/A", "XX", "Tennessee"])
def test_an_unknown_country_is_kept_with_a_problem(text: str) -> None:
    assert one(countries, text) == (text, "unknown country")


# --------------------------------------------------------------------------------------------
# emails


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jsmith@email.co", "jsmith@email.co"),
        ("John.Smith@Example.COM", "john.smith@example.com"),
        ("john+1@kindful.com", "john+1@kindful.com"),
        ("a@b.c", "a@b.c"),
        ("x@123.com", "x@123.com"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("user@xn--bcher-kva.example", "user@xn--bcher-kva.example"),
        ("josé@example.com", "josé@example.com"),
        ("用户@例子.广告", "用户@例子.广告"),
    ],
)
def test_valid_emails_are_lower_cased(text: str, expected: str) -> None:
    assert one(email_addresses, text) == (expected, NA)


@pytest.mark.parametrize(
    "text",
    [
        "bad",
        "a@",
        "@b.com",
        "a@b",
        "a@localhost",
        "a..b@x.com",
        ".a@x.com",
        "a.@x.com",
        "a@-x.com",
        "a@x-.com",
        "x@ab--cd.com",
        "a@foo.test",
        "a@x.local",
        "a b@x.com",
        "a@[1.2.3.4]",
        "a@x..com",
        "jsmith@email.co, jane@email.co",
        ("x" * 250) + "@example.com",  # over 254 characters
        "a@" + ("b" * 64) + ".com",  # a 64-character label
    ],
)
def test_invalid_emails_are_a_problem(text: str) -> None:
    assert one(email_addresses, text) == (NA, "invalid email")


_LOCAL_ATOM = st.from_regex(r"[a-z0-9_%+-]{1,12}", fullmatch=True)
_LABEL = st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,2}", fullmatch=True)
_TLD = st.from_regex(r"[a-z]{2,8}", fullmatch=True).filter(
    lambda tld: tld not in email_validator.SPECIAL_USE_DOMAIN_NAMES
)


def accepted_without_validator(address: str) -> bool:
    """Whether the emails normalizer accepts `address` by its fast path alone, email-validator
    (the slow path) refusing everything meanwhile."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(emails, "_validates", lambda _address: False)
        return one(email_addresses, address) == (address.lower(), NA)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    local=st.lists(_LOCAL_ATOM, min_size=1, max_size=3),
    labels=st.lists(_LABEL, min_size=1, max_size=3),
    tld=_TLD,
)
def test_property_plain_addresses_skip_validator_rightly(
    local: list[str], labels: list[str], tld: str
) -> None:
    address = ".".join(local) + "@" + ".".join([*labels, tld])
    assert accepted_without_validator(address.upper())
    email_validator.validate_email(address, check_deliverability=False)
    assert one(email_addresses, address.upper()) == (address, NA)


@settings(deadline=None)
@given(st.text(alphabet="ab.-_+%@9xn", min_size=1, max_size=24))
def test_property_fast_path_never_accepts_what_validator_rejects(address: str) -> None:
    if accepted_without_validator(address):
        email_validator.validate_email(address, check_deliverability=False)


# --------------------------------------------------------------------------------------------
# currency


@pytest.mark.parametrize(
    ("text", "lower", "upper"),
    [
        ("USD", "usd", "USD"),
        ("usd", "usd", "USD"),
        ("Usd", "usd", "USD"),
        ("$", "usd", "USD"),
        ("CAD", "cad", "CAD"),
        ("eur", "eur", "EUR"),
        ("€", "eur", "EUR"),
        ("gbp", "gbp", "GBP"),
    ],
)
def test_currency_codes_in_the_case_asked_for(text: str, lower: str, upper: str) -> None:
    assert one(on_rows(currency_distinct("lower")), text) == (lower, NA)
    assert one(on_rows(currency_distinct("upper")), text) == (upper, NA)


@pytest.mark.parametrize("text", ["XYZ", "dollars", "US", "U$D", "USDD"])
def test_an_unknown_currency_is_a_problem(text: str) -> None:
    assert one(on_rows(currency_distinct("upper")), text) == (NA, "unknown currency")


def test_currency_codes_with_padding() -> None:
    assert run_all(on_rows(currency_distinct("lower")), [" Usd", "usd "]) == [
        ("usd", NA),
        ("usd", NA),
    ]


def test_currency_case_must_be_lower_or_upper() -> None:
    with pytest.raises(ValueError, match="case"):
        currency_distinct("title")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Idempotence: a normalized value normalizes to itself, for every normalizer

_SAMPLES = [
    "1444762572",
    "2015-10-13 18:56:12 UTC",
    "2015-09-29 17:23:49 +0000",
    "10/13/2015 6:56 PM",
    "2015-11-01 01:30:00",
    "07/29/1985",
    "2015/5/18",
    "29/07/1985",
    "$1,234.56",
    "(12.00)",
    "1.005",
    "5000.0",
    "-0",
    "Y",
    "false",
    "1.0",
    "Male",
    "payroll deduction",
    "tennessee",
    "U.S.A.",
    "Narnia",
    "John@Example.COM",
    "usd",
    "$",
    "\ufeff x\x00 ",
    "garbage",
]
_CELLS = st.one_of(
    st.sampled_from(_SAMPLES),
    st.text(alphabet="0123456789 -/:.,$()+TZ", max_size=25),
    st.text(max_size=12),
    st.none(),
)


# What reads a normalizer's output back: itself, except that dollars come out as cents.
_SECOND_PASS: dict[str, str] = {"dollars": "cents"}


@pytest.mark.parametrize("name", NORMALIZERS)
@settings(deadline=None, max_examples=60)
@given(cells=st.lists(_CELLS, max_size=12))
def test_property_idempotent(name: str, cells: list[str | None]) -> None:
    first = NORMALIZERS[name](pd.Series(cells, dtype=object))
    second = NORMALIZERS[_SECOND_PASS.get(name, name)](first.values)
    assert [_plain(v) for v in second.values] == [_plain(v) for v in first.values]
    # a value that came out clean goes back in clean
    clean = first.values.notna() & first.problems.isna()
    assert second.problems[clean].isna().all()


@pytest.mark.parametrize("text", ["12abc", "abc12", "$12 $13", "12\n13"])
def test_dollars_need_a_whole_match(text: str) -> None:
    assert one(dollars, text) == (NA, "not an amount")

"""The Arrow paths of normalizing give what the Python paths give, value for value.

Columns arrive Arrow-backed ("str", from the CSV reader) or as objects (JSON lines, tests); the
byte screens of `arrow_text` only decide which values Python looks at, so every answer must be
the one str.strip, str.lower and the regexes give.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.normalize import emails, money
from pipelines.normalize.arrow_text import TextBytes, arrow_from_objects, lowered, objects
from pipelines.normalize.core import clean_distinct, clean_values, has_no_control_characters
from pipelines.normalize.frame import normalize_frame
from pipelines.normalize.timestamps import rfc3339_utc
from pipelines.transform.options import RunOptions
from schemas.columns import FORMATS

# every character whose UTF-8 the screens look at, and some that only look like them
_TRICKY = (
    " \t\n\r\x0b\x0c\x1c\x1f\x00\x08\x7f\x80\x85\x9f\xa0\xa9\u1680\u2000\u200a\u200b\u2028"
    "\u202f\u205f\u3000\ufeff\ufffdéè©Σσς İıßǅﬀ€€@.$0123456789aZ-"
)
TEXT = st.one_of(
    st.text(st.sampled_from(_TRICKY), max_size=8),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=8),
)
CELLS = st.lists(st.one_of(st.none(), TEXT), max_size=12)


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


def plain(values: object) -> list[str | None]:
    return [None if pd.isna(v) else v for v in list(values)]  # type: ignore[call-overload]


def arrow(texts: list[str | None]) -> pa.Array:
    return pa.array(texts, type=pa.large_string())


@fuzz(300)
@given(texts=CELLS)
def test_the_control_character_screen_is_exact(texts: list[str | None]) -> None:
    present = [t for t in texts if t is not None]
    assert TextBytes.of(arrow(texts)).may_hold_control_characters() == (
        not has_no_control_characters(present)
    )


@fuzz(300)
@given(texts=CELLS)
def test_every_value_strip_changes_is_an_edge_suspect(texts: list[str | None]) -> None:
    suspects = TextBytes.of(arrow(texts)).edge_suspects()
    for text, suspect in zip(texts, suspects.tolist(), strict=True):
        if text is not None and text.strip() != text:
            assert suspect, text


def test_edge_suspects_of_a_slice_are_its_own() -> None:
    whole = arrow(["a", " b", "c ", "d", None, "\u3000e"])
    assert TextBytes.of(whole.slice(1, 4)).edge_suspects().tolist() == [True, True, False, False]


@fuzz(300)
@given(texts=CELLS)
def test_lowered_is_str_lower(texts: list[str | None]) -> None:
    assert lowered(arrow(texts)).to_pylist() == [None if t is None else t.lower() for t in texts]


@fuzz(200)
@given(texts=CELLS)
def test_cleaning_arrow_and_object_columns_gives_the_same_values(texts: list[str | None]) -> None:
    by_arrow = clean_values(pd.Series(texts, dtype="str"))
    by_objects = clean_values(pd.Series(texts, dtype=object))
    assert (by_arrow is None) == (by_objects is None)
    if by_arrow is not None and by_objects is not None:
        assert plain(by_arrow) == plain(by_objects)
        expected = [None if t is None or not t.strip() else t.strip() for t in texts]
        assert plain(by_arrow) == expected


@fuzz(200)
@given(texts=st.lists(TEXT, max_size=12, unique=True))
def test_cleaning_distinct_arrow_values_is_the_python_cleaning(texts: list[str]) -> None:
    index = pd.Index(range(5, 5 + 3 * len(texts), 3))
    by_arrow = clean_distinct(pd.Series(texts, index=index, dtype="str"))
    by_python = clean_distinct(pd.Series(texts, index=index, dtype="str").astype(object))
    assert by_arrow.index.tolist() == by_python.index.tolist()
    assert by_arrow.tolist() == by_python.tolist()


def test_objects_from_arrow_are_str_and_missing_is_na() -> None:
    out = objects(arrow(["a", None, ""]))
    assert out.dtype == object
    assert out[0] == "a" and out[1] is pd.NA and out[2] == ""


@pytest.mark.parametrize(
    "values",
    [
        ["a", 1],  # a number
        ["a", b"b"],  # bytes pa.array would take as text
        ["a", "\udc80"],  # a lone surrogate: UTF-8 cannot hold it
    ],
)
def test_object_columns_arrow_cannot_hold_as_text_are_refused(values: list[object]) -> None:
    assert arrow_from_objects(np.array(values, dtype=object)) is None


def test_missing_values_become_nulls() -> None:
    values = np.array(["a", None, np.nan, pd.NA], dtype=object)
    array = arrow_from_objects(values)
    assert array is not None and array.to_pylist() == ["a", None, None, None]
    # a missing date among texts is no text column: the callers' object paths take it
    assert arrow_from_objects(np.array(["a", pd.NaT], dtype=object)) is None


@fuzz(100)
@given(seconds=st.lists(st.integers(-62_135_596_800, 253_402_300_799), max_size=20))
def test_rfc3339_is_what_isoformat_writes(seconds: list[int]) -> None:
    expected = [(np.datetime64(s, "s").astype(object).isoformat() + "+00:00") for s in seconds]
    assert list(rfc3339_utc(np.array(seconds, dtype=np.int64))) == expected


AMOUNTS = st.one_of(
    st.from_regex(r"\$?[0-9]{0,4}(\.[0-9]{0,4})?", fullmatch=True),
    st.text(st.sampled_from("$0123456789.,-() "), max_size=8),
)


@fuzz(300)
@given(amounts=st.lists(AMOUNTS.filter(bool), max_size=10, unique=True))
@pytest.mark.parametrize("currency", ["USD", "JPY", "BHD"])
def test_plain_amounts_in_arrow_are_what_reading_them_one_by_one_gives(
    currency: str, amounts: list[str]
) -> None:
    present = pd.Series(amounts, index=pd.Index(range(7, 7 + 2 * len(amounts), 2)), dtype="str")
    values, problems = money.money_distinct(major=True, currency=currency)(present)
    exponent = money.minor_unit_exponent(currency)
    for label, text in present.items():
        amount = money._read(text, ".")
        expected = None if amount is None else money._minor(amount, exponent)
        assert plain([values.get(label, pd.NA)]) == [expected], text
        assert pd.isna(problems.get(label, pd.NA)) == (expected is not None), text


@fuzz(400)
@given(
    address=st.one_of(
        st.text(st.sampled_from("ab9.-_+%@xnéA"), min_size=1, max_size=30),
        st.from_regex(r"[a-z0-9]{1,70}@[a-z0-9-]{1,70}(\.[a-z]{1,8}){1,3}", fullmatch=True),
        st.sampled_from([f"a@b.{name}" for name in emails._SPECIAL_USE_NAMES]),
    )
)
def test_the_arrow_email_screen_clears_only_what_the_plain_pattern_matches(address: str) -> None:
    lower = address.lower()
    if emails._surely_plain(arrow([lower]))[0]:
        assert emails._PLAIN_RE.fullmatch(lower) is not None


def test_the_email_screen_leaves_long_domains_and_special_names_to_the_pattern() -> None:
    addresses = ["a@b.co", "a@" + "b" * 61 + ".co", "a@b.test", "x" * 65 + "@b.co", "é@b.co"]
    assert emails._surely_plain(arrow(addresses)).tolist() == [True, False, False, False, False]


# A frame with every kind of column, as messy as the sample exports.
MESSY = {
    "id": ["  D-1 ", "D-2", None, "", "\ufeffD-4"],
    "first_name": ["Ada", "ΣΟΦΙΑ ", None, "Zoë\u00a0", " "],
    "last_name": ["Example", "Demo", "x", None, "Y"],
    "email": ["ADA@EXAMPLE.ORG", "not-an-email", None, " b@x.co ", "İ@example.org"],
    "state": ["tennessee", "TN", "Ontario", None, "tenn."],
    "country": ["USA", "ca", None, "Narnia", "U.S."],
    "amount_in_cents": ["$5.00", "12.345", "1,000.00", "abc", None],
    "currency": ["usd", "JPY", None, "zzz", " bhd "],
    "transaction_time": [
        "2024-03-01 14:22:05 UTC",
        "10/13/2015 6:56 PM",
        "1444762572",
        "2015-10-13T18:56:12-05:00",
        "not a date",
    ],
    "transaction_type": ["cash", "CREDIT", "check", None, "barter"],
    "acknowledged": ["Y", "0", "true", None, "maybe"],
    "fund": [None, "General", " Restricted", None, "x"],
    "transaction_note": ["a\r\nb", None, "  kept  ", "\x00nul", "note"],
}


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_arrow_backed_and_object_frames_normalize_alike(dtype: str) -> None:
    fmt = FORMATS["contact_with_transaction"]
    options = RunOptions(data_format=fmt.name)
    units = {"amount_in_cents": "dollars"}
    arrow_backed = normalize_frame(pd.DataFrame(MESSY, dtype="str"), fmt, units, options)  # type: ignore[arg-type]
    other = normalize_frame(pd.DataFrame(MESSY, dtype=dtype), fmt, units, options)  # type: ignore[arg-type]
    assert list(arrow_backed.frame.columns) == list(other.frame.columns)
    for name in arrow_backed.frame.columns:
        assert str(arrow_backed.frame[name].dtype) == "str", name
        assert plain(arrow_backed.frame[name]) == plain(other.frame[name]), name
    pd.testing.assert_frame_equal(arrow_backed.rejects, other.rejects)
    pd.testing.assert_frame_equal(arrow_backed.warnings, other.warnings)
    assert plain(arrow_backed.frame["id"]) == ["D-1", "D-2", None, None, "D-4"]
    assert plain(arrow_backed.frame["fund"]) == ["General", "General", "Restricted", "General", "x"]


def test_the_spaces_screened_are_every_character_str_strip_removes() -> None:
    from pipelines.normalize import arrow_text

    every = [chr(c).encode() for c in range(0x110000) if chr(c).isspace()]
    assert sorted(arrow_text._SPACES) == sorted(every)

"""Timestamps to the one form Kindful reads without guessing: RFC 3339 UTC, whole seconds.

Kindful takes unix seconds or ISO 8601/RFC 3339 "in UTC"; source systems hand us spreadsheet
datetimes, US-style dates and offsets of every kind. Each value's family is decided by a strict
regex and then parsed by pd.to_datetime with an explicit format, so nothing is silently read as a
different family (day-first, say).

Speed: the family patterns only care which characters are digits, so they run once per distinct
*shape* (each ASCII digit replaced by "9"; a whole column usually has one or two shapes) instead
of once per value. Shapes come from the values' UTF-8 bytes, and the text fixes before parsing
are Arrow string kernels: no Python string per value until the answers.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from dateutil import parser as dateutil_parser

from pipelines.normalize.arrow_text import TextBytes, arrow_text
from pipelines.normalize.core import DistinctNormalizer

PROBLEM = "unparseable timestamp"

# RFC 3339 can only write years 0001-9999.
_MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_NO_SECONDS = np.iinfo(np.int64).min
_CUT_SHAPE = "\x00"  # the shape of a value ending in NUL: no family's
# Wall-clock times that stay inside years 1-9999 under any UTC offset (all are within a day);
# pandas' tz_localize cannot take a time whose UTC instant it would need outside them.
_SAFE_WALL = (_MIN_SECONDS + 2 * 86_400, _MAX_SECONDS - 2 * 86_400)
# Longer text is no timestamp; the cap also bounds the per-character shape matrix.
_MAX_LENGTH = 64

_YMD = r"\d{4}(?P<sep>[-/])\d{1,2}(?P=sep)\d{1,2}"
_TIME = r"[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
_FAMILIES: dict[str, re.Pattern[str]] = {
    "unix": re.compile(r"[+-]?\d{1,12}(?:\.\d+)?", re.ASCII),
    "aware": re.compile(rf"{_YMD}{_TIME} ?(?:Z|UTC|GMT|[+-]\d{{2}}(?::?\d{{2}})?)", re.I | re.A),
    "naive": re.compile(rf"{_YMD}(?:{_TIME})?", re.I | re.A),
    "us": re.compile(
        r"(?P<month>\d{1,2})(?P<sep>[-/])(?P<day>\d{1,2})(?P=sep)(?P<year>\d{4})"
        r"(?: (?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"
        r"(?P<ampm> ?[AP]M)?)?",
        re.I | re.A,
    ),
}
_US_PARTS = ("year", "month", "day", "hour", "minute", "second")
_ZERO = ord("0")
_TEMPLATE = b"0000-00-00T00:00:00+00:00"
_FIELDS = np.dtype(
    {
        "names": ["year", "month", "day", "hour", "minute", "second"],
        "formats": ["S4", "S2", "S2", "S2", "S2", "S2"],
        "offsets": [0, 5, 8, 11, 14, 17],
        "itemsize": len(_TEMPLATE),
    }
)
_QUADS = np.array([f"{n:04d}" for n in range(10_000)], dtype="S4")
_PAIRS = np.array([f"{n:02d}" for n in range(100)], dtype="S2")
# Only text with a month name goes to dateutil: it guesses at anything else.
_MONTH_NAME = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b",
    re.I,
)

# dateutil fills missing fields from `default`; parsing with two defaults exposes them.
_DEFAULTS = (dt.datetime(1904, 1, 1), dt.datetime(1905, 2, 2))
_UTC_NAMES: dict[str, int] = {"UTC": 0, "GMT": 0, "Z": 0}


def check_timezone(name: str) -> None:
    """Raise ValueError (one line) unless `name` is an IANA timezone this system knows."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"unknown timezone {name!r} (use an IANA name like America/Chicago)"
        ) from None


def timestamps_distinct(source_tz: str = "UTC") -> DistinctNormalizer:
    """Each value as "YYYY-MM-DDTHH:MM:SS+00:00" (UTC, fractions floored), or NA + a problem.

    Integers/decimals are unix seconds. Values without an offset are wall-clock time in
    `source_tz`; an ambiguous DST time takes the earlier instant, a nonexistent one is shifted
    forward. Raises ValueError for an unknown `source_tz`, here and not on the first value.
    """
    check_timezone(source_tz)
    return lambda present: _normalize_distinct(present, source_tz)


@dataclass(frozen=True)
class _Rows:
    """Some distinct values with their shapes: `codes` index `shapes`, one per value; value i's
    UTF-8 bytes are data[starts[i]:starts[i] + its length]."""

    text: pd.Series
    shapes: list[str]
    codes: np.ndarray
    data: np.ndarray  # uint8
    starts: np.ndarray  # int64

    def subset(self, rows: np.ndarray) -> _Rows:
        return _Rows(self.text[rows], self.shapes, self.codes[rows], self.data, self.starts[rows])

    def per_shape(self, test: Callable[[str], object]) -> np.ndarray:
        """`test` of each row's shape, computed once per distinct shape among these rows."""
        used = np.unique(self.codes)
        table = np.empty(len(self.shapes), dtype=object)
        table[used] = [test(self.shapes[code]) for code in used]
        return np.asarray(table.take(self.codes))

    def characters(self, rows: np.ndarray, width: int) -> np.ndarray:
        """The first `width` bytes of the values at `rows` (a mask) as a matrix, one row per
        value: for values of one ASCII shape `width` long, their characters."""
        return np.asarray(self.data[self.starts[rows][:, None] + np.arange(width)])


def _normalize_distinct(present: pd.Series, source_tz: str) -> tuple[pd.Series, pd.Series]:
    seconds = np.full(len(present), _NO_SECONDS, dtype=np.int64)
    lengths = present.str.len().to_numpy(dtype=np.int64)
    fits = np.flatnonzero(lengths <= _MAX_LENGTH)
    if len(fits):
        every = _with_shapes(present.iloc[fits])
        family = np.array([_family(shape) for shape in every.shapes], dtype=object)[every.codes]
        converters: dict[str, Callable[[_Rows], pd.Series]] = {
            "unix": _unix_seconds,
            "aware": _aware_seconds,
            "naive": lambda rows: _local_seconds(_parse_naive(rows), source_tz),
            "us": lambda rows: _local_seconds(_parse_us(rows), source_tz),
            "named": lambda rows: _dateutil_seconds(rows.text, source_tz),
        }
        for name, convert in converters.items():
            selected = family == name
            if selected.any():
                # each converter answers in its rows' order
                seconds[fits[selected]] = convert(every.subset(selected)).to_numpy()

    in_range = (seconds >= _MIN_SECONDS) & (seconds <= _MAX_SECONDS)
    texts = _rfc3339_arrow(seconds[in_range])
    if not in_range.all():  # nulls where out of range
        where = np.full(len(present), -1, dtype=np.int64)
        where[in_range] = np.arange(len(texts))
        texts = texts.take(pa.array(where, mask=where < 0))
    problems = np.full(len(present), pd.NA, dtype=object)
    problems[~in_range] = PROBLEM
    return (
        pd.Series(texts, index=present.index, dtype="str"),
        pd.Series(problems, index=present.index, dtype=object),
    )


def _with_shapes(text: pd.Series) -> _Rows:
    """Group values by shape (ASCII digits -> "9"), working on the values' UTF-8 bytes: ASCII
    digits are bytes of their own in UTF-8, so one numpy pass over the bytes shapes them all,
    and Arrow's dictionary encoding groups them.

    A value ending in NUL gets the shape "\x00", which no family matches (numpy's fixed-width
    strings, which shaped values before, dropped trailing NULs: such values were never read).
    """
    array = arrow_text(text)
    if array is None:
        array = pa.array(text.tolist(), type=pa.large_string())
    raw = TextBytes.of(array.fill_null("") if array.null_count else array)
    first = int(raw.starts[0]) if len(raw.starts) else 0
    last = int(raw.ends[-1]) if len(raw.ends) else 0
    data = np.array(raw.data[first:last])  # a copy: the values' bytes, rebased to 0
    starts, ends = raw.starts - first, raw.ends - first
    shaped = np.where(data - np.uint8(_ZERO) < 10, np.uint8(_ZERO + 9), data)  # wraps below "0"
    offsets = np.append(starts, last - first).astype(np.int64)
    shapes = pa.Array.from_buffers(
        pa.large_string(), len(starts), [None, pa.py_buffer(offsets), pa.py_buffer(shaped)]
    ).dictionary_encode()
    codes = np.asarray(shapes.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
    names = [str(shape) for shape in shapes.dictionary.to_pylist()]
    cut = (ends > starts) & (data[np.maximum(ends - 1, 0)] == 0) if len(data) else ends < 0
    if cut.any():
        codes[cut] = len(names)
        names.append(_CUT_SHAPE)
    return _Rows(text, names, codes, data, starts)


def _family(shape: str) -> str:
    for name, pattern in _FAMILIES.items():
        if pattern.fullmatch(shape):
            return name
    return "named" if _MONTH_NAME.search(shape) else "none"


def _unix_seconds(rows: _Rows) -> pd.Series:
    """Exact floor of decimal seconds by string arithmetic (a float rounds .9999999 up)."""
    text = rows.text
    dotted = rows.per_shape(lambda shape: "." in shape).astype(bool)
    seconds = np.zeros(len(text), dtype=np.int64)
    seconds[~dotted] = text[~dotted].astype(np.int64).to_numpy()
    if dotted.any():
        parts = text[dotted].str.split(".", n=1, expand=True, regex=False)
        below_zero = parts[0].str.startswith("-") & (parts[1].str.rstrip("0").str.len() > 0)
        seconds[dotted] = (parts[0].astype(np.int64) - below_zero.astype(np.int64)).to_numpy()
    return pd.Series(seconds, index=text.index, dtype=np.int64)


def _iso_text(rows: _Rows) -> pd.Series:
    """What pandas' ISO 8601 parser accepts: dashes, upper-case T/Z, no UTC/GMT word.

    A UTC/GMT suffix leaves an offset-less value, which utc=True reads as UTC, as it should.
    The families' patterns are ASCII-only, so Arrow's ASCII string kernels do what str.replace,
    str.upper and str.rstrip do; each fix runs when some shape needs it (a value whose shape
    does not is left as it is by it).
    """
    array = arrow_text(rows.text)
    if array is None:
        array = pa.array(rows.text.tolist(), type=pa.large_string())
    needs: dict[str, Callable[[str], bool]] = {
        "dashes": lambda shape: "/" in shape,
        "upper": lambda shape: shape != shape.upper(),
        "word": lambda shape: shape.upper().endswith(("UTC", "GMT")),
    }
    used = [rows.shapes[code] for code in np.unique(rows.codes)]
    if any(needs["dashes"](shape) for shape in used):
        array = pc.replace_substring(array, pattern="/", replacement="-")
    if any(needs["upper"](shape) for shape in used):
        array = pc.ascii_upper(array)
    if any(needs["word"](shape) for shape in used):
        word = rows.per_shape(needs["word"]).astype(bool)
        # the space between the time and the word is the one character rstrip could remove
        cut = pc.utf8_rtrim(pc.utf8_slice_codeunits(array, 0, -3), characters=" ")
        array = pc.if_else(pa.array(word), cut, array)
    return pd.Series(array, index=rows.text.index, dtype="str")


def _aware_seconds(rows: _Rows) -> pd.Series:
    parsed = pd.to_datetime(_iso_text(rows), format="ISO8601", utc=True, errors="coerce")
    return _epoch_seconds(parsed)


def _parse_naive(rows: _Rows) -> pd.Series:
    return pd.to_datetime(_iso_text(rows), format="ISO8601", errors="coerce")


def _parse_us(rows: _Rows) -> pd.Series:
    """MM/DD/YYYY[ HH:MM[:SS[.fff]][ AM|PM]] by reading digits at the positions each shape fixes.

    strptime with %p costs ~4 s per million values; slicing digit columns out of the character
    matrix (the shape is ASCII: a byte per character) and letting pd.to_datetime assemble (and
    calendar-check) the parts is ~20x faster.
    Fractions are dropped: the output is floored to whole seconds anyway.
    """
    parts = {name: np.zeros(len(rows.codes), dtype=np.int64) for name in _US_PARTS}
    valid = np.ones(len(rows.codes), dtype=bool)
    for code in pd.unique(rows.codes):
        match = _FAMILIES["us"].fullmatch(rows.shapes[code])
        if match is None:  # only US shapes are routed here
            raise ValueError(f"not a US date shape: {rows.shapes[code]!r}")
        selected = rows.codes == code
        points = rows.characters(selected, len(rows.shapes[code]))
        for name in _US_PARTS:
            if match[name] is not None:
                parts[name][selected] = _digits(points, *match.span(name))
        hour = parts["hour"][selected]
        if match["ampm"]:
            valid[selected] = (hour >= 1) & (hour <= 12)
            afternoon = match["ampm"].strip().upper().startswith("P")
            parts["hour"][selected] = hour % 12 + (12 if afternoon else 0)
    valid &= (parts["hour"] < 24) & (parts["minute"] < 60) & (parts["second"] < 60)
    # to_datetime rolls hour 25 into the next day, hence the checks above; it rejects 02/30.
    stamps = pd.to_datetime(pd.DataFrame(parts, index=rows.text.index), errors="coerce")
    return stamps.where(valid)


def _digits(points: np.ndarray, start: int, end: int) -> np.ndarray:
    """The decimal number in columns start:end of a character matrix (all ASCII digits)."""
    weights = 10 ** np.arange(end - start - 1, -1, -1, dtype=np.int64)
    return np.asarray((points[:, start:end].astype(np.int64) - _ZERO) @ weights)


def rfc3339_utc(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds (years 1-9999) as "YYYY-MM-DDTHH:MM:SS+00:00" Python strings."""
    strings = _rfc3339_arrow(seconds)
    return np.asarray(strings.to_numpy(zero_copy_only=False), dtype=object)


def _rfc3339_arrow(seconds: np.ndarray) -> pa.Array:
    """`rfc3339_utc` as an Arrow string array.

    Each field's digits are looked up ("07") and written into its place in fixed-width byte
    strings, which are the array's buffer as they are: np.datetime_as_string plus a suffix
    costs four times as much per million values.
    """
    seconds = np.asarray(seconds, dtype=np.int64)
    days = seconds // 86_400
    clock = seconds - days * 86_400
    day_stamps = days.astype("datetime64[D]")
    months = day_stamps.astype("datetime64[M]")
    texts = np.full(len(seconds), _TEMPLATE, dtype=f"S{len(_TEMPLATE)}")
    fields = texts.view(_FIELDS)
    fields["year"] = _QUADS[months.astype("datetime64[Y]").astype(np.int64) + 1970]
    fields["month"] = _PAIRS[months.astype(np.int64) % 12 + 1]
    fields["day"] = _PAIRS[(day_stamps - months).astype(np.int64) + 1]
    fields["hour"] = _PAIRS[clock // 3600]
    fields["minute"] = _PAIRS[clock // 60 % 60]
    fields["second"] = _PAIRS[clock % 60]
    width = len(_TEMPLATE)
    offsets = np.arange(0, (len(seconds) + 1) * width, width, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_string(), len(seconds), [None, pa.py_buffer(offsets), pa.py_buffer(texts)]
    )


def _dateutil_seconds(text: pd.Series, source_tz: str) -> pd.Series:
    """Month-name dates ("Oct 13, 2015", "Tue, 13 Oct 2015 18:56:12 +0000"), once per value."""
    aware: dict[int, dt.datetime] = {}
    naive: dict[int, dt.datetime] = {}
    for position, value in zip(text.index.tolist(), text.tolist(), strict=True):
        parsed = _dateutil_parse(value)
        if parsed is None:
            continue
        if parsed.tzinfo is None:
            naive[position] = parsed
        else:
            try:
                aware[position] = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            except OverflowError:
                continue
    seconds = pd.Series(_NO_SECONDS, index=text.index, dtype=np.int64)
    if aware:
        utc = _epoch_seconds(pd.Series(aware, dtype="datetime64[us]"))
        seconds.loc[utc.index] = utc.to_numpy()
    if naive:
        local = _local_seconds(pd.Series(naive, dtype="datetime64[us]"), source_tz)
        seconds.loc[local.index] = local.to_numpy()
    return seconds


def _dateutil_parse(value: str) -> dt.datetime | None:
    try:
        with warnings.catch_warnings():
            # an unknown zone name ("EST") is otherwise silently dropped
            warnings.simplefilter("error")
            first, second = (
                dateutil_parser.parse(value, default=default, tzinfos=_UTC_NAMES)
                for default in _DEFAULTS
            )
    except (ValueError, OverflowError, Warning):
        return None
    return first if first == second else None


def _local_seconds(naive: pd.Series, source_tz: str) -> pd.Series:
    """Wall-clock times in `source_tz` to epoch seconds; DST gaps shift forward, overlaps early.

    Within two days of year 1 or 9999's end (where tz_localize raises, or the UTC instant falls
    outside them) a time takes the UTC offset its zone has two days further in; the range check
    downstream then refuses what lands outside years 1-9999. A zone changing its offset in
    those two days (none does) would be off by the change.
    """
    wall = _epoch_seconds(naive)
    if source_tz == "UTC":
        return wall
    seconds = wall.to_numpy()
    safe = np.clip(seconds, *_SAFE_WALL)  # NaT's sentinel too: a harmless time to localize
    local = pd.Series(safe.astype("datetime64[s]"), index=naive.index).dt.tz_localize(
        source_tz,
        ambiguous=np.ones(len(safe), dtype=bool),  # True = the DST (earlier) reading
        nonexistent="shift_forward",
    )
    offsets = safe - _epoch_seconds(local).to_numpy()  # local minus UTC
    offsets[seconds == _NO_SECONDS] = 0  # NaT stays the sentinel
    return pd.Series(seconds - offsets, index=naive.index, dtype=np.int64)


def _epoch_seconds(stamps: pd.Series) -> pd.Series:
    """Floor to whole seconds since the epoch; NaT becomes the out-of-range sentinel."""
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    # numpy's cast to a coarser unit floors, also before 1970
    raw = stamps.to_numpy().astype("datetime64[s]").astype(np.int64)
    raw[stamps.isna().to_numpy()] = _NO_SECONDS
    return pd.Series(raw, index=stamps.index, dtype=np.int64)

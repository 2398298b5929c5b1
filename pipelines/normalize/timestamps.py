"""Timestamps to the one form Kindful reads without guessing: RFC 3339 UTC, whole seconds.

Kindful takes unix seconds or ISO 8601/RFC 3339 "in UTC"; source systems hand us spreadsheet
datetimes, US-style dates and offsets of every kind. Each value's family is decided by a strict
regex and then parsed by pd.to_datetime with an explicit format, so nothing is silently read as a
different family (day-first, say).

Speed: the family patterns only care which characters are digits, so they run once per distinct
*shape* (each ASCII digit replaced by "9"; a whole column usually has one or two shapes) instead
of once per value.
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
from dateutil import parser as dateutil_parser

from pipelines.normalize.core import DistinctNormalizer, na_series, where_found

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
_TEMPLATE = np.frombuffer("0000-00-00T00:00:00+00:00".encode("utf-32-le"), dtype=np.uint32)
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
    """Some distinct values with their shapes: `codes` index `shapes`, one per value."""

    text: pd.Series
    shapes: list[str]
    codes: np.ndarray
    points: np.ndarray  # the values as a UTF-32 code point matrix, one row per value

    def subset(self, rows: np.ndarray) -> _Rows:
        return _Rows(self.text[rows], self.shapes, self.codes[rows], self.points[rows])

    def per_shape(self, test: Callable[[str], object]) -> np.ndarray:
        """`test` of each row's shape, computed once per distinct shape among these rows."""
        used = np.unique(self.codes)
        table = np.empty(len(self.shapes), dtype=object)
        table[used] = [test(self.shapes[code]) for code in used]
        return np.asarray(table.take(self.codes))


def _normalize_distinct(present: pd.Series, source_tz: str) -> tuple[pd.Series, pd.Series]:
    seconds = pd.Series(_NO_SECONDS, index=present.index, dtype=np.int64)
    lengths = present.str.len().to_numpy(dtype=np.int64)
    fits = lengths <= _MAX_LENGTH
    short = present[fits]
    if not short.empty:
        every = _with_shapes(short, lengths[fits])
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
                converted = convert(every.subset(selected))
                seconds.loc[converted.index] = converted.to_numpy()

    in_range = ((seconds >= _MIN_SECONDS) & (seconds <= _MAX_SECONDS)).to_numpy()
    out = na_series(present.index)
    out[in_range] = rfc3339_utc(seconds.to_numpy()[in_range])
    return out, where_found(pd.Series(~in_range, index=present.index), PROBLEM)


def _with_shapes(text: pd.Series, lengths: np.ndarray) -> _Rows:
    """Group values by shape (ASCII digits -> "9"), working on UTF-32 code points in numpy.

    numpy's fixed-width strings pad with NUL and so drop a value's trailing NULs: such a value
    (shorter in numpy than its `lengths`) gets the shape "\x00", which no family matches.
    """
    chars = np.asarray(text.to_numpy(dtype=object).astype(str))
    width = chars.dtype.itemsize // 4
    points = chars.view(np.uint32).reshape(len(chars), width)
    shape_points = points.copy()
    shape_points[(points >= _ZERO) & (points <= _ZERO + 9)] = _ZERO + 9
    codes, shapes = pd.factorize(shape_points.view(chars.dtype).ravel())
    codes = np.asarray(codes, np.intp)
    names = [str(shape) for shape in shapes]
    cut = np.strings.str_len(chars) != lengths
    if cut.any():
        codes[cut] = len(names)
        names.append(_CUT_SHAPE)
    return _Rows(text, names, codes, points)


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
    The fixes run on plain lists: pandas' str methods cost ~4x more per value.
    """
    texts = rows.text.tolist()
    fixes: list[tuple[Callable[[str], bool], Callable[[list[str]], list[str]]]] = [
        (lambda shape: "/" in shape, lambda some: [text.replace("/", "-") for text in some]),
        (lambda shape: shape != shape.upper(), lambda some: [text.upper() for text in some]),
        (
            lambda shape: shape.upper().endswith(("UTC", "GMT")),
            lambda some: [text[:-3].rstrip() for text in some],
        ),
    ]
    for needs, fix in fixes:
        selected = np.flatnonzero(rows.per_shape(needs).astype(bool)).tolist()
        if selected:
            fixed = fix([texts[i] for i in selected])
            for i, text in zip(selected, fixed, strict=True):
                texts[i] = text
    return pd.Series(texts, index=rows.text.index, dtype="str")


def _aware_seconds(rows: _Rows) -> pd.Series:
    parsed = pd.to_datetime(_iso_text(rows), format="ISO8601", utc=True, errors="coerce")
    return _epoch_seconds(parsed)


def _parse_naive(rows: _Rows) -> pd.Series:
    return pd.to_datetime(_iso_text(rows), format="ISO8601", errors="coerce")


def _parse_us(rows: _Rows) -> pd.Series:
    """MM/DD/YYYY[ HH:MM[:SS[.fff]][ AM|PM]] by reading digits at the positions each shape fixes.

    strptime with %p costs ~4 s per million values; slicing digit columns out of the code point
    matrix and letting pd.to_datetime assemble (and calendar-check) the parts is ~20x faster.
    Fractions are dropped: the output is floored to whole seconds anyway.
    """
    parts = {name: np.zeros(len(rows.codes), dtype=np.int64) for name in _US_PARTS}
    valid = np.ones(len(rows.codes), dtype=bool)
    for code in pd.unique(rows.codes):
        match = _FAMILIES["us"].fullmatch(rows.shapes[code])
        if match is None:  # only US shapes are routed here
            raise ValueError(f"not a US date shape: {rows.shapes[code]!r}")
        selected = rows.codes == code
        points = rows.points[selected]
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
    """The decimal number in columns start:end of a code point matrix (all ASCII digits)."""
    weights = 10 ** np.arange(end - start - 1, -1, -1, dtype=np.int64)
    return np.asarray((points[:, start:end].astype(np.int64) - _ZERO) @ weights)


def rfc3339_utc(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds (years 1-9999) as "YYYY-MM-DDTHH:MM:SS+00:00" Python strings.

    Digits are written straight into a UTF-32 matrix: np.datetime_as_string plus a suffix costs
    four times as much per million values.
    """
    days = seconds // 86_400
    clock = seconds - days * 86_400
    day_stamps = days.astype("datetime64[D]")
    months = day_stamps.astype("datetime64[M]")
    fields = (
        (0, 4, months.astype("datetime64[Y]").astype(np.int64) + 1970),
        (5, 2, months.astype(np.int64) % 12 + 1),
        (8, 2, (day_stamps - months).astype(np.int64) + 1),
        (11, 2, clock // 3600),
        (14, 2, clock // 60 % 60),
        (17, 2, clock % 60),
    )
    chars = np.tile(_TEMPLATE, (len(seconds), 1))
    for start, width, value in fields:
        for place in range(width):
            chars[:, start + width - 1 - place] += (value // 10**place % 10).astype(np.uint32)
    return np.asarray(chars.view(f"<U{len(_TEMPLATE)}").ravel().astype(object))


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

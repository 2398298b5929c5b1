"""Calendar dates (birthdays) to yyyy-mm-dd, one unambiguous spelling of Kindful's four."""

from __future__ import annotations

import pandas as pd

from pipelines.normalize.core import DistinctNormalizer, na_series, where_found

PROBLEM = "unparseable date"

# A spreadsheet date often arrives as a datetime at midnight; its time part is ignored.
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?(?: ?[AaPp][Mm])?)?"
_YEAR_FIRST = r"(?P<y1>\d{4})(?P<s1>[-/])(?P<a1>\d{1,2})(?P=s1)(?P<b1>\d{1,2})"
_YEAR_LAST = r"(?P<a2>\d{1,2})(?P<s2>[-/])(?P<b2>\d{1,2})(?P=s2)(?P<y2>\d{4})"
_DATE = rf"^(?:{_YEAR_FIRST}|{_YEAR_LAST}){_TIME}$"


def dates_distinct(day_first: bool = False) -> DistinctNormalizer:
    """Each value as "yyyy-mm-dd", or NA + "unparseable date" for garbage or impossible dates.

    Year-first is always yyyy/mm/dd. Year-last is mm/dd/yyyy (Kindful's US reading) unless
    `day_first`, then dd/mm/yyyy; there is no guessing from values above 12, since a column mixing
    both readings cannot be trusted either way.
    """
    return lambda present: _normalize_distinct(present, day_first)


def _normalize_distinct(present: pd.Series, day_first: bool) -> tuple[pd.Series, pd.Series]:
    parts = present.str.extract(_DATE)
    year_first = parts["y1"].notna()
    year = parts["y1"].where(year_first, parts["y2"])
    first = parts["a1"].where(year_first, parts["a2"])
    second = parts["b1"].where(year_first, parts["b2"])
    month = first.where(year_first | (not day_first), second)
    day = second.where(year_first | (not day_first), first)

    matched = year.notna()
    out = na_series(present.index)
    if matched.any():
        y, m, d = year[matched], month[matched], day[matched]
        # to_datetime on the parts rejects 02/30 and month 13 without any hand-written calendar
        stamps = pd.to_datetime(
            pd.DataFrame({"year": y.astype(int), "month": m.astype(int), "day": d.astype(int)}),
            errors="coerce",
        )
        valid = stamps.notna() & (y != "0000")  # pandas accepts year 0; no calendar does
        text = y + "-" + m.str.zfill(2) + "-" + d.str.zfill(2)
        out[valid[valid].index] = text[valid].astype(object)
    return out, where_found(out.isna(), PROBLEM)

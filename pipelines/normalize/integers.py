"""Whole numbers (quantities, cents) as plain digit strings, by exact string arithmetic.

Spreadsheets turn 2 into "2.0" and accountants write "1,000"; both are the same whole number.
No float ever touches the value, so 20-digit amounts survive unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from pipelines.normalize.core import apply_each

PROBLEM = "not a whole number"

# sign, integer digits (optionally grouped by commas), optional fraction
_NUMBER = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?", re.ASCII)


def whole_number(text: str) -> tuple[str | None, bool]:
    """("-12", True) for "-0012.00"; (None, True) for "2.5"; (None, False) for non-numbers.

    The flag says whether `text` was a number at all, so callers can word the two failures.
    """
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None, False
    if match[3] and match[3].strip("0"):
        return None, True
    digits = match[2].replace(",", "").lstrip("0") or "0"
    return ("-" + digits if match[1] == "-" and digits != "0" else digits), True


def whole_numbers(
    present: pd.Series, normalize_one: Callable[[str], tuple[str | None, str | None]]
) -> tuple[pd.Series, pd.Series]:
    """Plain digits, also spreadsheet-style "5000.0" (the bulk of any column), with str ops;
    the rest (signs, commas, fractions, junk) via `normalize_one`."""
    bare = present.copy()
    dotted = present.str.contains(".", regex=False).to_numpy(dtype=bool)
    if dotted.any():
        bare[dotted] = present[dotted].str.rstrip("0").str.removesuffix(".").to_numpy()
    plain = (bare.str.isascii() & bare.str.isdecimal()).to_numpy(dtype=bool)
    values, problems = apply_each(present[~plain], normalize_one)
    digits = bare[plain].str.lstrip("0").replace("", "0").astype(object)
    return pd.concat([values, digits]), problems


def integers_distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Each value as a canonical integer string ("+2", "2.0" -> "2").

    Fractions ("2.5") and text -> NA + "not a whole number".
    """
    return whole_numbers(present, _integer)


def _integer(text: str) -> tuple[str | None, str | None]:
    value, _ = whole_number(text)
    return value, (PROBLEM if value is None else None)

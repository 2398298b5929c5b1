"""Money to integer cents, Kindful's only amount unit, with exact string arithmetic.

A float would turn "19.99" into 1998 cents now and then; here amounts are only ever digit strings
(the decimal point moved by slicing), so every cent is exact and large values survive.
"""

from __future__ import annotations

import re

import pandas as pd

from pipelines.normalize.core import apply_each, per_distinct
from pipelines.normalize.integers import whole_number, whole_numbers
from pipelines.normalize.result import Normalized

NOT_AN_AMOUNT = "not an amount"
NOT_WHOLE_CENTS = "not a whole number of cents"
FRACTION_OF_A_CENT = "fraction of a cent"

# "-$1,234.56", "$-5", "+12", ".50", "$ 12.", "(12.00)", "($12)"
_DOLLARS = re.compile(
    r"(?P<open>\(?)(?P<sign1>[+-]?)\$? ?(?P<sign2>[+-]?)"
    r"(?P<whole>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<fraction>\d*))?(?P<close>\)?)",
    re.ASCII,
)


def cents_distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Amounts already in cents ("5000", "5000.00", "1,000") as integer strings.

    "50.5" -> NA + "not a whole number of cents"; anything else -> NA + "not an amount".
    """
    return whole_numbers(present, _cents)


def _cents(text: str) -> tuple[str | None, str | None]:
    value, numeric = whole_number(text)
    if value is None:
        return None, NOT_WHOLE_CENTS if numeric else NOT_AN_AMOUNT
    return value, None


def dollars_distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dollar amounts ("$1,234.56", "(12.00)", "-$5") as integer cents ("123456", "-1200", "-500").

    Digits past the cents are fine only when they are zeros ("1.000"); otherwise NA +
    "fraction of a cent". Other text, currency codes included, -> NA + "not an amount".
    """
    return apply_each(present, dollars_to_cents)


def normalize_dollars(values: pd.Series) -> Normalized:
    """`dollars_distinct` on a column's rows (stripped, not otherwise cleaned), for mapping rules
    that read an amount before normalization."""
    return per_distinct(values, dollars_distinct)


def dollars_to_cents(text: str) -> tuple[str | None, str | None]:
    """(cents, None) or (None, problem) for one trimmed dollar amount."""
    match = _DOLLARS.fullmatch(text)
    if match is None:
        return None, NOT_AN_AMOUNT
    whole, fraction = match["whole"].replace(",", ""), match["fraction"] or ""
    signs = match["sign1"] + match["sign2"]
    parenthesised = bool(match["open"])
    if (
        not (whole or fraction)
        or parenthesised != bool(match["close"])
        or len(signs) > 1
        or (parenthesised and signs)
    ):
        return None, NOT_AN_AMOUNT
    if fraction[2:].strip("0"):
        return None, FRACTION_OF_A_CENT
    cents = (whole + fraction[:2].ljust(2, "0")).lstrip("0") or "0"
    negative = (parenthesised or signs == "-") and cents != "0"
    return ("-" + cents if negative else cents), None

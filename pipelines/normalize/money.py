"""Money to Kindful's integer minor units ("amount_in_cents"), with exact string arithmetic.

A float would turn "19.99" into 1998 cents now and then; here amounts are only ever digit strings
(the decimal point moved by slicing), so every cent is exact and large values survive.

Amounts are read as the mapping says they are written: in minor units (cents) or major units
(dollars, yen, dinars: the `dollars` unit), with a decimal point (default) or a decimal comma
(`decimal: ","`). Major units become minor units by the currency's ISO 4217 exponent (USD 2,
JPY 0, BHD 3), so a major-unit normalizer is built for one currency; `normalize_frame` groups a
column's rows by their currency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from pipelines.normalize.arrow_text import objects, text_array
from pipelines.normalize.core import DistinctNormalizer, apply_each, per_distinct
from pipelines.normalize.currency import DEFAULT_CURRENCY, minor_unit_exponent
from pipelines.normalize.integers import whole_number, whole_numbers
from pipelines.normalize.result import Normalized

DecimalMark = Literal[".", ","]
DECIMAL_MARKS: tuple[DecimalMark, ...] = (".", ",")

NOT_AN_AMOUNT = "not an amount"
NOT_WHOLE_CENTS = "not a whole number of cents"
FRACTION_OF_A_CENT = "fraction of a cent"
# A value that reads as an amount only with a decimal comma, in a column read with a point.
DECIMAL_COMMA_HINT = 'not an amount (a decimal comma? add decimal: "," to the mapping)'
UNKNOWN_CURRENCY = "amount in an unknown currency: its minor unit is unknown"

_SIGNS = r"(?P<open>\(?)(?P<sign1>[+-]?)\$? ?(?P<sign2>[+-]?)"
# "-$1,234.56", "$-5", "+12", ".50", "$ 12.", "(12.00)", "($12)"
_DOLLARS = re.compile(
    _SIGNS + r"(?P<whole>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<fraction>\d*))?(?P<close>\)?)",
    re.ASCII,
)
# The same with a decimal comma: "1.234,56", "1 234,56", "1'234,56", "-30,00", "(12,00)". The
# thousands separator is one of . space NBSP narrow-NBSP ' and the same throughout a value.
_GROUPED = r"\d{1,3}(?P<sep>[. '\u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*"
_COMMA_DOLLARS = re.compile(
    _SIGNS + rf"(?P<whole>{_GROUPED}|\d*)(?:,(?P<fraction>\d*))?(?P<close>\)?)", re.ASCII
)
# Cents with a decimal comma: sign, digits (grouped or not), an optional all-zero fraction.
_COMMA_CENTS = re.compile(
    rf"(?P<sign1>[+-]?)(?P<whole>{_GROUPED}|\d+)(?:,(?P<fraction>\d*))?", re.ASCII
)
# With a decimal comma, a whole part of one "." before exactly three digits and no decimals
# ("1.234", "12.500") is a decimal point in the default form: 1234 or 1.234? Never guessed.
_LONE_POINT = re.compile(r"\d{1,3}\.\d{3}", re.ASCII)


@dataclass(frozen=True)
class _Amount:
    negative: bool
    whole: str  # digits, no separators ("" for ".5")
    fraction: str  # digits after the decimal mark
    ambiguous: bool = False  # `_LONE_POINT` with a decimal comma
    # with a decimal comma, 1-3 digits, a comma and three more ("1,000"): a thousand in the
    # default form; only a currency with three decimals (BHD) writes amounts so
    thousands_like: bool = False


def _ambiguous(match: re.Match[str]) -> bool:
    return match["fraction"] is None and _LONE_POINT.fullmatch(match["whole"]) is not None


def _read(text: str, decimal: DecimalMark) -> _Amount | None:
    """The sign and digits of a major-unit amount written with `decimal`, or None."""
    match = (_DOLLARS if decimal == "." else _COMMA_DOLLARS).fullmatch(text)
    if match is None:
        return None
    fraction = match["fraction"] or ""
    whole = re.sub(r"\D", "", match["whole"])
    signs = match["sign1"] + match["sign2"]
    parenthesised = bool(match["open"])
    if (
        not (whole or fraction)
        or parenthesised != bool(match["close"])
        or len(signs) > 1
        or (parenthesised and signs)
    ):
        return None
    comma = decimal == ","
    thousands_like = comma and len(fraction) == 3 and re.fullmatch(r"\d{1,3}", match["whole"])
    negative = parenthesised or signs == "-"
    return _Amount(negative, whole, fraction, comma and _ambiguous(match), bool(thousands_like))


def _minor(amount: _Amount, exponent: int) -> str | None:
    """The amount in minor units, or None when it holds a fraction of one (non-zero digits past
    the exponent; "1.000" is a whole dollar)."""
    if amount.fraction[exponent:].strip("0"):
        return None
    digits = (amount.whole + amount.fraction[:exponent].ljust(exponent, "0")).lstrip("0") or "0"
    return "-" + digits if amount.negative and digits != "0" else digits


def _fraction_problem(currency: str, exponent: int) -> str:
    if exponent == 0:
        return f"{currency} has no minor unit: whole {currency} only"
    if exponent == 2:
        return FRACTION_OF_A_CENT
    return f"fraction of the minor unit of {currency} ({exponent} decimals at most)"


def _comma_problems(column: str) -> tuple[str, str]:
    """(not in the form, ambiguous) for a column read with a decimal comma."""
    form = f'{column} is written with a decimal comma (decimal: ","), like 1.234,56 or 30,00'
    return (
        f"not an amount: {form}",
        f"ambiguous amount (thousands or decimals?): {form}; write a thousand as 1.234,00",
    )


def _not_an_amount(text: str) -> str:
    """`NOT_AN_AMOUNT`, with a hint when the text reads as an amount with a decimal comma."""
    comma = "," in text and _read(text, ",")
    return DECIMAL_COMMA_HINT if comma else NOT_AN_AMOUNT


def money_distinct(
    major: bool,
    decimal: DecimalMark = ".",
    currency: str | None = DEFAULT_CURRENCY,
    column: str = "the amount",
) -> DistinctNormalizer:
    """The normalizer of a money column to integer minor units.

    `major`: amounts in major units (the mapping's `dollars`), scaled by `currency`'s ISO 4217
    exponent (None: an unknown currency, whose amounts are all rejected, never guessed); else
    amounts already in minor units, where the currency does not matter. `decimal`: the decimal
    mark the amounts are written with; `column` names the column in the decimal-comma reasons.
    """
    if decimal not in DECIMAL_MARKS:
        raise ValueError(f'decimal must be "." or ",", not {decimal!r}')
    if not major:
        return cents_distinct if decimal == "." else _comma_cents(column)
    if currency is None:
        return _rejecting(UNKNOWN_CURRENCY)
    exponent = minor_unit_exponent(currency)
    fraction = _fraction_problem(currency, exponent)
    shape, ambiguous = _comma_problems(column)

    def one(text: str) -> tuple[str | None, str | None]:
        amount = _read(text, decimal)
        if amount is None:
            return None, _not_an_amount(text) if decimal == "." else shape
        if amount.ambiguous or (amount.thousands_like and exponent != 3):
            return None, ambiguous
        value = _minor(amount, exponent)
        return (None, fraction) if value is None else (value, None)

    def distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
        if decimal != ".":
            return apply_each(present, one)
        # plain amounts (the bulk of any column) with Arrow's string kernels; the rest one by one
        plain, minor = _plain_major(text_array(present), exponent)
        values, problems = apply_each(present[~plain], one)
        done = pd.Series(objects(minor), index=present.index[plain], dtype=object)
        return pd.concat([values, done]), problems

    return distinct


def _plain_major(amounts: pa.Array, exponent: int) -> tuple[np.ndarray, pa.Array]:
    """Which amounts are plain ("25", "$25", "25.5", "$1234.50": an optional dollar sign,
    ASCII digits, at most `exponent` decimals after a point) and those amounts in minor units,
    as `_read` and `_minor` would write them: the digits without the point, padded with zeros
    to `exponent` decimals, leading zeros dropped ("0" for zero)."""
    pattern = rf"^\$?[0-9]+(?:\.[0-9]{{0,{exponent}}})?$"
    mask = pc.match_substring_regex(amounts, pattern).fill_null(False)
    plain = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    texts = pc.replace_substring(amounts.filter(mask), "$", "")
    point = np.asarray(pc.find_substring(texts, ".").to_numpy(zero_copy_only=False))
    length = np.asarray(pc.binary_length(texts).to_numpy(zero_copy_only=False))
    decimals = np.where(point >= 0, length - point - 1, 0)
    pads = np.array(["0" * n for n in range(exponent + 1)], dtype=object)[exponent - decimals]
    digits = pc.binary_join_element_wise(
        pc.replace_substring(texts, ".", ""),
        pa.array(pads, type=texts.type),
        pa.scalar("", texts.type),
    )
    digits = pc.utf8_ltrim(digits, characters="0")
    zero = pc.equal(pc.binary_length(digits), 0)
    return plain, pc.if_else(zero, pa.scalar("0", digits.type), digits)


def _rejecting(problem: str) -> DistinctNormalizer:
    def distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
        return apply_each(present, lambda _: (None, problem))

    return distinct


def _comma_cents(column: str) -> DistinctNormalizer:
    """Cents written with a decimal comma ("5000", "5.000", "5000,00") as integer strings."""
    shape, ambiguous = _comma_problems(column)

    def one(text: str) -> tuple[str | None, str | None]:
        match = _COMMA_CENTS.fullmatch(text)
        if match is None:
            return None, shape
        fraction = match["fraction"] or ""
        thousands_like = len(fraction) == 3 and re.fullmatch(r"\d{1,3}", match["whole"])
        if _ambiguous(match) or thousands_like:
            return None, ambiguous
        if fraction.strip("0"):
            return None, NOT_WHOLE_CENTS
        whole = re.sub(r"\D", "", match["whole"])
        return _minor(_Amount(match["sign1"] == "-", whole, ""), 0), None

    def distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
        # plain digits (the bulk of any column) with str ops; the rest one by one
        plain = (present.str.isascii() & present.str.isdecimal()).to_numpy(dtype=bool)
        values, problems = apply_each(present[~plain], one)
        digits = present[plain].str.lstrip("0").replace("", "0").astype(object)
        return pd.concat([values, digits]), problems

    return distinct


def cents_distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Amounts already in cents ("5000", "5000.00", "1,000") as integer strings.

    "50.5" -> NA + "not a whole number of cents"; anything else -> NA + "not an amount" (with a
    hint at `decimal: ","` when it reads as an amount with a decimal comma: "50,00").
    """
    return whole_numbers(present, _cents)


def _cents(text: str) -> tuple[str | None, str | None]:
    value, numeric = whole_number(text)
    if value is None:
        return None, NOT_WHOLE_CENTS if numeric else _not_an_amount(text)
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
    amount = _read(text, ".")
    if amount is None:
        return None, _not_an_amount(text)
    value = _minor(amount, 2)
    return (None, FRACTION_OF_A_CENT) if value is None else (value, None)

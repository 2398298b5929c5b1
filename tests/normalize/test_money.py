"""Money as it is written: decimal commas, and major units by each row's currency's exponent.

Amounts in major units (the mapping's `dollars`) become Kindful's minor units by the ISO 4217
exponent of the row's currency (USD 2, JPY and KRW 0, BHD and KWD 3); a mapping's
`decimal: ","` reads "1.234,56" and refuses what could be read two ways.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.normalize import frame as frame_module
from pipelines.normalize.core import DistinctNormalizer, clean_distinct, distinct, spread
from pipelines.normalize.currency import currency_distinct
from pipelines.normalize.frame import normalize_frame
from pipelines.normalize.money import (
    DECIMAL_COMMA_HINT,
    FRACTION_OF_A_CENT,
    NOT_AN_AMOUNT,
    NOT_WHOLE_CENTS,
    UNKNOWN_CURRENCY,
    cents_distinct,
    dollars_distinct,
    money_distinct,
)
from pipelines.transform.options import RunOptions
from schemas.columns import FORMATS

NA = None
COLUMN = "amount_in_cents"
FORM = f'{COLUMN} is written with a decimal comma (decimal: ","), like 1.234,56 or 30,00'
NOT_IN_FORM = f"not an amount: {FORM}"
AMBIGUOUS = f"ambiguous amount (thousands or decimals?): {FORM}; write a thousand as 1.234,00"


def one(normalizer: DistinctNormalizer, text: str) -> tuple[str | None, str | None]:
    """One value through `normalizer` as normalize_frame runs it (cleaned, per distinct)."""
    values = pd.Series([text], dtype="str")
    codes, uniques = distinct(values)
    found, problems = normalizer(clean_distinct(uniques))
    result = spread(values.index, codes, found, problems, len(uniques))
    value, problem = result.values.iloc[0], result.problems.iloc[0]
    return (None if pd.isna(value) else value), (None if pd.isna(problem) else problem)


def comma(currency: str = "USD") -> DistinctNormalizer:
    return money_distinct(True, ",", currency, COLUMN)


# --------------------------------------------------------------------------------------------
# decimal commas


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30,00", "3000"),
        ("1.234,56", "123456"),
        ("1 234,56", "123456"),
        ("1\u00a0234,56", "123456"),  # NBSP, as French spreadsheets write it
        ("1\u202f234,56", "123456"),  # narrow NBSP
        ("1'234,56", "123456"),  # Swiss
        ("1.234.567,89", "123456789"),
        ("1.234.567", "123456700"),  # two points cannot both be decimal points
        ("1 234", "123400"),
        ("1234,5", "123450"),
        ("0,5", "50"),  # no thousands reading of one digit: 50 cents, as "0.5" is today
        (",99", "99"),
        ("12,", "1200"),
        ("1.234,", "123400"),
        ("-30,00", "-3000"),
        ("(12,00)", "-1200"),
        ("-$5,00", "-500"),
        ("$ 1.000,00", "100000"),
        ("0,00", "0"),
        ("  30,00 ", "3000"),
    ],
)
def test_decimal_comma_amounts_become_cents(text: str, expected: str) -> None:
    assert one(comma(), text) == (expected, NA)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1,234.56", NOT_IN_FORM),  # a decimal point: the form the mapping says is not used
        ("12.50", NOT_IN_FORM),
        ("1,2,3", NOT_IN_FORM),
        ("1.234 567,00", NOT_IN_FORM),  # two kinds of thousands separator
        ("1.23,45", NOT_IN_FORM),
        ("1234.567,00", NOT_IN_FORM),  # a group of four
        ("abc", NOT_IN_FORM),
        ("30,00 EUR", NOT_IN_FORM),
        ("1.234", AMBIGUOUS),  # 1234, or 1.234 written with a point?
        ("12.500", AMBIGUOUS),
        ("-123.456", AMBIGUOUS),
        ("1,000", AMBIGUOUS),  # one dollar, or a thousand with a thousands comma?
        ("1,234", AMBIGUOUS),
        ("1,005", AMBIGUOUS),
        ("1,2345", FRACTION_OF_A_CENT),
        ("0,001", AMBIGUOUS),
    ],
)
def test_decimal_comma_refuses_what_contradicts_it_or_reads_two_ways(
    text: str, problem: str
) -> None:
    assert one(comma(), text) == (NA, problem)


def test_the_reason_names_the_column_and_the_form() -> None:
    _, problem = one(money_distinct(True, ",", "USD", "unit_amount_in_cents"), "1,234.56")
    assert problem is not None
    assert "unit_amount_in_cents" in problem and "1.234,56" in problem and 'decimal: ","' in problem


def test_a_three_decimal_currency_reads_one_comma_before_three_digits_as_decimals() -> None:
    assert one(comma("BHD"), "1,250") == ("1250", NA)
    assert one(comma("BHD"), "1.250,500") == ("1250500", NA)
    assert one(comma("BHD"), "1.250") == (NA, AMBIGUOUS)
    assert one(comma("JPY"), "1,000") == (NA, AMBIGUOUS)


@pytest.mark.parametrize(
    ("text", "expected", "problem"),
    [
        ("5000", "5000", NA),
        ("5000,00", "5000", NA),
        ("5.000,0", "5000", NA),
        ("1 000", "1000", NA),
        ("-200", "-200", NA),
        ("0050", "50", NA),
        ("50,5", NA, NOT_WHOLE_CENTS),
        ("5.000", NA, AMBIGUOUS),
        ("1,234", NA, AMBIGUOUS),
        ("50.5", NA, NOT_IN_FORM),
        ("$5000", NA, NOT_IN_FORM),
    ],
)
def test_cents_with_a_decimal_comma(text: str, expected: str | None, problem: str | None) -> None:
    assert one(money_distinct(False, ",", column=COLUMN), text) == (expected, problem)


@pytest.mark.parametrize("text", ["30,00", "1.234,56", "1 234,56", "0,5", "-5,00", "(1,50)"])
def test_with_a_decimal_point_a_decimal_comma_is_refused_with_a_hint(text: str) -> None:
    """Today's behaviour (refused), with a reason pointing at the mapping option."""
    assert one(dollars_distinct, text) == (NA, DECIMAL_COMMA_HINT)
    assert one(money_distinct(True), text) == (NA, DECIMAL_COMMA_HINT)
    assert DECIMAL_COMMA_HINT.startswith(NOT_AN_AMOUNT)


@pytest.mark.parametrize("text", ["1,2,3", "1 000", "abc", "1,00.00"])
def test_other_non_amounts_get_no_hint(text: str) -> None:
    assert one(dollars_distinct, text) == (NA, NOT_AN_AMOUNT)


def test_cents_with_a_point_hint_too() -> None:
    assert one(cents_distinct, "5000,00") == (NA, DECIMAL_COMMA_HINT)


def test_decimal_must_be_a_point_or_a_comma() -> None:
    with pytest.raises(ValueError, match="decimal"):
        money_distinct(True, ";")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# currency exponents


@pytest.mark.parametrize(
    ("currency", "text", "expected", "problem"),
    [
        ("USD", "12.34", "1234", NA),
        ("USD", "12", "1200", NA),
        ("USD", "12.345", NA, FRACTION_OF_A_CENT),
        ("EUR", "0.5", "50", NA),
        ("JPY", "1500", "1500", NA),
        ("JPY", "1,500", "1500", NA),
        ("JPY", "1500.00", "1500", NA),  # zeros past the exponent are fine
        ("JPY", "1500.5", NA, "JPY has no minor unit: whole JPY only"),
        ("KRW", "50000", "50000", NA),
        ("KRW", "0.1", NA, "KRW has no minor unit: whole KRW only"),
        ("BHD", "1.250", "1250", NA),
        ("BHD", "1.25", "1250", NA),
        ("BHD", "2", "2000", NA),
        ("BHD", "1.2505", NA, "fraction of the minor unit of BHD (3 decimals at most)"),
        ("KWD", "(0.005)", "-5", NA),
        ("jpy", "1500", "1500", NA),  # any case
    ],
)
def test_major_units_scale_by_the_currency_exponent(
    currency: str, text: str, expected: str | None, problem: str | None
) -> None:
    assert one(money_distinct(True, ".", currency), text) == (expected, problem)


def test_a_decimal_comma_and_a_zero_decimal_currency() -> None:
    assert one(comma("JPY"), "1.500,00") == ("1500", NA)
    assert one(comma("JPY"), "1 500") == ("1500", NA)
    assert one(comma("JPY"), "1500,5") == (NA, "JPY has no minor unit: whole JPY only")
    assert one(comma("JPY"), "0,5") == (NA, "JPY has no minor unit: whole JPY only")


def test_an_unknown_currency_rejects_every_amount_in_major_units() -> None:
    assert one(money_distinct(True, ".", None), "12.00") == (NA, UNKNOWN_CURRENCY)


def test_amounts_in_cents_do_not_depend_on_the_currency() -> None:
    assert one(money_distinct(False), "1500") == ("1500", NA)


# --------------------------------------------------------------------------------------------
# normalize_frame: each row by its own currency

TRANSACTION = FORMATS["contact_with_transaction"]


def _normalized(
    amounts: list[str | None],
    currencies: list[str | None] | None,
    data_format: str = "contact_with_transaction",
    decimal: str = ".",
    unit: bool = True,
) -> tuple[list[str | None], dict[int, str]]:
    fmt = FORMATS[data_format]
    money = next(c.name for c in fmt.columns if c.name.endswith("amount_in_cents"))
    columns: dict[str, list[str | None]] = {money: amounts}
    if currencies is not None:
        columns["currency"] = currencies
    mapped = pd.DataFrame(columns, dtype="str")
    units = {money: "dollars"} if unit else {}
    result = normalize_frame(
        mapped,
        fmt,
        units,  # type: ignore[arg-type]
        RunOptions(data_format=data_format),
        decimal,  # type: ignore[arg-type]
    )
    values = [None if pd.isna(v) else str(v) for v in result.frame[money].tolist()]
    rejects = result.rejects[result.rejects["column"] == money]
    return values, dict(zip(rejects["source_row"].tolist(), rejects["reason"], strict=True))


def test_a_mixed_currency_column_converts_each_row_by_its_currency() -> None:
    values, rejects = _normalized(
        ["12.34", "1500", "1.250", "1500.5", "12.34", "7", "7", None, "9"],
        ["usd", "JPY", "bhd", "jpy", None, "zzz", "", "jpy", " KRW "],
    )
    assert values == ["1234", "1500", "1250", None, "1234", None, "700", None, "9"]
    assert rejects == {4: "JPY has no minor unit: whole JPY only", 6: UNKNOWN_CURRENCY}


def test_without_a_currency_column_amounts_are_usd() -> None:
    assert _normalized(["12.34", "1500"], None)[0] == ["1234", "150000"]
    # split_transaction has no currency column at all
    assert _normalized(["12.34"], None, "split_transaction")[0] == ["1234"]


def test_an_upper_case_currency_format_too() -> None:
    values, _ = _normalized(["1500", "1.5"], ["JPY", "BHD"], "contact_with_pledge")
    assert values == ["1500", "1500"]


def test_amounts_in_cents_ignore_the_currency() -> None:
    values, _ = _normalized(["1500", "1500,00"], ["JPY", "USD"], decimal=",", unit=False)
    assert values == ["1500", "1500"]


def test_decimal_comma_and_currencies_together() -> None:
    values, rejects = _normalized(
        ["30,00", "1.234,56", "1 500", "1,250", "1.234", "1,234.56"],
        ["EUR", "eur", "JPY", "BHD", "EUR", "EUR"],
        decimal=",",
    )
    assert values == ["3000", "123456", "1500", "1250", None, None]
    assert rejects == {5: AMBIGUOUS, 6: NOT_IN_FORM}


def test_each_currency_normalizes_each_distinct_amount_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Grouped by currency, not per row: a normalizer per currency, each amount once."""
    seen: list[tuple[str | None, list[str]]] = []

    def counting(
        major: bool, decimal: str = ".", currency: str | None = "USD", column: str = ""
    ) -> DistinctNormalizer:
        inner = money_distinct(major, decimal, currency, column)  # type: ignore[arg-type]

        def run(present: pd.Series) -> tuple[pd.Series, pd.Series]:
            seen.append((currency, sorted(present.tolist())))
            return inner(present)

        return run

    monkeypatch.setattr(frame_module, "money_distinct", counting)
    rows = 3000
    amounts = ["10", "20", "10.5"] * (rows // 3)
    currencies = ["usd", "JPY", "JPY", "USD", "bhd", "usd"] * (rows // 6)
    values, rejects = _normalized(amounts, currencies)  # type: ignore[arg-type]
    assert sorted(seen) == [("BHD", ["20"]), ("JPY", ["10.5", "20"]), ("USD", ["10", "10.5"])]
    assert values[:6] == ["1000", "20", None, "1000", "20000", "1050"]
    assert len(rejects) == rows // 6


AMOUNTS = ["12", "12.34", "1.250", "1500.5", "30,00", "1.234,56", "1,000", "1.234", "x", " 7 "]
CURRENCIES = ["usd", "JPY", "bhd", "krw", "zzz", "", " EUR "]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from([*AMOUNTS, None]), st.sampled_from([*CURRENCIES, None])),
        max_size=30,
    ),
    decimal=st.sampled_from([".", ","]),
)
def test_grouping_by_currency_gives_what_each_row_alone_gives(
    rows: list[tuple[str | None, str | None]], decimal: str
) -> None:
    """normalize_frame's per-currency grouping answers each row as the one-currency normalizer
    of its currency would (blank: USD; unknown: rejected)."""
    amounts = [amount for amount, _ in rows]
    values, rejects = _normalized(amounts, [c for _, c in rows], decimal=decimal)
    for row, (amount, currency) in enumerate(rows):
        code: str | None = "USD"
        if currency is not None and currency.strip():
            found, _ = currency_distinct("upper")(pd.Series([currency.strip()], dtype="str"))
            code = None if pd.isna(found.iloc[0]) else str(found.iloc[0])
        if amount is None:
            expected: tuple[str | None, str | None] = (None, None)
        else:
            expected = one(money_distinct(True, decimal, code, COLUMN), amount)  # type: ignore[arg-type]
        assert (values[row], rejects.get(row + 1)) == expected

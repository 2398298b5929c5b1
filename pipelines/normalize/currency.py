"""Currency codes to ISO 4217 in the case each Kindful format asks for.

contact_with_transaction wants lower case ("usd"); pledges, non-cash gifts and soft credits want
upper case ("USD"). Sending a code Kindful does not know fails the whole row, so unknown codes
are reported rather than passed on.

Each code also says how many decimals its major unit has (ISO 4217's exponent, from babel's CLDR
data: USD 2, JPY 0, BHD 3), which is what turns "12.34" dollars into Kindful's minor units.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
import pycountry
from babel.numbers import get_currency_precision

from pipelines.normalize.core import DistinctNormalizer, na_series

PROBLEM = "unknown currency"
# The currency of a row that names none: Kindful's own default (001's examples are all "usd"),
# and what every amount in major units was converted with before currencies were told apart.
DEFAULT_CURRENCY = "USD"

_CODES: dict[str, str] = {
    code: code for code in (str(c.alpha_3).upper() for c in pycountry.currencies)
}
# Symbols that name one currency in practice for a US-based CRM.
_CODES.update({"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP"})


def currency_distinct(case: Literal["lower", "upper"]) -> DistinctNormalizer:
    """ISO 4217 codes in any case ("usd", "Usd"), or "$", to the code in `case`.

    Unknown codes -> NA + "unknown currency".
    """
    if case not in ("lower", "upper"):
        raise ValueError(f"case must be 'lower' or 'upper', not {case!r}")

    def distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
        code = present.str.upper().map(_CODES)
        if case == "lower":
            code = code.str.lower()
        return code.astype(object).where(code.notna(), pd.NA), na_series(present.index).mask(
            code.isna(), PROBLEM
        )

    return distinct


def minor_unit_exponent(code: str) -> int:
    """Decimals of `code`'s major unit ("JPY" 0, "USD" 2, "BHD" 3; any case); 2 for a code
    CLDR does not list."""
    return int(get_currency_precision(code.upper()))

"""Currency codes to ISO 4217 in the case each Kindful format asks for.

contact_with_transaction wants lower case ("usd"); pledges, non-cash gifts and soft credits want
upper case ("USD"). Sending a code Kindful does not know fails the whole row, so unknown codes
are reported rather than passed on.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
import pycountry

from pipelines.normalize.core import DistinctNormalizer, na_series

PROBLEM = "unknown currency"

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

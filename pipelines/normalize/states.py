"""US states to the two-letter code Kindful expects ("state abbreviation TN,NY")."""

from __future__ import annotations

import pandas as pd
import us

from pipelines.normalize.core import na_series


def _build_lookup() -> dict[str, str]:
    """lower-cased code, name and AP abbreviation ("tenn.") -> USPS code, from the `us` package."""
    table: dict[str, str] = {}
    places = [*us.states.STATES_AND_TERRITORIES, us.states.DC, *us.states.ASSOCIATED_STATES]
    for place in places:
        code = str(place.abbr)
        for spelling in (place.abbr, place.name, getattr(place, "ap_abbr", None)):
            if spelling:
                table[" ".join(str(spelling).split()).lower()] = code
    return table


_STATES = _build_lookup()


def states_distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """State names, codes, AP abbreviations in any case ("tennessee", "Tn", "Tenn.") -> "TN".

    Anything else is left untouched with no problem: non-US addresses put provinces and regions
    here, which are legitimate and must pass through.
    """
    key = present.str.split().str.join(" ").str.lower()
    mapped = key.map(_STATES)
    return mapped.fillna(present).astype(object), na_series(present.index)

"""Countries to pycountry's ISO 3166 short name, the spelling Kindful lists ("United States").

Kindful accepts the full name or the alpha-2 code; the name is chosen because it is also what
Kindful shows back, so re-imports compare equal. pycountry's `name` is used even where it differs
from everyday usage ("Korea, Republic of"), so one country never has two spellings.
"""

from __future__ import annotations

import pandas as pd
import pycountry

from pipelines.normalize.core import na_series

PROBLEM = "unknown country"

# Everyday names pycountry does not carry (it has "USA", "US" and "United States of America"),
# by alpha-2 code, resolved through pycountry below.
_ALIASES: dict[str, str] = {
    "america": "US",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "russia": "RU",
    "turkey": "TR",
    "vatican": "VA",
    "vatican city": "VA",
    "macedonia": "MK",
    "swaziland": "SZ",
    "cape verde": "CV",
    "burma": "MM",
    "ivory coast": "CI",
    "holland": "NL",
    "palestine": "PS",
}


def _key(text: pd.Series) -> pd.Series:
    """Comparison key blind to case, accents, dots/apostrophes, other punctuation and "the".

    "U.S.A." -> "usa", "Côte d'Ivoire" -> "cote divoire", "Korea, Republic of" ->
    "korea republic of", "The Bahamas" -> "bahamas".
    """
    return (
        text.str.normalize("NFKD")
        .str.replace(r"[\u0300-\u036f]", "", regex=True)
        .str.casefold()
        .str.replace("&", " and ", regex=False)
        .str.replace(r"[.'’]", "", regex=True)
        .str.replace(r"[^\w\s]", " ", regex=True)
        .str.split()
        .str.join(" ")
        .str.removeprefix("the ")
    )


def _build_lookup() -> dict[str, str]:
    spellings: list[str] = []
    names: list[str] = []
    for country in pycountry.countries:
        for field in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            spelling = getattr(country, field, None)
            if spelling:
                spellings.append(str(spelling))
                names.append(str(country.name))
    for alias, code in _ALIASES.items():
        target = pycountry.countries.get(alpha_2=code)
        if target is None:  # only if a pycountry update drops a code
            raise LookupError(f"country alias {alias!r} points at unknown code {code!r}")
        spellings.append(alias)
        names.append(str(target.name))
    keys = _key(pd.Series(spellings, dtype="str"))
    return dict(zip(keys.tolist(), names, strict=True))


_COUNTRIES = _build_lookup()


def countries_distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Codes, names and common aliases (any case) -> pycountry's `name` ("USA" -> "United States").

    Unrecognised values are kept as given with the problem "unknown country", so the caller can
    warn instead of dropping an address.
    """
    mapped = _key(present).map(_COUNTRIES)
    problems = na_series(present.index).mask(mapped.isna(), PROBLEM)
    return mapped.fillna(present).astype(object), problems

"""Pick-list columns (gender, transaction_type, note_type...) to Kindful's exact spelling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from pipelines.normalize.core import DistinctNormalizer, na_series

_GENDERS: dict[str, str] = {
    "m": "M",
    "male": "M",
    "f": "F",
    "female": "F",
    "u": "U",
    "unknown": "U",
}


def _key(text: pd.Series) -> pd.Series:
    """Case- and whitespace-blind comparison key: "Sent  email" and "sentEmail" -> "sentemail"."""
    return text.str.replace(r"\s+", "", regex=True).str.casefold()


def _lookup(table: Mapping[str, str]) -> DistinctNormalizer:
    def distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
        mapped = _key(present).map(table)
        return mapped.fillna(present).astype(object), na_series(present.index)

    return distinct


# M/F/U or Male/Female/Unknown in any case -> "M"/"F"/"U"; other values kept, no problem: the
# schema rejects them, so its message shows what the source said.
gender_distinct = _lookup(_GENDERS)


def choices_distinct(allowed: Sequence[str]) -> DistinctNormalizer:
    """Match case- and whitespace-insensitively to the canonical spelling in `allowed`.

    "payroll deduction" -> "Payroll Deduction". Unmatched values are kept as given with no
    problem (the schema rejects them). If two allowed spellings share a key, neither is chosen
    for a non-exact input, since picking one would be a guess.
    """
    keys = _key(pd.Series(list(allowed), dtype="str"))
    table: dict[str, str] = {}
    ambiguous: set[str] = set()
    for key, canonical in zip(keys.tolist(), allowed, strict=True):
        if key in table and table[key] != canonical:
            ambiguous.add(key)
        table.setdefault(key, canonical)
    for key in ambiguous:
        del table[key]
    # exact spellings always map to themselves, even when their key is ambiguous
    exact = set(allowed)

    def distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
        mapped = _key(present).map(table)
        keep = present.isin(exact) | mapped.isna()
        return mapped.where(~keep, present).astype(object), na_series(present.index)

    return distinct

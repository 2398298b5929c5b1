"""A normalizer's answers spread back to a column's rows (`core.spread`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Normalized:
    """A normalizer's output for one column.

    `values` holds the canonical string for each cell, or NA where the cell was empty or could
    not be used. `problems` holds NA where all is well, else a short reason ("unparseable
    timestamp"). A problem with a value still present means "kept as given" (unknown country);
    a problem with NA means the input could not be normalized. Both share the input's index.
    """

    values: pd.Series
    problems: pd.Series

"""Yes/no columns to the "true"/"false" Kindful documents for every boolean field."""

from __future__ import annotations

import pandas as pd

from pipelines.normalize.core import na_series

# Kindful lists Y,N,0,1,true,false and True/False/Yes/No; spreadsheets add 1.0/0.0.
_TRUTH: dict[str, str] = {
    **dict.fromkeys(["y", "yes", "t", "true", "1", "1.0"], "true"),
    **dict.fromkeys(["n", "no", "f", "false", "0", "0.0"], "false"),
}


def booleans_distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Y/N, Yes/No, T/F, 1/0, true/false (any case) -> "true"/"false".

    Anything else is kept as given without a problem: the schema's allowed-values check rejects
    it with the original text in the message.
    """
    mapped = present.str.lower().map(_TRUTH)
    return mapped.fillna(present).astype(object), na_series(present.index)

"""CSV text exactly as pandas' `to_csv(index=False)` writes it, at about twice the speed.

`DataFrame.to_csv` spends most of its time preparing each block for the `csv` module (masking
missing values, per-chunk copies); for frames of text, numbers and missing values the same bytes
come from handing the `csv` module plain per-column lists with missing values as "". Frames with
other dtypes (floats, dates, categories) are left to pandas, whose formatting they need.
"""

from __future__ import annotations

import csv
from typing import Any, TextIO

import numpy as np
import pandas as pd

__all__ = ["write_csv"]


def write_csv(
    frame: pd.DataFrame, handle: TextIO, *, header: bool = True, lineterminator: str = "\n"
) -> None:
    """Write `frame` to `handle` (opened with newline="") like `frame.to_csv(handle, ...)`."""
    columns = _plain_columns(frame)
    if columns is None:
        frame.to_csv(handle, header=header, index=False, lineterminator=lineterminator)
        return
    writer = csv.writer(handle, lineterminator=lineterminator)
    if header:
        writer.writerow([str(name) for name in frame.columns])
    if len(frame):
        writer.writerows(zip(*columns, strict=True))


def _plain_columns(frame: pd.DataFrame) -> list[list[Any]] | None:
    """Each column as a list with missing values as "", or None if pandas must format one."""
    if frame.columns.nlevels != 1 or not frame.columns.is_unique:
        return None
    columns: list[list[Any]] = []
    for _, series in frame.items():
        dtype = series.dtype
        if not (
            pd.api.types.is_object_dtype(dtype)
            or isinstance(dtype, pd.StringDtype)
            or pd.api.types.is_integer_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
        ) or isinstance(dtype, pd.CategoricalDtype):
            return None
        # pandas hands object values to the csv module as they are, so no formatting is lost
        values = np.array(series.to_numpy(dtype=object), dtype=object)
        values[pd.isna(values)] = ""
        columns.append(values.tolist())
    return columns

"""One pandera schema per Kindful import format, generated from the column table.

Column-level rules (presence, length, allowed values, canonical form, sign) live on the schema's
columns, built from `schemas.rules.constraints`. Rules that depend on the run (action, match_by)
or span columns are row rules: vectorized boolean masks attached as dataframe-level checks by
`validation_schema`.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera import extensions

from schemas import rules
from schemas.columns import FORMATS, Column, Required
from schemas.rules import (
    DATE_FORM,
    INTEGER_FORM,
    TIMESTAMP_FORM,
    RowRule,
    constraints,
    row_rules,
    run_rules,
)

__all__ = [
    "DATE_FORM",
    "INTEGER_FORM",
    "TIMESTAMP_FORM",
    "RowRule",
    "row_rules",
    "schema_columns",
    "validation_schema",
]


@extensions.register_check_method(statistics=[])  # type: ignore[untyped-decorator]
def positive_amount(values: pd.Series) -> pd.Series:
    """`Field(positive_amount=())`: schemas.rules.positive_amount."""
    return rules.positive_amount(values)


def _field(column: Column) -> Any:
    """The column's pandera field: its checks, and nullable unless the value is required."""
    return pa.Field(nullable=column.required is not Required.YES, **constraints(column))


@functools.cache
def validation_schema(
    fmt_name: str, action: str = "create", contact_match: str | None = None
) -> tuple[pa.DataFrameSchema, tuple[RowRule, ...]]:
    """The format's columns as a schema, plus this run's row rules as dataframe-level checks.

    Custom fields pass through (not strict), and nothing is coerced: every value is a string.
    Cached: building it costs ~50 ms, and a run asks for the same one for every chunk.
    """
    rules = run_rules(fmt_name, action, contact_match)
    checks = [pa.Check(rule.passes, error=rule.reason, ignore_na=False) for rule in rules]
    schema = pa.DataFrameSchema(
        columns=schema_columns(fmt_name), checks=checks, strict=False, name=fmt_name, coerce=False
    )
    return schema, rules


@functools.cache
def schema_columns(fmt_name: str) -> dict[str, pa.Column]:
    """One `str` column per column of the format's table, in its order, each with its `_field`.

    A column is never required in the frame: a missing column is a file error found earlier.
    (Built from the fields directly, not through a DataFrameModel's `to_schema()`: that resolves
    annotations through every dataframe library pandera supports and so imports dask, ~1 s per
    process.)
    """
    return {
        column.name: pa.Column(
            **_field(column).column_properties(str, required=False, name=column.name)
        )
        for column in FORMATS[fmt_name].columns
    }

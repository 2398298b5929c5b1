"""One pandera schema per Kindful import format, generated from the column table.

Column-level rules (presence, length, allowed values, canonical form, sign) live on the schema's
columns. Rules that depend on the run (action, match_by) or span columns are row rules: vectorized
boolean masks attached as dataframe-level checks by `validation_schema`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera import extensions

from schemas.columns import CONTACT_MATCH_KEYS, FORMATS, Column, ImportFormat, Kind, Required

TIMESTAMP_FORM = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$"
DATE_FORM = r"^\d{4}-\d{2}-\d{2}$"
INTEGER_FORM = r"^-?\d+$"

_FORMS: dict[Kind, str] = {
    Kind.TIMESTAMP: TIMESTAMP_FORM,
    Kind.DATE: DATE_FORM,
    Kind.CENTS: INTEGER_FORM,
    Kind.INTEGER: INTEGER_FORM,
    Kind.CURRENCY_LOWER: r"^[a-z]{3}$",
    Kind.CURRENCY_UPPER: r"^[A-Z]{3}$",
}


@extensions.register_check_method(statistics=[])  # type: ignore[untyped-decorator]
def positive_amount(values: pd.Series) -> pd.Series:
    """Amounts the reference marks "Must be > 0" (cents as integer strings)."""
    return pd.to_numeric(values, errors="coerce") > 0


def _field(column: Column) -> Any:
    """The column's pandera field: its checks, and nullable unless the value is required."""
    # Presence is checked on values, not on the header: a missing required column is a file
    # error raised before validation (`pipelines.transform.required_columns`).
    constraints: dict[str, Any] = {}
    if column.max_length is not None:
        constraints["str_length"] = {"max_value": column.max_length}
    if column.kind in _FORMS:
        constraints["str_matches"] = _FORMS[column.kind]
    if column.kind is Kind.BOOLEAN:
        constraints["isin"] = ["true", "false"]
    if column.allowed is not None:
        constraints["isin"] = list(column.allowed)
    if column.positive:
        constraints["positive_amount"] = ()
    return pa.Field(nullable=column.required is not Required.YES, **constraints)


@dataclass(frozen=True)
class RowRule:
    """A cross-column presence rule: a row passes when every column of some group has a value."""

    label: str  # the columns a reject names
    reason: str
    groups: tuple[tuple[str, ...], ...]

    def passes(self, frame: pd.DataFrame) -> pd.Series:
        """Vectorized mask of passing rows (pandera calls this as a dataframe-level check)."""
        ok = pd.Series(False, index=frame.index)
        for group in self.groups:
            present = pd.Series(True, index=frame.index)
            for name in group:
                present &= frame[name].notna() if name in frame.columns else False
            ok |= present
        return ok


def row_rules(fmt: ImportFormat, action: str, contact_match: str | None) -> list[RowRule]:
    """The run's cross-column rules for one format."""
    rules: list[RowRule] = []
    if fmt.has_contact:
        # 001: first_name/last_name "Yes unless company_name is populated".
        rules.append(
            RowRule(
                "first_name/last_name/company_name",
                "needs first_name and last_name, or company_name",
                (("first_name", "last_name"), ("company_name",)),
            )
        )
    if action == "update":
        rules += [
            RowRule(c.name, f"{c.name} is required when action is update", ((c.name,),))
            for c in fmt.columns
            if c.required is Required.ON_UPDATE
        ]
    if fmt.one_of:
        rules.append(
            RowRule(
                "/".join(fmt.one_of),
                f"needs one of {', '.join(fmt.one_of)}",
                tuple((c,) for c in fmt.one_of),
            )
        )
    if fmt.has_contact and contact_match is not None:
        # Names are covered above; a row without an id simply matches nothing.
        rules += [
            RowRule(key, f"{key} is required to match contacts by {contact_match}", ((key,),))
            for key in CONTACT_MATCH_KEYS.get(contact_match, ())
            if key not in ("first_name", "last_name", "company_name", "id")
        ]
    return rules


@functools.cache
def validation_schema(
    fmt_name: str, action: str = "create", contact_match: str | None = None
) -> tuple[pa.DataFrameSchema, list[RowRule]]:
    """The format's columns as a schema, plus this run's row rules as dataframe-level checks.

    Custom fields pass through (not strict), and nothing is coerced: every value is a string.
    Cached: building it costs ~50 ms, and a run asks for the same one for every chunk.
    """
    rules = row_rules(FORMATS[fmt_name], action, contact_match)
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

"""What each Kindful import format's columns and rows must satisfy, without pandera.

The column table (schemas/columns.py) says what a column is; here that becomes its checks, as
pandera names them, with their statistics: the pandera schema is built from exactly these
(schemas/models.py), and validation screens values against them before it imports pandera at
all (~0.2 s of every run's start), which it does only for values a screen cannot settle.
Row rules (presence across columns, by action and match_by) are plain vectorized masks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pandas as pd

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


def positive_amount(values: pd.Series) -> pd.Series:
    """Amounts the reference marks "Must be > 0" (cents as integer strings)."""
    return pd.to_numeric(values, errors="coerce") > 0


def constraints(column: Column) -> dict[str, Any]:
    """The column's pandera checks as `pa.Field` keywords (pandera orders them its own way)."""
    # Presence is checked on values, not on the header: a missing required column is a file
    # error raised before validation (`pipelines.transform.required_columns`).
    found: dict[str, Any] = {}
    if column.max_length is not None:
        found["str_length"] = {"max_value": column.max_length}
    if column.kind in _FORMS:
        found["str_matches"] = _FORMS[column.kind]
    if column.kind is Kind.BOOLEAN:
        found["isin"] = ["true", "false"]
    if column.allowed is not None:
        found["isin"] = list(column.allowed)
    if column.positive:
        found["positive_amount"] = ()
    return found


@dataclass(frozen=True)
class CheckRule:
    """One check of a column: pandera's name for it, its statistics, the name a failure gets."""

    name: str
    statistics: dict[str, Any]
    failure: str


@dataclass(frozen=True)
class ColumnRules:
    """A column's checks in pandera's order; `nullable`: a missing value passes."""

    name: str
    nullable: bool
    checks: tuple[CheckRule, ...]


def _check_rule(name: str, value: Any) -> CheckRule:
    if name == "str_length":
        stats = {"min_value": None, "max_value": value["max_value"], "exact_value": None}
        return CheckRule(name, stats, f"str_length(None, {value['max_value']!r})")
    if name == "str_matches":
        return CheckRule(name, {"pattern": value}, f"str_matches('{value}')")
    if name == "isin":
        return CheckRule(name, {"allowed_values": list(value)}, f"isin({list(value)!r})")
    return CheckRule(name, {}, name)  # a registered check method: no error text of its own


# pandera's Field makes its checks in this order, whatever order they are given in
_PANDERA_ORDER = ("isin", "str_matches", "str_length", "positive_amount")


def _ordered(found: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(found.items(), key=lambda item: _PANDERA_ORDER.index(item[0]))


@functools.cache
def column_rules(fmt_name: str) -> dict[str, ColumnRules]:
    """Every column of the format with its checks (pandera's, tests/schemas prove it)."""
    return {
        column.name: ColumnRules(
            column.name,
            column.required is not Required.YES,
            tuple(_check_rule(name, value) for name, value in _ordered(constraints(column))),
        )
        for column in FORMATS[fmt_name].columns
    }


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


@functools.cache
def run_rules(fmt_name: str, action: str, contact_match: str | None) -> tuple[RowRule, ...]:
    """`row_rules` of a run, built once (validation asks for them for every chunk); a tuple,
    since every caller shares the cached one."""
    return tuple(row_rules(FORMATS[fmt_name], action, contact_match))


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

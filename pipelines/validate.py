"""Validate normalized rows with the format's pandera model and turn failures into rejects."""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa

from pipelines.normalize import ISSUE_COLUMNS
from schemas.models import validation_schema

_CHECK_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^not_nullable$"), "required value missing"),
    (re.compile(r"^str_length\(None, (\d+)\)$"), "longer than {0} characters"),
    (re.compile(r"^isin\(\[?'true', 'false'\]?\)$"), "not a boolean (true/false)"),
    (re.compile(r"^isin\(\[?(.*?)\]?\)$"), "not one of {0}"),
    (re.compile(r"^positive_amount"), "must be greater than 0"),
    (re.compile(r"^str_matches"), "not in the canonical form"),
]


def reason_for(check: str) -> str:
    """A reader's reason for a pandera check name (`str_length(None, 255)` -> "longer than ...")."""
    for pattern, template in _CHECK_REASONS:
        match = pattern.match(check)
        if match:
            groups = [g.replace("'", "").replace(", ", "/") for g in match.groups()]
            return template.format(*groups)
    return check


def validate_frame(
    normalized: pd.DataFrame,
    raw: pd.DataFrame,
    data_format: str,
    action: str,
    contact_match: str | None,
) -> pd.DataFrame:
    """Reject issues (ISSUE_COLUMNS) for every row the schema refuses; values come from `raw`."""
    schema, rules = validation_schema(data_format, action, contact_match)
    try:
        schema.validate(normalized, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return _failures_to_issues(errors.failure_cases, raw, {r.reason: r.label for r in rules})
    return pd.DataFrame(columns=ISSUE_COLUMNS)


def _failures_to_issues(
    failures: pd.DataFrame, raw: pd.DataFrame, rule_labels: dict[str, str]
) -> pd.DataFrame:
    failures = failures[failures["index"].notna()]
    row_level = failures["schema_context"] == "DataFrameSchema"
    # A dataframe-level check reports every column of a failing row: keep one per row and rule.
    rows = failures[row_level].drop_duplicates(["index", "check"])
    cells = failures[~row_level]
    cell_parts = []
    for column, group in cells.groupby("column", sort=False):
        index = pd.Index(group["index"].astype("int64"))
        source = raw[column] if column in raw.columns else pd.Series(pd.NA, index=raw.index)
        checks = group["check"].astype(str)
        reasons = checks.map({c: reason_for(c) for c in checks.unique()})
        cell_parts.append(
            pd.DataFrame(
                {
                    "source_row": index + 1,
                    "column": column,
                    "value": source.loc[index].tolist(),
                    "reason": reasons.to_numpy(),
                },
                columns=ISSUE_COLUMNS,
            )
        )
    row_issues = pd.DataFrame(
        {
            "source_row": rows["index"].astype("int64").to_numpy() + 1,
            "column": [rule_labels.get(str(c), "") for c in rows["check"]],
            "value": pd.NA,
            "reason": rows["check"].astype("object").to_numpy(),
        },
        columns=ISSUE_COLUMNS,
    )
    return pd.concat([*cell_parts, row_issues], ignore_index=True)

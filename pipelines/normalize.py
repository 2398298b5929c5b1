"""Normalize a mapped frame into the one form Kindful accepts, column by column.

Each column's kind (from the column table) picks its normalizer; this module decides what a
normalizer's problem means for the row: a reject, a cleared value with a warning, or a value kept
as given with a warning. Defaults the reference prescribes are filled here, with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pandas as pd

from pipelines.mapping import Unit
from pipelines.normalize_booleans import normalize_booleans
from pipelines.normalize_choices import normalize_choices, normalize_gender
from pipelines.normalize_countries import normalize_countries
from pipelines.normalize_currency import normalize_currency
from pipelines.normalize_dates import normalize_dates
from pipelines.normalize_emails import normalize_emails
from pipelines.normalize_integers import normalize_integers
from pipelines.normalize_money import normalize_cents, normalize_dollars
from pipelines.normalize_states import normalize_states
from pipelines.normalize_strings import normalize_strings
from pipelines.normalize_timestamps import normalize_timestamps
from pipelines.normalized import Normalized
from pipelines.run_options import RunOptions
from schemas.columns import Column, ImportFormat, Kind, Required

ISSUE_COLUMNS = ["source_row", "column", "value", "reason"]


@dataclass(frozen=True)
class NormalizeResult:
    """Normalized values plus the per-cell rejects and warnings found on the way."""

    frame: pd.DataFrame
    rejects: pd.DataFrame  # ISSUE_COLUMNS
    warnings: pd.DataFrame  # ISSUE_COLUMNS


def issues(
    mask: pd.Series, column: str, raw: pd.Series | None, reason: pd.Series | str
) -> pd.DataFrame:
    """Issue rows (source_row is 1-based) for the cells selected by `mask`."""
    index = mask.index[mask.to_numpy(dtype=bool)]
    reasons: list[object] = (
        reason.loc[index].tolist() if isinstance(reason, pd.Series) else [reason] * len(index)
    )
    values: list[object] = raw.loc[index].tolist() if raw is not None else [pd.NA] * len(index)
    return pd.DataFrame(
        {"source_row": index + 1, "column": column, "value": values, "reason": reasons},
        columns=ISSUE_COLUMNS,
    )


def _normalizer(
    column: Column, units: dict[str, Unit], options: RunOptions
) -> Callable[[pd.Series], Normalized] | None:
    kind = column.kind
    if kind is Kind.CENTS:
        return normalize_dollars if units.get(column.name) == "dollars" else normalize_cents
    table: dict[Kind, Callable[[pd.Series], Normalized]] = {
        Kind.EMAIL: normalize_emails,
        Kind.TIMESTAMP: partial(normalize_timestamps, source_tz=options.source_timezone),
        Kind.DATE: partial(normalize_dates, day_first=options.day_first),
        Kind.INTEGER: normalize_integers,
        Kind.BOOLEAN: normalize_booleans,
        Kind.GENDER: normalize_gender,
        Kind.STATE: normalize_states,
        Kind.COUNTRY: normalize_countries,
        Kind.CURRENCY_LOWER: partial(normalize_currency, case="lower"),
        Kind.CURRENCY_UPPER: partial(normalize_currency, case="upper"),
    }
    if kind is Kind.CHOICE and column.allowed is not None:
        return partial(normalize_choices, allowed=column.allowed)
    normalizer: Callable[[pd.Series], Normalized] | None = table.get(kind)
    return normalizer


def _problem_rejects(column: Column, options: RunOptions) -> bool:
    """Whether a value this column could not normalize rejects the row (else: cleared)."""
    if column.kind in (Kind.CENTS, Kind.INTEGER):
        return True  # money and quantities are never guessed
    if column.required is Required.YES:
        return True
    if column.required is Required.ON_UPDATE and options.action == "update":
        return True
    return column.name == "email" and options.matches_by_email


def normalize_frame(
    mapped: pd.DataFrame,
    fmt: ImportFormat,
    units: dict[str, Unit],
    options: RunOptions,
) -> NormalizeResult:
    """Normalize every Kindful column of `mapped`; custom fields pass through untouched."""
    rejects: list[pd.DataFrame] = []
    warnings: list[pd.DataFrame] = []
    out: dict[str, pd.Series] = {}
    for column in fmt.columns:
        if column.name not in mapped.columns:
            continue
        raw = mapped[column.name]
        cleaned = normalize_strings(raw).values
        normalizer = _normalizer(column, units, options)
        if normalizer is None:
            out[column.name] = cleaned
            continue
        result = normalizer(cleaned)
        out[column.name] = result.values
        problem = result.problems.notna()
        if not problem.any():
            continue
        kept = problem & result.values.notna()
        failed = problem & result.values.isna()
        if kept.any():
            warnings.append(issues(kept, column.name, raw, result.problems + ", kept as given"))
        if failed.any():
            if _problem_rejects(column, options):
                rejects.append(issues(failed, column.name, raw, result.problems))
            else:
                warnings.append(issues(failed, column.name, raw, result.problems + ", cleared"))
    frame = pd.DataFrame(out, index=mapped.index)
    warnings += _fill_defaults(frame, fmt, options)
    ordered = [c for c in fmt.names if c in frame.columns]
    frame = frame[ordered]
    for custom in options.custom_fields:
        if custom in mapped.columns and custom not in frame.columns:
            frame[custom] = mapped[custom]
    return NormalizeResult(frame, _concat(rejects), _concat(warnings))


def _fill_defaults(
    frame: pd.DataFrame, fmt: ImportFormat, options: RunOptions
) -> list[pd.DataFrame]:
    """Fill the reference's defaults in place and return the warnings saying so."""
    warnings: list[pd.DataFrame] = []
    for column in fmt.columns:
        if column.default is not None:
            # 001: fund "Yes (if unknown, pass 'General')".
            current = frame.get(column.name, pd.Series(pd.NA, index=frame.index, dtype="object"))
            blank = current.isna()
            if column.default_unless in frame.columns:
                blank &= frame[column.default_unless].isna()
            if blank.any():
                frame[column.name] = current.where(~blank, column.default)
                reason = f"blank {column.name} defaulted to {column.default}"
                warnings.append(issues(blank, column.name, None, reason))
        if (
            column.default_from is not None
            and options.action == "update"
            and column.default_from in frame.columns
        ):
            # 001: "<record>_updated_at ... If not specified it will be set to <record>_time".
            current = frame.get(column.name, pd.Series(pd.NA, index=frame.index, dtype="object"))
            source = frame[column.default_from]
            fill = current.isna() & source.notna()
            if fill.any():
                frame[column.name] = current.where(~fill, source)
                reason = f"blank {column.name} set to {column.default_from}"
                warnings.append(issues(fill, column.name, None, reason))
    return warnings


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return pd.concat(frames, ignore_index=True)

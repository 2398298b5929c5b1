"""Normalize a mapped frame into the one form Kindful accepts, column by column.

Each column's kind (from the column table) picks its normalizer; this module decides what a
normalizer's problem means for the row: a reject, a cleared value with a warning, or a value kept
as given with a warning. Defaults the reference prescribes are filled here, with a warning.

Money in major units (the mapping's `dollars`) becomes minor units by each row's currency (the
format's currency column; a row without one is in DEFAULT_CURRENCY): the column's rows are
grouped by currency, and each group is normalized once per distinct amount.

The Kindful columns come out Arrow-backed ("str", missing as NaN), as the reader's columns come
in: ids, validation and the output writers read them as Arrow strings, and a value becomes a
Python string only where some rule needs Python (a dirty or padded value, an odd email).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from pipelines.mapping.spec import Unit
from pipelines.normalize.arrow_text import arrow_from_objects, arrow_text, text_array, valid_mask
from pipelines.normalize.booleans import booleans_distinct
from pipelines.normalize.choices import choices_distinct, gender_distinct
from pipelines.normalize.core import (
    DistinctNormalizer,
    clean_distinct,
    cleaned_text,
    control_characters_fixed,
    distinct,
    has_no_control_characters,
)
from pipelines.normalize.countries import countries_distinct
from pipelines.normalize.currency import DEFAULT_CURRENCY, currency_distinct
from pipelines.normalize.dates import dates_distinct
from pipelines.normalize.emails import emails_distinct
from pipelines.normalize.integers import integers_distinct
from pipelines.normalize.money import DecimalMark, money_distinct
from pipelines.normalize.states import states_distinct
from pipelines.normalize.timestamps import timestamps_distinct
from pipelines.transform.options import RunOptions
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


def _normalizer(column: Column, options: RunOptions) -> DistinctNormalizer | None:
    """The column's normalizer, applied to its distinct cleaned values (`clean_distinct`); None
    for a column that is only cleaned. Money is `_money_normalizers`'."""
    kind = column.kind
    if kind is Kind.CHOICE and column.allowed is not None:
        return choices_distinct(column.allowed)
    if kind is Kind.TIMESTAMP:
        return timestamps_distinct(options.source_timezone)
    if kind is Kind.DATE:
        return dates_distinct(options.day_first)
    if kind is Kind.CURRENCY_LOWER:
        return currency_distinct("lower")
    if kind is Kind.CURRENCY_UPPER:
        return currency_distinct("upper")
    table: dict[Kind, DistinctNormalizer] = {
        Kind.EMAIL: emails_distinct,
        Kind.INTEGER: integers_distinct,
        Kind.BOOLEAN: booleans_distinct,
        Kind.GENDER: gender_distinct,
        Kind.STATE: states_distinct,
        Kind.COUNTRY: countries_distinct,
    }
    return table.get(kind)


def _currency_groups(
    mapped: pd.DataFrame, fmt: ImportFormat
) -> tuple[np.ndarray, list[str | None]]:
    """Each row's currency as a group number, and the groups' upper-case ISO codes (None: a code
    the currency normalizer does not know). Rows without a currency, and every row of a format
    or frame without a currency column, are in DEFAULT_CURRENCY."""
    name = next(
        (c.name for c in fmt.columns if c.kind in (Kind.CURRENCY_LOWER, Kind.CURRENCY_UPPER)),
        None,
    )
    if name is None or name not in mapped.columns:
        return np.zeros(len(mapped), dtype=np.intp), [DEFAULT_CURRENCY]
    codes, uniques = distinct(mapped[name])
    cleaned = clean_distinct(uniques)
    found, _ = currency_distinct("upper")(cleaned)
    unknown = "\x00"  # no ISO code holds it
    keys = np.full(len(uniques) + 1, DEFAULT_CURRENCY, dtype=object)  # blank: the default
    keys[cleaned.index.to_numpy(dtype=np.intp)] = unknown
    known = found.dropna()
    keys[known.index.to_numpy(dtype=np.intp)] = known.to_numpy(dtype=object)
    groups, names = pd.factorize(keys.take(codes))
    if not len(names):  # no rows
        return np.asarray(groups, dtype=np.intp), [DEFAULT_CURRENCY]
    return np.asarray(groups, dtype=np.intp), [None if n == unknown else str(n) for n in names]


def _groups(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """`distinct`'s codes and values, except for an Arrow-backed column whose first values do
    not repeat (timestamps, emails): its present values are its "distinct" values, as they
    are, and the normalizer meets the rare repeat twice. Hashing every value to find the few
    repeats would cost more than normalizing them again."""
    array = arrow_text(values)
    if array is None or not _barely_repeats(array):
        return distinct(values)
    present = valid_mask(array)
    codes = np.full(len(array), -1, dtype=np.intp)
    codes[present] = np.arange(int(present.sum()))
    return codes, pd.Series(array.drop_null(), dtype="str")


def _barely_repeats(array: pa.Array, sample: int = 4096) -> bool:
    """Whether the array's first `sample` present values are nearly all different."""
    head = array.slice(0, sample).drop_null()
    return len(head) > 0 and len(pc.unique(head)) >= 0.9 * len(head)


def _money_normalizers(
    column: Column,
    units: dict[str, Unit],
    decimal: DecimalMark,
    currencies: list[str | None],
) -> list[DistinctNormalizer]:
    """A money column's normalizer per currency group: one for amounts in cents (the currency
    does not change them), one per group for amounts in major units."""
    if units.get(column.name) != "dollars":
        return [money_distinct(major=False, decimal=decimal, column=column.name)]
    return [
        money_distinct(major=True, decimal=decimal, currency=code, column=column.name)
        for code in currencies
    ]


def _by_group(
    codes: np.ndarray,
    uniques: pd.Series,
    groups: np.ndarray,
    normalizers: list[DistinctNormalizer],
) -> tuple[np.ndarray, int, pd.Series, pd.Series]:
    """Normalize each distinct (value, group) pair with its group's normalizer: new codes (-1
    for a missing cell) and the number of pairs, then found values and problems by pair."""
    size = len(normalizers)
    present = codes >= 0
    pair_codes = np.full(len(codes), -1, dtype=np.intp)
    sub_codes, pairs = pd.factorize(codes[present] * size + groups[present])
    pair_codes[present] = sub_codes
    pairs = np.asarray(pairs, dtype=np.intp)
    texts = pd.Series(text_array(uniques).take(pairs // size), dtype="str")
    cleaned = clean_distinct(texts)
    of_group = (pairs % size)[cleaned.index.to_numpy(dtype=np.intp)]
    found: list[pd.Series] = []
    problems: list[pd.Series] = []
    for group, normalizer in enumerate(normalizers):
        part = cleaned[of_group == group]
        if len(part):
            value, problem = normalizer(part)
            found.append(value)
            problems.append(problem)
    if not found:
        empty = pd.Series(dtype=object)
        return pair_codes, len(pairs), empty, empty
    return pair_codes, len(pairs), pd.concat(found), pd.concat(problems)


def _problem_rejects(column: Column, options: RunOptions) -> bool:
    """Whether a value this column could not normalize rejects the row (else: cleared)."""
    if column.kind in (Kind.CENTS, Kind.INTEGER):
        return True  # money and quantities are never guessed
    if column.required is Required.YES:
        return True
    if column.required is Required.ON_UPDATE and options.action == "update":
        return True
    return column.name == "email" and options.matches_by_email


def _table(results: pd.Series, size: int) -> np.ndarray:
    """Per-distinct results (index = codes) as an array of size+1, NA where absent.

    The extra last slot is what code -1 (a missing cell) picks.
    """
    table = np.full(size + 1, pd.NA, dtype=object)
    present = results.notna().to_numpy(dtype=bool)
    table[results.index.to_numpy(dtype=np.intp)[present]] = results.to_numpy(dtype=object)[present]
    return table


def _text_table(results: pd.Series, size: int) -> pa.Array | None:
    """`_table` as Arrow strings (null where absent or NA); None if some result is not text
    (no normalizer returns any). Normalizers that work in Arrow return "str" Series, which
    then never become Python strings."""
    array = arrow_text(results)
    if array is None:
        array = arrow_from_objects(results.to_numpy(dtype=object))
        if array is None:
            return None
    labels = results.index.to_numpy(dtype=np.intp)
    if len(labels) == size and bool((labels == np.arange(size)).all()):
        return pa.concat_arrays([array, pa.nulls(1, array.type)])
    where = np.full(size + 1, -1, dtype=np.int64)
    where[labels] = np.arange(len(labels))
    return array.take(pa.array(where, mask=where < 0))


def _suffixed(reasons: np.ndarray, where: np.ndarray, suffix: str) -> np.ndarray:
    """Per-distinct reasons with `suffix` added where `where` says (once per distinct value,
    not per row)."""
    out = reasons.copy()
    out[where] = [reason + suffix for reason in reasons[where].tolist()]
    return out


def _cell_issues(
    rows: np.ndarray, column: str, raw: pd.Series, reasons: np.ndarray
) -> pd.DataFrame:
    """Issue rows for the cells at positions `rows` (what `issues` builds from a mask)."""
    index = raw.index[rows]
    return pd.DataFrame(
        {
            "source_row": index + 1,
            "column": column,
            "value": raw.iloc[rows].tolist(),
            "reason": reasons.tolist(),
        },
        columns=ISSUE_COLUMNS,
    )


def normalize_frame(
    mapped: pd.DataFrame,
    fmt: ImportFormat,
    units: dict[str, Unit],
    options: RunOptions,
    decimal: DecimalMark = ".",
) -> NormalizeResult:
    """Normalize every Kindful column of `mapped`; custom fields only lose control characters.

    Each column is factorized once: cleaning, normalizing and deciding warning or reject all
    happen once per distinct value (per distinct value and currency for money in major units),
    and only the answers are spread back to the rows (by Arrow's take). A column only cleaned
    is cleaned straight from its rows, and one whose values barely repeat is not factorized.
    `decimal`: the decimal mark amounts are written with (the mapping's `decimal`).
    """
    rejects: list[pd.DataFrame] = []
    warnings: list[pd.DataFrame] = []
    out: dict[str, pd.Series] = {}
    missing: dict[str, np.ndarray] = {}  # which rows of each column in `out` have no value
    currencies: tuple[np.ndarray, list[str | None]] | None = None
    for column in fmt.columns:
        if column.name not in mapped.columns:
            continue
        raw = mapped[column.name]
        money: list[DistinctNormalizer] = []
        if column.kind is Kind.CENTS:
            if currencies is None and units.get(column.name) == "dollars":
                currencies = _currency_groups(mapped, fmt)
            names: list[str | None] = [DEFAULT_CURRENCY] if currencies is None else currencies[1]
            money = _money_normalizers(column, units, decimal, names)
            normalizer: DistinctNormalizer | None = money[0]
        else:
            normalizer = _normalizer(column, options)
        if normalizer is None:
            direct = cleaned_text(raw)
            if direct is not None:
                out[column.name] = pd.Series(direct.array, index=raw.index, dtype="str")
                missing[column.name] = direct.missing
                continue
        codes, uniques = _groups(raw)
        size = len(uniques)
        if len(money) > 1 and currencies is not None:
            codes, size, found, problems = _by_group(codes, uniques, currencies[0], money)
        elif normalizer is None:
            found, problems = clean_distinct(uniques), None
        else:
            found, problems = normalizer(clean_distinct(uniques))
        table = _text_table(found, size)
        if table is not None:
            has_value = valid_mask(table)
            rows = np.where(codes < 0, size, codes)  # -1 (a missing cell): the trailing null
            out[column.name] = pd.Series(table.take(rows), index=raw.index, dtype="str")
        else:
            values = _table(found, size)
            has_value = pd.notna(values)
            out[column.name] = pd.Series(values.take(codes), index=raw.index, dtype=object)
        missing[column.name] = ~has_value[codes]
        if problems is None:
            continue
        reasons = _table(problems, size)
        problem = pd.notna(reasons)
        if not problem.any():
            continue
        kept = np.flatnonzero((problem & has_value)[codes])
        failed = np.flatnonzero((problem & ~has_value)[codes])
        if len(kept):
            text = _suffixed(reasons, problem & has_value, ", kept as given")[codes[kept]]
            warnings.append(_cell_issues(kept, column.name, raw, text))
        if len(failed):
            if _problem_rejects(column, options):
                rejects.append(_cell_issues(failed, column.name, raw, reasons[codes[failed]]))
            else:
                text = _suffixed(reasons, problem & ~has_value, ", cleared")[codes[failed]]
                warnings.append(_cell_issues(failed, column.name, raw, text))
    frame = pd.DataFrame(out, index=mapped.index, copy=False)  # copy-on-write: shared safely
    warnings += _fill_defaults(frame, fmt, options, missing)
    ordered = [c for c in fmt.names if c in frame.columns]
    frame = frame[ordered]
    for custom in options.custom_fields:
        if custom in mapped.columns and custom not in frame.columns:
            frame[custom] = _without_control_characters(mapped[custom])
    return NormalizeResult(frame, _concat(rejects), _concat(warnings))


def _without_control_characters(raw: pd.Series) -> pd.Series:
    """A custom field's values with `clean_distinct`'s character cleaning but not its trimming:
    a custom field keeps its spacing (tests/schemas/test_models.py pins "  32 ") but loses BOMs
    and control characters, which Kindful refuses or which corrupt its fields."""
    present = np.flatnonzero(raw.notna().to_numpy(dtype=bool))
    texts = pd.Series(raw.iloc[present].astype("str").to_numpy(), dtype="str")
    if has_no_control_characters(texts.tolist()):
        return raw  # the usual case: one C-speed test for the whole column
    fixed = control_characters_fixed(texts)
    out = raw.copy() if pd.api.types.is_string_dtype(raw.dtype) else raw.astype(object)
    out.iloc[present[fixed.index.to_numpy()]] = fixed.to_numpy(dtype=object)
    return out


def _fill_defaults(
    frame: pd.DataFrame,
    fmt: ImportFormat,
    options: RunOptions,
    missing: dict[str, np.ndarray] | None = None,
) -> list[pd.DataFrame]:
    """Fill the reference's defaults in place and return the warnings saying so.

    `missing`: which rows of some of the frame's columns have no value, as normalizing found
    (kept up to date here); other columns are asked.
    """
    known = missing if missing is not None else {}

    def current_values(name: str) -> pd.Series:
        return frame.get(name, pd.Series(np.nan, index=frame.index, dtype="str"))

    def absent(name: str) -> pd.Series:
        if name not in frame.columns:
            return pd.Series(True, index=frame.index)
        if name in known:
            return pd.Series(known[name], index=frame.index, copy=True)
        return frame[name].isna()

    warnings: list[pd.DataFrame] = []
    for column in fmt.columns:
        if column.default is not None:
            # 001: fund "Yes (if unknown, pass 'General')".
            current = current_values(column.name)
            before = absent(column.name)
            blank = before.copy()
            if column.default_unless is not None and column.default_unless in frame.columns:
                blank &= absent(column.default_unless)
            if blank.any():
                frame[column.name] = current.where(~blank, column.default)
                known[column.name] = (before & ~blank).to_numpy(dtype=bool)
                reason = f"blank {column.name} defaulted to {column.default}"
                warnings.append(issues(blank, column.name, None, reason))
        if (
            column.default_from is not None
            and options.action == "update"
            and column.default_from in frame.columns
        ):
            # 001: "<record>_updated_at ... If not specified it will be set to <record>_time".
            current = current_values(column.name)
            source = frame[column.default_from]
            before = absent(column.name)
            fill = before & ~absent(column.default_from)
            if fill.any():
                frame[column.name] = current.where(~fill, source)
                known[column.name] = (before & ~fill).to_numpy(dtype=bool)
                reason = f"blank {column.name} set to {column.default_from}"
                warnings.append(issues(fill, column.name, None, reason))
    return warnings


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return pd.concat(frames, ignore_index=True)

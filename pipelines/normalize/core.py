"""First pass over every cell: strip the invisible junk that spreadsheets and exports leave behind.

Also home of the helpers the other normalizers share (they all read what this module produces):
each works once per distinct value and spreads the answers back to the rows, because donor
columns repeat heavily (states, amounts, birthdays).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from pipelines.normalize.arrow_text import TextBytes, arrow_text, objects
from pipelines.normalize.result import Normalized

# A normalizer, as `normalize_frame` picks one per column kind: distinct, cleaned
# (`clean_distinct`), non-empty values ("str" Series; a column whose values barely repeat comes
# as it is) -> (values, problems) under their index labels, NA meaning no value / no problem.
# Values may come as a "str" Series: normalizers that work in Arrow never make Python strings.
DistinctNormalizer = Callable[[pd.Series], tuple[pd.Series, pd.Series]]

# Kindful rejects CSVs with a BOM and control characters corrupt its fields; \t and \n are real
# content in notes. \r becomes \n so old-Mac line endings keep their line break.
# Unicode category Cc is exactly U+0000-001F and U+007F-009F.
_DROP: dict[int, str | None] = {
    cp: None for cp in [*range(0x20), *range(0x7F, 0xA0)] if chr(cp) not in "\t\n\r"
}
_DROP[0xFEFF] = None
_DROP[ord("\r")] = "\n"
# str.translate walks every character in Python; only the rare dirty values need it.
_DIRTY = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]"
_DIRTY_RE = re.compile(_DIRTY)


def clean_distinct(uniques: pd.Series) -> pd.Series:
    """Distinct values without BOMs and control characters (\\t and \\n kept), with one line
    end (\\n) and trimmed; only the non-empty ones, under their own index labels.

    What is dropped here is missing downstream, so "missing" has one spelling. Never truncates
    and never reports a problem: length limits belong to the schema.

    Dirt is rare, so one test over all the values decides whether any value needs the per-value
    pass. Arrow-backed values are screened on their bytes (`arrow_text`) and only the few that
    may need trimming are trimmed, in Python; others get one test over all the values joined
    and a plain list comprehension (pandas' str.strip costs ~5x more).
    """
    fast = _clean_distinct_arrow(uniques)
    if fast is not None:
        return fast
    texts = uniques.tolist()
    stripped = _stripped_if_clean(texts)
    if stripped is None:
        cleaned = uniques.copy()
        fixed = control_characters_fixed(uniques)
        cleaned[fixed.index] = fixed.to_numpy()
        cleaned = cleaned.str.strip()
        return cleaned[cleaned.str.len() > 0]
    cleaned = pd.Series(stripped, index=uniques.index, dtype="str")
    if all(stripped):
        return cleaned
    return cleaned[np.fromiter(map(bool, stripped), dtype=bool, count=len(stripped))]


def _clean_distinct_arrow(uniques: pd.Series) -> pd.Series | None:
    """`clean_distinct` of Arrow-backed values none of which is missing or holds a control
    character; None for any other input."""
    array = arrow_text(uniques)
    if array is None or array.null_count:
        return None
    text = TextBytes.of(array)
    if text.may_hold_control_characters():
        return None
    keep = ~text.empty()
    array, emptied = _edges_stripped(array, text)
    keep[emptied] = False
    cleaned = pd.Series(array, index=uniques.index, dtype="str")
    return cleaned if keep.all() else cleaned[keep]


def clean_values(values: pd.Series) -> np.ndarray | None:
    """The rows' values cleaned as `clean_distinct` cleans them (NA where nothing is left), as
    an object array, straight from the rows.

    None when some value needs more than trimming (or is not text): take the distinct path.
    """
    cleaned = cleaned_text(values)
    if cleaned is None:
        return None
    return objects(cleaned.array)


@dataclass(frozen=True)
class CleanedText:
    """A column cleaned straight from its rows: Arrow strings, null where nothing is left."""

    array: pa.Array
    missing: np.ndarray  # bool, which rows are null


def cleaned_text(values: pd.Series) -> CleanedText | None:
    """`clean_values` as Arrow strings, for columns with no normalizer after cleaning (for
    them, factorizing would cost more than it saves); None as there.

    An Arrow-backed column is screened on its bytes (`arrow_text`) and only the few values
    that may need trimming are trimmed, in Python: no Python string per row. An object column
    of text gets one test over all its values joined and a plain list comprehension.
    """
    array = arrow_text(values)
    if array is not None:
        return _cleaned_arrow(array)
    if not isinstance(values.dtype, pd.StringDtype) and not (
        values.dtype == object
        and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    ):
        return None
    out = values.to_numpy(dtype=object, copy=True)
    missing = pd.isna(out)
    texts = out[~missing].tolist()
    stripped = _stripped_if_clean(texts)
    if stripped is None:
        return None
    present = np.flatnonzero(~missing)
    out[present] = stripped
    missing[present[~np.fromiter(map(bool, stripped), dtype=bool, count=len(stripped))]] = True
    out[missing] = None
    try:
        array = pa.array(out, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate: UTF-8 cannot hold it
        return None
    return CleanedText(array, missing)


def _edges_stripped(array: pa.Array, text: TextBytes) -> tuple[pa.Array, np.ndarray]:
    """`array` with the values the byte screen suspects of padding stripped by Python's
    `str.strip`, and the positions that strip left empty."""
    suspects = np.flatnonzero(text.edge_suspects())
    if not len(suspects):
        return array, suspects
    stripped = [value.strip() for value in array.take(suspects).to_pylist()]
    changed = np.zeros(len(array), dtype=bool)
    changed[suspects] = True
    array = pc.replace_with_mask(array, changed, pa.array(stripped, type=array.type))
    return array, suspects[[not value for value in stripped]]


def _cleaned_arrow(array: pa.Array) -> CleanedText | None:
    """`cleaned_text` of an Arrow string array: the byte screens decide, Python trims the
    suspects; None if some value may hold dirt."""
    text = TextBytes.of(array)
    if text.may_hold_control_characters():
        return None
    missing = ~text.valid | text.empty()
    array, emptied = _edges_stripped(array, text)
    missing[emptied] = True
    if missing.any() and int(missing.sum()) != array.null_count:
        array = pc.if_else(pa.array(missing), pa.scalar(None, array.type), array)
    return CleanedText(array, missing)


def _stripped_if_clean(texts: list[str]) -> list[str] | None:
    """Each text trimmed, or None if any holds a character `clean_distinct` drops."""
    try:
        clean = has_no_control_characters(texts)
    except TypeError:  # not all text: let pandas' str methods decide
        return None
    return [text.strip() for text in texts] if clean else None


def has_no_control_characters(texts: list[str]) -> bool:
    """Whether no text holds a character `clean_distinct` drops or changes: one C-speed test
    over all of them joined (str.isprintable, true of almost every clean column, is ~3x faster
    than the regex)."""
    joined = "".join(texts)
    return joined.isprintable() or _DIRTY_RE.search(joined) is None


def control_characters_fixed(texts: pd.Series) -> pd.Series:
    """The texts (str, none missing) that hold a BOM or control character, without them (\t
    and \n kept; \r\n and a bare \r become \n) and untrimmed; same index labels."""
    dirty = texts.str.contains(_DIRTY).to_numpy(dtype=bool)
    return texts[dirty].str.replace("\r\n", "\n", regex=False).str.translate(_DROP)


# Helpers shared by all normalizers


def as_strings(values: pd.Series) -> pd.Series:
    """The input as pandas "str" dtype, so None/pd.NA/NaN all read as one kind of missing."""
    if values.dtype == "str":
        return values
    return values.astype("str")


def distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes (-1 for missing) and the distinct values as a 0..k-1 indexed "str" Series."""
    codes, uniques = pd.factorize(as_strings(values))
    return np.asarray(codes, dtype=np.intp), pd.Series(uniques, dtype="str")


def spread(
    index: pd.Index, codes: np.ndarray, values: pd.Series, problems: pd.Series, size: int
) -> Normalized:
    """Map per-distinct results (indexed by code, possibly a subset of 0..size-1) back to rows.

    Codes absent from `values`/`problems` and missing cells (code -1) become NA.
    """
    value_table = np.full(size + 1, pd.NA, dtype=object)
    problem_table = np.full(size + 1, pd.NA, dtype=object)
    _fill(value_table, values)
    _fill(problem_table, problems)
    # code -1 picks the trailing NA slot
    return Normalized(
        values=pd.Series(value_table.take(codes), index=index, dtype=object),
        problems=pd.Series(problem_table.take(codes), index=index, dtype=object),
    )


def _fill(table: np.ndarray, results: pd.Series) -> None:
    present = results.notna().to_numpy(dtype=bool)
    positions = results.index.to_numpy(dtype=np.intp)[present]
    table[positions] = results.to_numpy(dtype=object)[present]


def per_distinct(
    values: pd.Series,
    normalize: Callable[[pd.Series], tuple[pd.Series, pd.Series]],
) -> Normalized:
    """Run a vectorized `normalize` once per distinct non-empty (stripped) value.

    `normalize` receives a "str" Series of non-empty values and returns (values, problems)
    with the same index; NA means no value / no problem.
    """
    codes, uniques = distinct(values)
    stripped = uniques.str.strip()
    present = stripped[stripped.str.len() > 0]
    found, problems = normalize(present)
    return spread(values.index, codes, found, problems, len(uniques))


def apply_each(
    present: pd.Series, normalize_one: Callable[[str], tuple[str | None, str | None]]
) -> tuple[pd.Series, pd.Series]:
    """`normalize_one(text) -> (value, problem)` on each (distinct) value: (values, problems)
    sharing `present`'s index.

    For rules that read better as a few lines of Python than as a chain of str ops; regex group
    work is also faster this way (pandas' str.extract costs ~2 s per million values).
    """
    results = [normalize_one(text) for text in present.tolist()]
    # None stands for NA here; `spread` only copies non-missing entries
    found = pd.Series([value for value, _ in results], index=present.index, dtype=object)
    problems = pd.Series([problem for _, problem in results], index=present.index, dtype=object)
    return found, problems


def na_series(index: pd.Index) -> pd.Series:
    """An all-NA object Series: "nothing to report" / "no value" for every row."""
    return pd.Series(pd.NA, index=index, dtype=object)


def where_found(mask: pd.Series, text: str) -> pd.Series:
    """`text` where `mask` is true, NA elsewhere: a problems column from a failure mask."""
    return na_series(mask.index).mask(mask.astype(bool), text)

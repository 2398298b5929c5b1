"""Validate normalized rows with the format's pandera schema and turn failures into rejects.

The schema's columns, checks and check names are the rules; this module runs them so that a
100k-row chunk costs milliseconds, not seconds. pandera's own `validate` walks every cell of
every column in Python (a per-element type test on object columns, `str.len`, regexes) and then
reshapes its failure cases; here each check first gets a cheap vectorized screen over the whole
column, read as Arrow strings (lengths, set membership, fixed-width forms on the UTF-8 bytes),
and the pandera check itself runs only on the distinct values the screen could not clear.
normalize_frame's columns are Arrow-backed already; an object column of str is converted once.
A column whose values are not all strings goes through pandera whole, exactly as before.

The checks come from schemas.rules, which the pandera schema is built from; pandera itself is
imported only when some value needs it (~0.2 s of a run's start otherwise): a length or a sign
the screens measure exactly, as pandera's check would (proven against it by the tests), needs
no pandera; a form, a set or a column of non-strings does.

Issues come out in a fixed order: columns in the schema's order, rows ascending, for each cell
the first check it fails (presence, then the checks in the schema's order), then the row rules
in their order. A whole-file run and a chunked run therefore list the same problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from pipelines.normalize.arrow_text import TextBytes, arrow_from_objects, arrow_text, valid_mask
from pipelines.normalize.frame import ISSUE_COLUMNS
from schemas.rules import (
    INTEGER_FORM,
    CheckRule,
    ColumnRules,
    RowRule,
    column_rules,
    positive_amount,
    run_rules,
)

if TYPE_CHECKING:
    import pandera.pandas as pa

_CHECK_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^not_nullable$"), "required value missing"),
    (re.compile(r"^str_length\(None, (\d+)\)$"), "longer than {0} characters"),
    (re.compile(r"^isin\(\[?'true', 'false'\]?\)$"), "not a boolean (true/false)"),
    (re.compile(r"^isin\(\[?(.*?)\]?\)$"), "not one of {0}"),
    (re.compile(r"^positive_amount"), "must be greater than 0"),
    (re.compile(r"^str_matches"), "not in the canonical form"),
]
# Fixed-width canonical forms (`^\d{4}-\d{2}-\d{2}$`) are screened on code points in numpy.
_ANCHORED = re.compile(r"\^(.*)\$", re.DOTALL)
_TOKEN = re.compile(
    r"(?P<atom>\\d|\[a-z\]|\[A-Z\]|\\[^A-Za-z0-9]|[^\\\[\](){}?*+|^$.])(?:\{(?P<repeat>\d+)\})?"
)
_CLASSES: dict[str, tuple[int, int]] = {r"\d": (48, 57), "[a-z]": (97, 122), "[A-Z]": (65, 90)}
_NOT_NULLABLE = "not_nullable"
_NO_ISSUES = pd.DataFrame(columns=ISSUE_COLUMNS)  # shared, never changed: callers concat

# Checks whose passing values a regex in Arrow (RE2: ASCII `[0-9]`, `$` only at the very end)
# recognizes for sure: whatever it matches, pandera's check passes too (Python's `\d` and `$`
# accept more, never less). What it does not match goes to pandera as before.
_SURE_PASSES: dict[tuple[str, str | None], str] = {
    ("str_matches", INTEGER_FORM): r"^-?[0-9]+$",
    ("positive_amount", None): r"^[0-9]*[1-9][0-9]*$",  # digits only, not all zeros
}


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
    parts: list[pd.DataFrame] = []
    for name, column in column_rules(data_format).items():
        if name in normalized.columns:
            parts.append(_column_issues(normalized[name], column, raw, data_format))
    parts.append(_rule_issues(normalized, run_rules(data_format, action, contact_match)))
    found = [part for part in parts if not part.empty]
    if not found:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return pd.concat(found, ignore_index=True)


def _pandera_column(data_format: str, name: str) -> pa.Column:
    """The schema's column, pandera imported on first use (schemas.models)."""
    from schemas.models import schema_columns

    return schema_columns(data_format)[name]


def _column_issues(
    values: pd.Series, column: ColumnRules, raw: pd.DataFrame, data_format: str
) -> pd.DataFrame:
    """One issue per failing cell of one column: the first check, in schema order, it fails."""
    objects: np.ndarray | None = None
    array = arrow_text(values)  # an Arrow-backed column, as normalize_frame writes them
    if array is None and values.dtype == object:
        objects = values.to_numpy(dtype=object)
        array = arrow_from_objects(objects)
    if array is not None:
        missing = ~valid_mask(array)
    else:
        objects = values.to_numpy(dtype=object)
        missing = values.isna().to_numpy(dtype=bool)
        if not _all_strings(values, objects[~missing]):
            return _pandera_column_issues(values, _pandera_column(data_format, column.name), raw)
    failed = np.full(len(values), -1, dtype=np.intp)  # position in `names` of the first failure
    names = [_NOT_NULLABLE, *(check.failure for check in column.checks)]
    if not column.nullable:
        failed[missing] = 0
    screen = _Screen(array)
    for number, check in enumerate(column.checks, start=1):
        suspects = np.flatnonzero(screen.suspects(check) & ~missing & (failed < 0))
        if len(suspects):
            texts = objects[suspects] if objects is not None else None
            arrow = screen.texts(suspects)
            passed = _measured(check, arrow)
            if passed is None:
                pandera_check = _pandera_column(data_format, column.name).checks[number - 1]
                passed = _passes(pandera_check, texts, arrow)
            failed[suspects[~passed]] = number
    bad = np.flatnonzero(failed >= 0)
    if len(bad) == 0:
        return _NO_ISSUES  # most columns of most chunks: not a new empty frame each (~0.1 ms)
    index = values.index[bad]
    return _cell_issues(index, str(column.name), raw, [names[i] for i in failed[bad]])


class _Screen:
    """Cheap vectorized screens of one column's values for its checks, over all its rows (what
    they say of a missing value does not matter).

    A screen is exact or errs towards suspicion (every value, for checks it does not know);
    pandera decides on the suspects. The screens read the column as Arrow strings: lengths and
    set membership in C++, fixed-width forms on the UTF-8 bytes. A column Arrow cannot hold (a
    str with a lone surrogate) is all suspects.
    """

    def __init__(self, array: pyarrow.Array | None) -> None:
        self.array = array
        self._bytes: TextBytes | None = None

    def bytes(self, array: pyarrow.Array) -> TextBytes:
        if self._bytes is None:
            self._bytes = TextBytes.of(array)
        return self._bytes

    def texts(self, rows: np.ndarray) -> pyarrow.Array | None:
        """The values at `rows` as Arrow strings (None for a column Arrow cannot hold)."""
        return None if self.array is None else self.array.take(pyarrow.array(rows))

    def suspects(self, check: CheckRule) -> np.ndarray:
        """Which values might fail `check` (a mask over the rows; it may be one value for all)."""
        array = self.array
        if array is None:
            return np.array(True)
        stats = check.statistics
        sure = _SURE_PASSES.get((check.name, stats.get("pattern")))
        if sure is not None:
            matched = pc.fill_null(pc.match_substring_regex(array, sure), False)
            return ~np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool)
        if (
            check.name == "str_length"
            and stats.get("max_value") is not None
            and stats.get("min_value") is None
            and stats.get("exact_value") is None
        ):
            # no text has more characters than UTF-8 bytes: pandera counts the few longer ones
            return np.asarray(self.bytes(array).lengths > stats["max_value"])
        if check.name == "str_matches":
            form = fixed_width_form(stats["pattern"])
            if form is not None:
                return _form_suspects(self.bytes(array), form)
        if check.name == "isin" and stats.get("allowed_values") is not None:
            allowed = list(stats["allowed_values"])
            if all(isinstance(value, str) for value in allowed):
                kinds = pyarrow.array(allowed, pyarrow.large_string())
                found = pc.is_in(array, value_set=kinds).to_numpy(zero_copy_only=False)
                return ~np.asarray(found, dtype=bool)
        return np.ones(len(array), dtype=bool)


def _measured(check: CheckRule, arrow: pyarrow.Array | None) -> np.ndarray | None:
    """Which of some texts pass a check that needs no pandera: a maximum length (pandera counts
    code points, as Arrow's utf8_length does) and a positive amount (schemas.rules' own
    function, which pandera calls); None for the others."""
    if arrow is None:
        return None
    stats = check.statistics
    if check.name == "str_length" and stats["min_value"] is None and stats["exact_value"] is None:
        lengths = pc.utf8_length(arrow).to_numpy(zero_copy_only=False)
        return np.asarray(lengths <= stats["max_value"], dtype=bool)
    if check.name == "positive_amount":
        return _per_distinct(positive_amount, None, arrow)
    return None


def _passes(check: pa.Check, texts: np.ndarray | None, arrow: pyarrow.Array | None) -> np.ndarray:
    """pandera's verdict on each of some texts, asked once per distinct value."""
    return _per_distinct(lambda uniques: check(uniques).check_output, texts, arrow)


def _per_distinct(
    verdict: Callable[[pd.Series], pd.Series],
    texts: np.ndarray | None,
    arrow: pyarrow.Array | None,
) -> np.ndarray:
    """`verdict` (a boolean Series) on the distinct values of some texts, as Python objects or
    as Arrow strings (Arrow's if both), spread back to each text."""
    if arrow is not None:
        encoded = arrow.dictionary_encode()
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
        uniques: Any = encoded.dictionary.to_pylist()
    else:
        assert texts is not None
        codes, uniques = pd.factorize(texts)
    passed = np.asarray(verdict(pd.Series(uniques, dtype=object)).to_numpy(), dtype=bool)
    return np.asarray(passed[codes])


def _all_strings(values: pd.Series, texts: np.ndarray) -> bool:
    """Whether pandera's string dtype check passes on an object column: every value a str."""
    if values.dtype != object:
        return False
    return len(texts) == 0 or pd.api.types.infer_dtype(texts, skipna=False) == "string"


def fixed_width_form(pattern: str) -> np.ndarray | None:
    """For `^...$` patterns of fixed width (`\\d{4}`, `[a-z]{3}`, literals): per position, the
    lowest and highest code point an ASCII match can have; None for any other pattern.
    """
    body = _ANCHORED.fullmatch(pattern)
    if body is None:
        return None
    bounds: list[tuple[int, int]] = []
    position = 0
    text = body[1]
    while position < len(text):
        token = _TOKEN.match(text, position)
        if token is None:
            return None
        position = token.end()
        atom, repeat = token["atom"], int(token["repeat"] or 1)
        if atom in _CLASSES:
            bounds += [_CLASSES[atom]] * repeat
        else:
            char = atom[-1]
            bounds += [(ord(char), ord(char))] * repeat
    return np.array(bounds, dtype=np.uint32).reshape(-1, 2) if bounds else None


def _form_suspects(text: TextBytes, form: np.ndarray) -> np.ndarray:
    """Which values are not `form` (see `fixed_width_form`) character for character.

    On the UTF-8 bytes: when every character of the form is ASCII, a match is exactly as many
    bytes as the form is wide, each in its position's range (a non-ASCII character takes two
    bytes or more, and its bytes are all above the ASCII ranges).
    """
    width = len(form)
    if int(form[:, 1].max()) >= 0x80:
        return np.ones(len(text.starts), dtype=bool)  # no such form in the schemas
    low, high = form[:, 0].astype(np.uint8), form[:, 1].astype(np.uint8)
    suspects = (text.ends - text.starts) != width
    fits = np.flatnonzero(~suspects)
    if len(fits):
        starts = text.starts[fits]
        if starts[-1] - starts[0] == width * (len(fits) - 1):  # back to back: a plain reshape
            first = int(starts[0])
            points = text.data[first : first + width * len(fits)].reshape(-1, width)
        else:
            points = text.data[starts[:, None] + np.arange(width)]
        wrong = ((points < low) | (points > high)).any(axis=1)
        suspects[fits[wrong]] = True
    return np.asarray(suspects)


def _pandera_column_issues(values: pd.Series, column: pa.Column, raw: pd.DataFrame) -> pd.DataFrame:
    """The slow path for a column with non-string values: pandera validates it whole."""
    import pandera.pandas as pa

    name = str(column.name)
    schema = pa.DataFrameSchema({name: column}, strict=False, coerce=False)
    try:
        schema.validate(values.to_frame(name), lazy=True)
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
        failures = failures[failures["index"].notna()]
        checks = failures["check"].astype(str)
        # presence first, then the dtype check (no number), then the checks in model order
        rank = failures["check_number"].astype("float64").fillna(-1) + 1
        ranked = failures.assign(
            _rank=rank.where(checks != _NOT_NULLABLE, -1),
            _row=failures["index"].astype("int64"),
            _check=checks,
        ).sort_values(["_row", "_rank"], kind="stable")
        first = ranked.drop_duplicates("_row")
        return _cell_issues(pd.Index(first["_row"].to_numpy()), name, raw, first["_check"])
    return pd.DataFrame(columns=ISSUE_COLUMNS)


def _cell_issues(
    index: pd.Index, column: str, raw: pd.DataFrame, checks: Iterable[str]
) -> pd.DataFrame:
    source = raw[column] if column in raw.columns else pd.Series(pd.NA, index=raw.index)
    checks = list(checks)
    reasons = {check: reason_for(check) for check in set(checks)}
    return pd.DataFrame(
        {
            "source_row": np.asarray(index, dtype=np.int64) + 1,
            "column": column,
            "value": source.loc[index].tolist(),
            "reason": [reasons[check] for check in checks],
        },
        columns=ISSUE_COLUMNS,
    )


def _rule_issues(normalized: pd.DataFrame, rules: Iterable[RowRule]) -> pd.DataFrame:
    """The row rules (pandera dataframe-level checks built from `RowRule.passes`), directly."""
    parts: list[pd.DataFrame] = []
    for rule in rules:
        passes = rule.passes(normalized).to_numpy(dtype=bool)
        index = normalized.index[~passes]
        if len(index):
            parts.append(
                pd.DataFrame(
                    {
                        "source_row": np.asarray(index, dtype=np.int64) + 1,
                        "column": rule.label,
                        "value": pd.NA,
                        "reason": rule.reason,
                    },
                    columns=ISSUE_COLUMNS,
                )
            )
    if not parts:
        return _NO_ISSUES
    return pd.concat(parts, ignore_index=True)

"""validate_frame's screens decide as pandera does: every column check, on arbitrary values.

`_column_issues` screens a column (Arrow-backed, as normalize_frame writes it, or objects) and
asks pandera only about the values the screens could not clear; `_pandera_column_issues` asks
pandera about the whole column. Both must name the same cells with the same first failure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.transform.validation import (
    _column_issues,
    _pandera_column_issues,
    validate_frame,
)
from schemas.columns import FORMATS
from schemas.models import validation_schema
from schemas.rules import column_rules
from tests.schemas.pandera_helpers import check_name


def _signature(column: pa.Column) -> tuple[Any, ...]:
    return (column.nullable, *(check_name(check) for check in column.checks))


def _one_column_per_kind_of_checks() -> dict[str, tuple[str, pa.Column]]:
    """One schema column for each combination of checks the formats use, with its format."""
    found: dict[tuple[Any, ...], tuple[str, tuple[str, pa.Column]]] = {}
    for fmt in sorted(FORMATS):
        for name, column in validation_schema(fmt)[0].columns.items():
            found.setdefault(_signature(column), (f"{fmt}.{name}", (fmt, column)))
    return dict(found.values())


COLUMNS = _one_column_per_kind_of_checks()

# values that pass, values that nearly pass, values only Unicode-aware checks tell apart
NEAR = [
    "2024-01-01T00:00:00+00:00",
    "2024-01-01T00:00:00+00:00\n",
    "２０２４-01-01T00:00:00+00:00",
    "2024-01-01",
    "2024-1-01",
    "１９８５-07-29",
    "12",
    "-12",
    "0",
    "-0",
    "00",
    "007",
    "+5",
    "-",
    "1e3",
    "99999999999999999999999",
    "١٢",
    "12\n",
    "1.5",
    "true",
    "false",
    "True",
    "usd",
    "USD",
    "uSd",
    "ｕｓｄ",
    "Cash",
    "cash",
    "General",
    "Sent Email",
    "M",
    "x" * 255,
    "x" * 256,
    "é" * 255,
    "é" * 256,
    "x" * 2001,
    "",
]
VALUE = st.one_of(
    st.none(),
    st.sampled_from(NEAR),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
)


def _frames(values: list[str | None], name: str) -> tuple[pd.Series, pd.DataFrame]:
    column = pd.Series(values, dtype=object, name=name)
    return column, pd.DataFrame({name: column})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(VALUE, max_size=12))
@pytest.mark.parametrize("label", sorted(COLUMNS))
def test_the_screens_decide_as_pandera_does(label: str, values: list[str | None]) -> None:
    fmt, column = COLUMNS[label]
    name = str(column.name)
    objects, raw = _frames(values, name)
    expected = _pandera_column_issues(objects, column, raw)
    for given_values in (objects, objects.astype("str")):
        found = _column_issues(given_values, column_rules(fmt)[name], raw, fmt)
        pd.testing.assert_frame_equal(
            found.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
        )


@pytest.mark.parametrize(
    "values",
    [
        ["ok", "\udc80"],  # a lone surrogate: no Arrow string, every value goes to pandera
        ["ok", 5],  # not all text: pandera validates the column whole
    ],
)
def test_columns_arrow_cannot_hold_are_still_judged_by_pandera(values: list[object]) -> None:
    column = validation_schema("contact")[0].columns["first_name"]
    rules = column_rules("contact")["first_name"]
    series = pd.Series([*values, "x" * 256], dtype=object, name="first_name")
    raw = pd.DataFrame({"first_name": series})
    pd.testing.assert_frame_equal(
        _column_issues(series, rules, raw, "contact"), _pandera_column_issues(series, column, raw)
    )


def test_arrow_backed_and_object_frames_give_the_same_rejects() -> None:
    frame = pd.DataFrame(
        {
            "first_name": ["Ada", None, "x" * 256],
            "last_name": ["Example", None, "Y"],
            "amount_in_cents": ["500", "0", "5.5"],
            "transaction_time": ["2024-01-01T00:00:00+00:00", "2024-01-01", None],
            "currency": ["usd", "USD", None],
            "acknowledged": ["true", "yes", None],
        }
    )
    objects = frame.astype(object)
    rejects = validate_frame(objects, objects, "contact_with_transaction", "create", None)
    arrow = validate_frame(frame.astype("str"), objects, "contact_with_transaction", "create", None)
    pd.testing.assert_frame_equal(arrow, rejects)
    assert rejects["reason"].tolist()[:2] == [
        "longer than 255 characters",
        "must be greater than 0",
    ]

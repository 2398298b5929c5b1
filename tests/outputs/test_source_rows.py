"""SourceRows: a batch's record numbers as runs, indexed and compared like the tuple it replaced."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.outputs.source_rows import SourceRows


@given(st.lists(st.integers(min_value=1, max_value=10_000), max_size=200, unique=True))
def test_behaves_like_the_sorted_tuple(numbers: list[int]) -> None:
    expected = tuple(sorted(numbers))
    rows = SourceRows(np.array(expected, dtype=np.int64))
    assert len(rows) == len(expected)
    assert list(rows) == list(expected)
    assert [rows[i] for i in range(len(expected))] == list(expected)
    assert rows == expected
    assert rows == SourceRows(list(expected))
    if expected:
        assert rows[-1] == expected[-1]


def test_consecutive_numbers_with_gaps_are_a_few_runs() -> None:
    numbers = [n for n in range(1, 10_001) if n % 1000 != 0]  # a reject every 1000 rows
    rows = SourceRows(numbers)
    assert rows.runs == 10
    assert rows[998] == 999 and rows[999] == 1001
    assert rows.to_numpy().tolist() == numbers


def test_out_of_range_positions_raise_like_a_tuple() -> None:
    rows = SourceRows([5, 6, 9])
    with pytest.raises(IndexError):
        rows[3]
    with pytest.raises(IndexError):
        SourceRows([])[0]
    assert rows != SourceRows([5, 6, 10])
    assert hash(rows) == hash(SourceRows((5, 6, 9)))

"""The source record numbers a batch carries, stored as runs of consecutive numbers.

Every written batch is kept until reconciliation, so per-row Python ints (~36 bytes a row in a
tuple) made peak memory grow with the file: +108 MB between 1M and 3M rows. Accepted rows are
consecutive except where a reject leaves a gap, so a batch is a few runs, ~16 bytes each.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class SourceRows:
    """An immutable sequence of 1-based source record numbers, as runs of consecutive ones."""

    __slots__ = ("_ends", "_firsts")

    def __init__(self, numbers: np.ndarray | list[int] | tuple[int, ...]) -> None:
        values = np.asarray(numbers, dtype=np.int64)
        if len(values) == 0:
            self._firsts = np.zeros(0, dtype=np.int64)
            self._ends = np.zeros(0, dtype=np.int64)
            return
        breaks = np.flatnonzero(np.diff(values) != 1) + 1
        starts = np.concatenate(([0], breaks))
        self._firsts = values[starts]  # the first number of each run
        self._ends = np.concatenate((breaks, [len(values)]))  # position after each run

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def __getitem__(self, position: int) -> int:
        """The number at 0-based `position` (negative counts from the end, like a tuple)."""
        size = len(self)
        if position < 0:
            position += size
        if not 0 <= position < size:
            raise IndexError("source row position out of range")
        run = int(np.searchsorted(self._ends, position, side="right"))
        run_start = int(self._ends[run - 1]) if run else 0
        return int(self._firsts[run]) + position - run_start

    def __iter__(self) -> Iterator[int]:
        return iter(self.to_numpy().tolist())

    def to_numpy(self) -> np.ndarray:
        """Every number, expanded."""
        lengths = np.diff(np.concatenate(([0], self._ends)))
        offsets = np.arange(len(self)) - np.repeat(self._ends - lengths, lengths)
        return np.repeat(self._firsts, lengths) + offsets

    @property
    def runs(self) -> int:
        return len(self._firsts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SourceRows):
            return bool(
                np.array_equal(self._firsts, other._firsts)
                and np.array_equal(self._ends, other._ends)
            )
        if isinstance(other, (tuple, list)):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._firsts.tobytes(), self._ends.tobytes()))

    def __repr__(self) -> str:
        return f"SourceRows({len(self)} rows in {self.runs} runs)"

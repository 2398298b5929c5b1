"""The derived ids a run has handed out so far: what numbers a repeated record (`-2`, `-3`).

Every distinct id of the file must be remembered, so the set grows with the file: 12 bytes per
id in memory would be ~40 MB more at 10M rows than at 1M. Only the newest sorted array stays in
memory; each full one goes to an unnamed temporary file (gone with the process, however it
ends) and leaves behind a Bloom filter (2 bytes per id) and every BLOCK-th key. A lookup reads
from the file only the blocks its filter cannot rule out: ~0.1% of the digests, plus the repeats.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from dataclasses import dataclass, field
from typing import IO, Final

import numpy as np

__all__ = ["BLOCK", "DIGEST_BYTES", "RUN_IDS", "SeenIds"]

DIGEST_BYTES: Final = 12  # the 24 hex digits after the prefix: the whole id, not a hash of it
RUN_IDS = 262_144  # digests per sorted array: 3 MB in memory until it is full
BLOCK = 512  # digests per block of a spilled array: what one lookup reads (6 KB)
_FILTER_BITS = 16  # Bloom filter bits per digest, tested with _PROBES bits: 0.1% pass wrongly
_PROBES = 5

# A digest's 12 bytes as two big-endian integers: the first 8 bytes, which sort and search
# as one machine word (~10x faster than 12-byte strings), and the last 4.
_HALVES = np.dtype([("high", ">u8"), ("low", ">u4")])


def _halves(digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    both = np.ascontiguousarray(digests, dtype=f"S{DIGEST_BYTES}").view(_HALVES)
    return both["high"].astype(np.uint64), both["low"].astype(np.uint32)


def _probes(high: np.ndarray, low: np.ndarray, bits: int) -> np.ndarray:
    """The filter's bit positions of each digest, one row per probe (double hashing on the
    digest's own bits: they are sha256's, uniformly spread already)."""
    step = (high >> np.uint64(32)) | np.uint64(1)
    start = low.astype(np.uint64) ^ (high & np.uint64(0xFFFFFFFF))
    rounds = np.arange(_PROBES, dtype=np.uint64)[:, None]
    return (start + rounds * step) % np.uint64(bits)


@dataclass(frozen=True)
class _Spilled:
    """A full sorted array in the spill file: `count` highs from `at`, then `count` lows."""

    at: int
    count: int
    fences: np.ndarray  # the high of every BLOCK-th digest
    filter: np.ndarray  # Bloom filter bits, packed (little bit order)

    def maybe(self, high: np.ndarray, low: np.ndarray) -> np.ndarray:
        """Positions of the digests the filter cannot rule out."""
        bits = len(self.filter) * 8
        probes = _probes(high, low, bits)
        hit = (self.filter[probes >> np.uint64(3)] >> (probes & np.uint64(7)).astype(np.uint8)) & 1
        return np.flatnonzero(hit.all(axis=0))

    def holds(self, spill: IO[bytes], high: np.ndarray, low: np.ndarray) -> np.ndarray:
        """Which of the digests (the filter's candidates: few) are in this array."""
        found = np.zeros(len(high), dtype=bool)
        # The blocks that may hold a high: from the last one starting below it to the last one
        # starting at or below it (equal highs may straddle a block boundary).
        first = np.maximum(np.searchsorted(self.fences, high, side="left") - 1, 0)
        last = np.searchsorted(self.fences, high, side="right") - 1
        for span in np.unique(np.stack([first, np.maximum(last, first)], axis=1), axis=0):
            start, stop = int(span[0]) * BLOCK, min((int(span[1]) + 1) * BLOCK, self.count)
            run_high, run_low = self._read(spill, start, stop)
            which = np.flatnonzero((first == span[0]) & (np.maximum(last, first) == span[1]))
            for i in which:
                at = np.searchsorted(run_high, high[i], side="left")
                to = np.searchsorted(run_high, high[i], side="right")
                found[i] = bool((run_low[at:to] == low[i]).any())
        return found

    def _read(self, spill: IO[bytes], start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        fd, n = spill.fileno(), stop - start
        high = os.pread(fd, 8 * n, self.at + 8 * start)
        low = os.pread(fd, 4 * n, self.at + 8 * self.count + 4 * start)
        return np.frombuffer(high, dtype=np.uint64), np.frombuffer(low, dtype=np.uint32)


@dataclass
class SeenIds:
    """How often each derived id has been handed out so far.

    `runs`: the arrays in memory, sorted by their first 8 bytes; merging a chunk's new ids
    copies the last one only (one array of them all would be copied whole: 120 MB at 10M rows).
    Only ids seen more than once, which are rare, keep a count, in `repeats`.
    """

    runs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (high, low)
    repeats: dict[bytes, int] = field(default_factory=dict)
    spilled: list[_Spilled] = field(default_factory=list)
    _spill: IO[bytes] | None = None

    def __len__(self) -> int:
        return sum(len(high) for high, _ in self.runs) + sum(s.count for s in self.spilled)

    @property
    def nbytes(self) -> int:
        """Bytes held in memory."""
        held = sum(high.nbytes + low.nbytes for high, low in self.runs)
        return held + sum(s.fences.nbytes + s.filter.nbytes for s in self.spilled)

    def get(self, digests: np.ndarray) -> np.ndarray:
        """Times each of `digests` (distinct) was seen before."""
        high, low = _halves(digests)
        found = np.zeros(len(digests), dtype=bool)
        for run_high, run_low in self.runs:
            first = np.searchsorted(run_high, high, side="left")
            after = np.searchsorted(run_high, high, side="right")
            one = np.flatnonzero(after - first == 1)
            found[one[run_low[first[one]] == low[one]]] = True
            for i in np.flatnonzero(after - first > 1):  # first 8 bytes shared: hardly ever
                found[i] |= bool((run_low[first[i] : after[i]] == low[i]).any())
        for spilled in self.spilled:
            maybe = spilled.maybe(high, low)
            if len(maybe):
                assert self._spill is not None
                found[maybe[spilled.holds(self._spill, high[maybe], low[maybe])]] = True
        counts = found.astype(np.int64)
        for i in np.flatnonzero(found):
            counts[i] = self.repeats.get(bytes(digests[i]), 1)
        return counts

    def add(self, digests: np.ndarray, before: np.ndarray, now: np.ndarray) -> None:
        """Record `now` more sightings of each of `digests` (distinct; `before` from `get`)."""
        high, low = _halves(digests[before == 0])
        order = np.argsort(high, kind="stable")
        high, low = high[order], low[order]
        if len(high):
            if self.runs and len(self.runs[-1][0]) + len(high) <= RUN_IDS:
                last_high, last_low = self.runs[-1]
                where = np.searchsorted(last_high, high)
                self.runs[-1] = (np.insert(last_high, where, high), np.insert(last_low, where, low))
            else:
                while self.runs:
                    self._spill_run(*self.runs.pop(0))
                self.runs.append((high, low))
        total = before + now
        for i in np.flatnonzero(total > 1):
            self.repeats[bytes(digests[i])] = int(total[i])

    def _spill_run(self, high: np.ndarray, low: np.ndarray) -> None:
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="kindful-etl-seen-ids-")  # noqa: SIM115
            weakref.finalize(self, self._spill.close)  # closed with this, never left open
        at = self._spill.seek(0, os.SEEK_END)
        self._spill.write(high.tobytes())
        self._spill.write(low.tobytes())
        self._spill.flush()
        bits = 64 * -(-_FILTER_BITS * len(high) // 64)
        marks = np.zeros(bits, dtype=bool)
        marks[_probes(high, low, bits).ravel()] = True
        self.spilled.append(
            _Spilled(at, len(high), high[::BLOCK].copy(), np.packbits(marks, bitorder="little"))
        )

"""How much of an export the reader has consumed: the bytes behind a progress bar.

`metered()` opens a block; the export that `iter_export` reads inside it (directly or through
`prepare_export`) reports to the block's `ReadMeter`, whose `bytes_read` / `bytes_total` a
caller asks once per chunk. Nothing is done per row or per read: the meter only sums the
counters the reader keeps anyway for the input limit (`source._Counted`).

    with metered() as meter:
        for chunk in iter_export(uri):
            show(meter.bytes_read, meter.bytes_total, ...)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from pipelines.read.source import _Counted, _Source

__all__ = ["ReadMeter", "current_meter", "metered"]

# The meter of the `metered()` block being run, if any (a generator runs in its caller's context,
# so the reader sees it however many layers iterate it).
_METER: ContextVar[ReadMeter | None] = ContextVar("kindful_etl_read_meter", default=None)


class ReadMeter:
    """How much of the source the reader has consumed, for progress: cheap to ask per chunk.

    `bytes_read` counts the bytes as stored (a gzip file's compressed bytes) and reaches
    `bytes_total` once the file is read; `bytes_total` is None when the size is unknown (an
    http response without a length). A source read twice (chunked JSON lines: a pass for the
    keys, then the rows) counts both passes against twice its size. An XLSX workbook is parsed
    by openpyxl from the file, not through the counted stream, so it reports no bytes (0 of
    unknown). Only the first export opened in a block is measured.
    """

    def __init__(self) -> None:
        self._sources: list[_Counted] = []
        self._passes = 1
        self._measured = True

    def attach(self, source: _Source, *, chunked: bool, again: bool = False) -> bool:
        """Measure an opened source (`again`: the same export opened for its second pass);
        False when this meter measures another export already."""
        if source.counted is None or (self._sources and not again):
            return False
        if not self._sources:
            self._passes = 2 if source.kind == "jsonl" and chunked else 1
            self._measured = source.kind != "xlsx"
        self._sources.append(source.counted)
        return True

    @property
    def bytes_read(self) -> int:
        if not self._measured:
            return 0
        return sum(counted.count for counted in self._sources)

    @property
    def bytes_total(self) -> int | None:
        if not self._sources or not self._measured or self._sources[0].total is None:
            return None
        return self._sources[0].total * self._passes


def current_meter() -> ReadMeter | None:
    """The meter of the `metered()` block being run, if any."""
    return _METER.get()


@contextlib.contextmanager
def metered() -> Iterator[ReadMeter]:
    """A `ReadMeter` for the export read inside the block (see the module doc)."""
    meter = ReadMeter()
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)

"""Prepare an export's chunks on worker processes (opt-in: `KINDFUL_ETL_PROCESSES=N`).

The main process reads the chunks (so the reader's limits, its byte meter and its errors stay in
one place), hands each to a worker process and takes the results back in file order. A chunk's
map, normalize, ids and validation depend on nothing else, except one thing: the occurrence
suffix of a derived record id (`-2` on the second identical gift) counts the rows before it in
the whole file. A worker derives ids as if its chunk were the file; the main process then adds
what earlier chunks saw (`Occurrences`), which gives the ids a one-process run gives.

Results come back with their text columns Arrow-backed: pickling a 100k-row frame of Python
strings costs ~1 s across the process boundary, its Arrow buffers a few milliseconds.

Workers fork from a forkserver that imported this module once (no per-worker import), ignore
Ctrl-C (the main process stops the run and terminates them) and end with the run's process.
"""

from __future__ import annotations

import functools
import itertools
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from pipelines.errors import InternalError, KindfulEtlError, internal_error
from pipelines.heap import TRIM_EVERY, give_back_free_memory
from pipelines.mapping.spec import Mapping
from pipelines.normalize.arrow_text import arrow_from_objects
from pipelines.settings_env import positive_whole_number
from pipelines.transform.ahead import ahead
from pipelines.transform.chunk import PreparedChunk, finish_chunk, normalize_chunk, prepare_chunk
from pipelines.transform.ids import ID_PREFIX, RECORD_IDENTITY, IdAssigner
from pipelines.transform.options import RunOptions
from pipelines.transform.seen_ids import SeenIds
from schemas.columns import FORMATS

__all__ = [
    "MIN_CHUNKS",
    "PROCESSES_ENV",
    "WORKER_CHUNK_ROWS",
    "Occurrences",
    "derived_numbers",
    "prepare_chunks",
    "worker_count",
]

# Not KINDFUL_ETL_WORKERS: that is sync_inbox's thread count, and one setting meaning both would
# start N processes in each of N concurrent validations.
PROCESSES_ENV: Final = "KINDFUL_ETL_PROCESSES"
# A file of fewer chunks is prepared in one process: starting workers costs more than it saves.
MIN_CHUNKS: Final = 4
WORKER_CHUNK_ROWS: Final = 25_000
_LOG = logging.getLogger(__name__)
_BASE_LENGTH: Final = len(ID_PREFIX) + 24  # "ke-" + the digest's 24 hex digits


def worker_count() -> int:
    """`KINDFUL_ETL_PROCESSES`, else 1: one process.

    Measured on 2 cores at 1M rows (bench/results.md), workers did not pay: the main process's
    own share (reading, writing, passing chunks) is most of a run, and the processes' memory
    adds up. A machine with more cores may set it.
    """
    return positive_whole_number(PROCESSES_ENV, 1)


def prepare_chunks(
    chunks: Iterator[pd.DataFrame], mapping: Mapping | None, options: RunOptions, workers: int
) -> Iterator[PreparedChunk]:
    """`prepare_chunk` of each chunk, in order; on `workers` processes when there are
    MIN_CHUNKS chunks or more."""
    head: deque[pd.DataFrame] = deque()
    if workers >= 2:  # a look ahead: is the file long enough to pay for the processes?
        head.extend(chunk for _, chunk in zip(range(MIN_CHUNKS), chunks, strict=False))
    chunks = itertools.chain(_handed_over(head), chunks)  # no chunk kept here once handed on
    if len(head) < MIN_CHUNKS:
        assigner = IdAssigner(FORMATS[options.data_format], options.source_system)
        normalize = functools.partial(normalize_chunk, mapping=mapping, options=options)
        prepared = ahead(chunks, normalize, name="kindful-etl-ahead")
        for number, done in enumerate(prepared, 1):
            if number % TRIM_EVERY == 0:
                give_back_free_memory()
            yield finish_chunk(done, options, assigner)
        return
    yield from _on_workers(chunks, mapping, options, workers)


def _handed_over(chunks: deque[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    while chunks:
        yield chunks.popleft()


def _on_workers(
    chunks: Iterator[pd.DataFrame], mapping: Mapping | None, options: RunOptions, workers: int
) -> Iterator[PreparedChunk]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    pool = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(mapping, options, os.getpid()),
    )
    occurrences = Occurrences()
    read: deque[pd.DataFrame] = deque()  # chunks read and not yet yielded, in order
    asked: deque[Future[_Shipped]] = deque()
    finished = False
    try:
        try:
            for chunk in chunks:
                read.append(chunk)
                asked.append(pool.submit(_prepare_here, chunk))
                while len(asked) > workers:  # one chunk read ahead of the busy workers
                    yield _received(read, asked, occurrences)
            while asked:
                yield _received(read, asked, occurrences)
        except BrokenProcessPool:
            # Workers that cannot start (a main module they cannot import, no memory for a
            # process): the rest of the file here, with the ids the workers' part counted.
            _LOG.warning("transform workers stopped; going on in one process")
            assigner = IdAssigner(FORMATS[options.data_format], options.source_system)
            assigner.seen = occurrences.seen
            for chunk in itertools.chain(read, chunks):
                yield prepare_chunk(chunk, mapping, options, assigner)
        finished = True
    finally:
        if not finished:  # an error or a stop: nothing of the run keeps running
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class _Shipped:
    """A worker's answer: the chunk's outcome without its source rows (the reader still has
    them), and the derived record ids in row order with their row labels."""

    accepted: pd.DataFrame
    rejects: pd.DataFrame
    warnings: pd.DataFrame
    rejected_rows: pd.Index
    ignored_columns: tuple[str, ...]
    derived_column: str | None
    derived_rows: np.ndarray
    derived_ids: np.ndarray
    derived_digests: np.ndarray
    derived_within: np.ndarray


_WORKER: dict[str, Any] = {}


def _start_worker(mapping: Mapping | None, options: RunOptions, run_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(run_pid,), daemon=True).start()
    _WORKER["mapping"] = mapping
    _WORKER["options"] = options


def _end_with(run_pid: int) -> None:
    """End this worker when the run's process ends, however it ends (SIGKILL included).

    Not PR_SET_PDEATHSIG: a worker's parent is the forkserver, which lives on as long as a
    worker holds its pipe, and the pool's own pipes stay open in the workers.
    """
    try:
        handle = os.pidfd_open(run_pid)
    except (AttributeError, OSError):  # not Linux 5.3+: look every second instead
        while _alive(run_pid):
            time.sleep(1.0)
    else:
        select.select([handle], [], [])
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a pid reused by another user's process
        return False
    return True


def _prepare_here(chunk: pd.DataFrame) -> _Shipped:
    options: RunOptions = _WORKER["options"]
    ids = _ChunkIds(FORMATS[options.data_format], options.source_system)
    try:
        prepared = prepare_chunk(chunk, _WORKER["mapping"], options, ids)
    except KindfulEtlError:
        raise
    except Exception as error:  # its text may quote donor data
        raise InternalError(internal_error(error)) from None
    digests, within = derived_numbers(ids.derived_ids)
    return _Shipped(
        accepted=_arrow_text(prepared.accepted),
        rejects=prepared.rejects,
        warnings=prepared.warnings,
        rejected_rows=prepared.rejected_rows,
        ignored_columns=prepared.ignored_columns,
        derived_column=ids.derived_column,
        derived_rows=ids.derived_rows,
        derived_ids=ids.derived_ids,
        derived_digests=digests,
        derived_within=within,
    )


def _received(
    read: deque[pd.DataFrame], asked: deque[Future[_Shipped]], occurrences: Occurrences
) -> PreparedChunk:
    """The first chunk's result, once its worker is done (both queues lose their head)."""
    shipped = asked[0].result()
    chunk = read.popleft()
    asked.popleft()
    accepted = shipped.accepted
    if shipped.derived_column is not None and len(shipped.derived_ids):
        final = occurrences.settle(
            shipped.derived_ids, shipped.derived_digests, shipped.derived_within
        )
        changed = np.flatnonzero(final != shipped.derived_ids)
        if len(changed):
            accepted = _replaced(
                accepted, shipped.derived_column, shipped.derived_rows[changed], final[changed]
            )
    return PreparedChunk(
        source=chunk,
        accepted=accepted,
        rejects=shipped.rejects,
        warnings=shipped.warnings,
        rejected_rows=shipped.rejected_rows,
        ignored_columns=shipped.ignored_columns,
    )


def _replaced(
    frame: pd.DataFrame, column: str, rows: np.ndarray, values: np.ndarray
) -> pd.DataFrame:
    """`frame` with `column` set to `values` on the rows labelled `rows` that it holds."""
    keep = np.isin(rows, frame.index.to_numpy())
    if not keep.any():
        return frame
    frame = frame.copy(deep=False)
    current = frame[column]
    texts = current.to_numpy(dtype=object, copy=True)
    texts[frame.index.get_indexer(pd.Index(rows[keep]))] = values[keep]
    frame[column] = pd.Series(texts, index=frame.index, dtype=current.dtype)
    return frame


class _ChunkIds(IdAssigner):
    """An IdAssigner for one chunk that remembers which record ids it derived."""

    derived_column: str | None = None
    derived_rows: np.ndarray = np.zeros(0, dtype=np.int64)
    derived_ids: np.ndarray = np.zeros(0, dtype=object)

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        identity = RECORD_IDENTITY.get(self.fmt.name)
        if identity is None:
            return super().assign(frame)
        column = self.derived_column = identity[0]
        missing = (
            frame[column].isna().to_numpy(dtype=bool)
            if column in frame.columns
            else np.ones(len(frame), dtype=bool)
        )
        frame = super().assign(frame)
        self.derived_rows = np.asarray(frame.index[missing], dtype=np.int64)
        self.derived_ids = frame[column].to_numpy(dtype=object)[missing]
        return frame


class Occurrences:
    """The occurrence numbers of derived record ids across chunks prepared separately.

    A chunk's ids arrive numbered within the chunk (`ke-<digest>`, `ke-<digest>-2`, ...);
    `settle` adds the number of times each digest was handed out in earlier chunks, as one
    IdAssigner going through the whole file would have.
    """

    def __init__(self) -> None:
        self.seen = SeenIds()

    def settle(self, ids: np.ndarray, digests: np.ndarray, within: np.ndarray) -> np.ndarray:
        """The chunk's derived ids (row order) with the file-wide occurrence numbers, given
        each id's digest and its number within the chunk (`derived_numbers`)."""
        distinct, codes = np.unique(digests, return_inverse=True)
        before = self.seen.get(distinct)
        self.seen.add(distinct, before, np.bincount(codes, minlength=len(distinct)))
        earlier = before[codes]
        later = np.flatnonzero(earlier > 0)
        if not len(later):
            return np.asarray(ids, dtype=object)
        out = np.array(ids, dtype=object)
        number = within[later] + earlier[later] + 1
        bases = [text[:_BASE_LENGTH] for text in out[later].tolist()]
        out[later] = [f"{base}-{n}" for base, n in zip(bases, number.tolist(), strict=True)]
        return out


def derived_numbers(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each derived id's digest (12 bytes) and its 0-based number among the equal ones before
    it (`ke-<24 hex>` is 0, `ke-<24 hex>-2` is 1)."""
    texts = pd.Series(ids, dtype="str")
    hexes = "".join(texts.str.slice(len(ID_PREFIX), _BASE_LENGTH).tolist())
    digests = np.frombuffer(bytes.fromhex(hexes), dtype="S12")
    suffix = pd.to_numeric(texts.str.slice(_BASE_LENGTH + 1), errors="coerce")
    return digests, suffix.fillna(1).to_numpy(dtype=np.int64) - 1


def _arrow_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as Arrow-backed strings, so the frame crosses processes as buffers."""
    out = frame.copy(deep=False)
    for position in range(out.shape[1]):
        values = out.iloc[:, position]
        array = arrow_from_objects(values.to_numpy()) if values.dtype == object else None
        if array is not None:
            out.isetitem(position, pd.array(array, dtype="str"))
    return out

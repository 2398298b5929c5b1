"""An export -> prepared chunks, in file order: the transform half of a run.

Works chunk by chunk so a large export never needs to fit in memory; a chunk's index holds the
0-based record numbers of the whole file, so row numbers do not depend on the chunk size. A file
of several chunks is prepared on every core (`parallel`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipelines.arrow_memory import use_lean_pool
from pipelines.mapping.spec import Mapping
from pipelines.read.chunk_rows import DEFAULT_CHUNK_ROWS
from pipelines.read.export import iter_export
from pipelines.transform.chunk import PreparedChunk, prepare_chunk
from pipelines.transform.options import RunOptions
from pipelines.transform.parallel import WORKER_CHUNK_ROWS, prepare_chunks, worker_count

__all__ = ["PreparedChunk", "prepare_chunk", "prepare_export"]


def prepare_export(
    uri: str,
    mapping: Mapping | None,
    options: RunOptions,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workers: int | None = None,
) -> Iterator[PreparedChunk]:
    """Read `uri` chunk by chunk and prepare each chunk; ids are derived across the whole file.

    `workers`: processes for the transform (default `KINDFUL_ETL_PROCESSES`, else one);
    with more than one, chunks are at most WORKER_CHUNK_ROWS rows: each process holds a chunk
    and its intermediate copies, so smaller chunks keep the processes' sum of memory down.
    """
    use_lean_pool()
    count = worker_count() if workers is None else workers
    rows = chunk_rows if count < 2 else min(chunk_rows, WORKER_CHUNK_ROWS)
    return prepare_chunks(iter_export(uri, chunk_rows=rows), mapping, options, count)

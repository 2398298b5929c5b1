"""Our transform as the import flow runs it, minus Prefect: validation files plus gzipped batches.

    python bench/batches.py SOURCE OUT_DIR [--mapping FILE] [--batch-rows N] [--write-only]

Runs what the flow's `prepare_batches` task runs (`pipelines.transform.job.prepare_run`), so
its time and peak memory are the transform's own. With --write-only, the accepted rows are
prepared first and only the batch writing is timed, against pandas writing the same rows with
`to_csv(compression="gzip")` at its defaults, alternating, and the medians are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.mapping.spec import load_mapping, resolve_format  # noqa: E402
from pipelines.outputs.batches import DEFAULT_BATCH_ROWS, BatchWriter  # noqa: E402
from pipelines.transform.job import prepare_run  # noqa: E402
from pipelines.transform.options import resolve_options  # noqa: E402
from pipelines.transform.prepare import prepare_export  # noqa: E402


def _options(mapping_path: str) -> tuple[object, object]:
    mapping = load_mapping(mapping_path)
    fmt = resolve_format(None, mapping)
    return mapping, resolve_options(fmt.name, mapping)


def run(source: str, out: Path, mapping_path: str, batch_rows: int) -> dict[str, Any]:
    """prepare_batches without Prefect: `prepare_run`, the run files and the batches."""
    _, options = _options(mapping_path)
    prepared = prepare_run(source, options, out, batch_rows)  # type: ignore[arg-type]
    if prepared.error:
        raise SystemExit(prepared.error)
    return {
        "rows_read": prepared.summary["rows_read"],
        "batches": len(prepared.batches),
        "batch_rows": [batch.rows for batch in prepared.batches],
    }


def write_only(
    source: str, out: Path, mapping_path: str, batch_rows: int, repeat: int
) -> dict[str, float]:
    """Median seconds to write the accepted rows as our batches and as pandas' gzip CSV."""
    mapping, options = _options(mapping_path)
    accepted = [c.accepted for c in prepare_export(source, mapping, options)]  # type: ignore[arg-type]
    whole = pd.concat(accepted)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        batches = BatchWriter(out / "batches", batch_rows)
        for frame in accepted:
            batches.add(frame)
        batches.close()
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        whole.to_csv(out / "pandas.csv.gz", index=False, compression="gzip")
        theirs.append(time.perf_counter() - start)
    size = sum(b.path.stat().st_size for b in batches.batches)
    return {
        "rows": len(whole),
        "ours_s": statistics.median(ours),
        "pandas_gzip_s": statistics.median(theirs),
        "ratio": statistics.median(o / t for o, t in zip(ours, theirs, strict=True)),
        "ours_bytes": size,
        "pandas_bytes": (out / "pandas.csv.gz").stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("out", type=Path)
    parser.add_argument("--mapping", default=str(REPO / "bench" / "export.mapping.yaml"))
    parser.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS)
    parser.add_argument("--write-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.write_only:
        result: dict[str, float] | dict[str, Any] = write_only(
            args.source, args.out, args.mapping, args.batch_rows, args.repeat
        )
    else:
        result = run(args.source, args.out, args.mapping, args.batch_rows)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

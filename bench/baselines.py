"""The floors our pipeline is compared with: read the export, write the same rows back.

    python bench/baselines.py {pandas,polars} {csv,gzip} SOURCE DEST

pandas: `read_csv` with its defaults, then `to_csv(index=False)` (plain) or
`to_csv(index=False, compression="gzip")` (gzip at pandas' default settings, level 9): the floor
for any pandas pipeline. polars: `read_csv` then `write_csv` (gzip: polars' own gzip writer at its
default level): the floor for this machine. Each run is its own process so peak memory is its own.
"""

from __future__ import annotations

import sys


def pandas_copy(source: str, dest: str, gzip: bool) -> int:
    import pandas as pd

    frame = pd.read_csv(source)
    frame.to_csv(dest, index=False, compression="gzip" if gzip else None)
    return len(frame)


def polars_copy(source: str, dest: str, gzip: bool) -> int:
    import polars as pl  # type: ignore[import-not-found,unused-ignore]

    frame = pl.read_csv(source, infer_schema_length=10_000)
    frame.write_csv(dest, compression="gzip" if gzip else "uncompressed")
    return int(frame.height)


def main(argv: list[str]) -> None:
    library, kind, source, dest = argv
    copy = {"pandas": pandas_copy, "polars": polars_copy}[library]
    rows = copy(source, dest, gzip={"csv": False, "gzip": True}[kind])
    print(f"{library} {kind}: {rows} rows")


if __name__ == "__main__":
    main(sys.argv[1:])

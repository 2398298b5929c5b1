"""How many rows a chunk holds by default (a module of its own: the CLI's options read it
without importing pandas)."""

from __future__ import annotations

# Memory is bounded by a chunk and its intermediate copies: 1M rows in 50k-row chunks peak at
# ~470 MB, in 100k-row chunks at ~640 MB, in the same time (bench/results.md).
DEFAULT_CHUNK_ROWS = 50_000

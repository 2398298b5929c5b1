"""How many rows a chunk holds by default (a module of its own: the CLI's options read it
without importing pandas)."""

from __future__ import annotations

# Memory is bounded by the chunks in flight (one read and normalized ahead, one finished, one
# being written) and their intermediate copies: validate of 1M rows peaks at ~460 MB in 40k-row
# chunks, ~480 MB in 45k and ~490 MB in 50k, with 45k-50k ~3% faster (bench/results.md).
DEFAULT_CHUNK_ROWS = 40_000

"""How many rows a chunk holds by default (a module of its own: the CLI's options read it
without importing pandas)."""

from __future__ import annotations

# Memory is bounded by the chunks in flight (one read and normalized ahead, one finished, one
# being written) and their intermediate copies: 1M rows peak at ~445 MB in 40k-row chunks
# (bench/results.md); 50k-row chunks were ~5% faster but peaked near 500 MB.
DEFAULT_CHUNK_ROWS = 40_000

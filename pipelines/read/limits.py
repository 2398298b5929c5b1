"""Size limits on what an export or a mapping may cost, each raised by an environment variable.

Inboxes and drop buckets take files from many hands; a few kilobytes can ask for gigabytes (a
gzip bomb, a header of a million columns, a YAML alias bomb). Each limit is checked while the
file streams in, so a hostile file is refused after reading about as much as the limit, and the
refusal names the variable that raises it. The defaults sit well above real donor exports.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from pipelines.settings_env import positive_whole_number

__all__ = ["ENV_PREFIX", "RATIO_FLOOR_BYTES", "Limits", "env_name", "human_bytes"]

ENV_PREFIX = "KINDFUL_ETL_MAX_"
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
# The compression ratio is judged only past this much output: a small file may compress well.
RATIO_FLOOR_BYTES = 16 * MiB


@dataclass(frozen=True)
class Limits:
    """One attribute per limit; its environment variable is `KINDFUL_ETL_MAX_<NAME>`."""

    input_bytes: int = 4 * GiB  # bytes read from the source as stored (before gunzip)
    decompressed_bytes: int = 8 * GiB  # bytes after gunzip, and the members of an XLSX zip
    compression_ratio: int = 100  # decompressed / compressed, once past 16 MiB decompressed
    columns: int = 2000  # header width of a CSV or XLSX
    json_keys: int = 2000  # distinct keys of a JSON lines file
    field_bytes: int = 4 * MiB  # one value: a CSV field (quoted or not), a JSON value, a cell
    line_bytes: int = 16 * MiB  # one CSV record (quoted line breaks included) or JSON line
    xlsx_rows: int = 1_048_576  # Excel's own row limit
    xlsx_shared_strings: int = 1_000_000  # openpyxl holds them all (~250 bytes each)
    reject_chars_per_row: int = 16_000_000  # characters one record may write to rejects.csv
    mapping_bytes: int = 256 * KiB  # a mapping file
    mapping_nodes: int = 100_000  # YAML nodes of a mapping once its aliases are expanded

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, overridden by any `KINDFUL_ETL_MAX_*` variable that is set."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for spec in fields(cls):
            value = positive_whole_number(env_name(spec.name), 0, env)
            if value:
                values[spec.name] = value
        return cls(**values)

    def setting(self, name: str) -> str:
        """`KINDFUL_ETL_MAX_COLUMNS=2000`: how a refusal says which limit to raise."""
        return f"{env_name(name)}={getattr(self, name)}"


def env_name(attribute: str) -> str:
    return ENV_PREFIX + attribute.upper()


def human_bytes(count: int) -> str:
    """1048576 -> "1 MiB"; exact multiples only, else the plain number of bytes."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"

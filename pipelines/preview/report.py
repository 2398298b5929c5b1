"""The preview's result and preview.csv, the file an analyst opens to see every row's verdict.

It is for people and holds donor names and emails: formulas neutralized as in rejects.csv, the
file 0600 in a private folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.outputs.csv_text import write_csv
from pipelines.outputs.private_files import open_private_text, private_dir
from pipelines.outputs.validation_files import neutralize_formulas
from pipelines.preview.verdicts import VERDICTS

__all__ = ["PreviewResult", "write_preview"]


@dataclass(frozen=True)
class PreviewResult:
    """Per-row verdicts (PREVIEW_COLUMNS, by source_row) and what was read from Kindful."""

    rows: pd.DataFrame
    data_format: str
    action: str
    match_by: dict[str, str]
    source: str
    rows_read: int
    kindful_reads: dict[str, int]

    @property
    def counts(self) -> dict[str, int]:
        found = self.rows["verdict"].value_counts()
        return {verdict: int(found.get(verdict, 0)) for verdict in VERDICTS}


def write_preview(result: PreviewResult, out_dir: Path) -> Path:
    """preview.csv (UTF-8, no BOM) in `out_dir`; returns its path."""
    private_dir(out_dir)
    path = out_dir / "preview.csv"
    with open_private_text(path, "w") as handle:
        write_csv(neutralize_formulas(result.rows), handle)
    return path

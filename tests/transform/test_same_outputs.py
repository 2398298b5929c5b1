"""Byte for byte what the code before issue 17 wrote: every sample and a multi-chunk export.

The digests in expected/outputs.json come from commit be76a44 (no pyarrow installed: pandas
object strings, one process, the csv module's writer), by `same_outputs.py`. Arrow-backed
strings, the vectorized normalizers, the new CSV writer and the worker processes must not change
a byte of normalized.csv, rejects.csv, warnings.csv, summary.json or the batches.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from same_outputs import CASES, outputs_of

from pipelines.transform.parallel import PROCESSES_ENV

EXPECTED = json.loads((Path(__file__).parent / "expected" / "outputs.json").read_text())


@pytest.mark.parametrize("case", sorted(set(CASES) - {"generated_6000"}))
def test_a_samples_outputs_are_the_bytes_written_before(case: str, tmp_path: Path) -> None:
    assert outputs_of(case, tmp_path) == EXPECTED[case]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_multi_chunk_exports_outputs_are_the_bytes_written_before(
    workers: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROCESSES_ENV, workers)
    found = outputs_of("generated_6000", tmp_path)
    assert len([name for name in found if name.endswith(".csv.gz")]) == 15  # 5,7xx rows / 400
    assert found == EXPECTED["generated_6000"]

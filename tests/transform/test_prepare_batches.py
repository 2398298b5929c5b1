"""The flow's prepare task: a file that fails part way leaves no batches and no run files."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect import flow

from flows.tasks import prepare_batches
from pipelines.transform.job import PreparedRun
from pipelines.transform.options import resolve_options

pytestmark = pytest.mark.slow


@pytest.mark.usefixtures("prefect_server")
def test_a_file_failing_after_the_first_chunk_leaves_nothing_behind(tmp_path: Path) -> None:
    rows = 100_000 + 5  # past the reader's first 100k-row chunk, so batches are already written
    source = tmp_path / "ragged.csv"
    body = "".join(f"Ada,Example{i},ada{i}@example.org\n" for i in range(rows))
    source.write_text("first_name,last_name,email\n" + body + "Grace,Tester,g@example.org,extra\n")
    out = tmp_path / "out"
    options = resolve_options("contact", None)

    @flow
    def prepare_only() -> PreparedRun:
        return prepare_batches(str(source), options, out, 10_000)

    prepared = prepare_only()
    assert prepared.error is not None and "record 100006" in prepared.error
    assert prepared.batches == []
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == []

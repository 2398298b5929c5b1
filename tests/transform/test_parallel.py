"""Worker processes prepare chunks as one process would: same ids, same errors, no leftovers."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.errors import InputError, InternalError
from pipelines.transform import parallel
from pipelines.transform.ids import IdAssigner
from pipelines.transform.options import RunOptions
from pipelines.transform.parallel import PROCESSES_ENV, Occurrences, derived_numbers, worker_count
from pipelines.transform.prepare import prepare_export
from schemas.columns import FORMATS

GIFTS = "contact_with_transaction"
HEADER = "first_name,last_name,email,amount_in_cents,transaction_time\n"


def gift_rows(count: int) -> str:
    """Gifts of few donors with many exact repeats, so repeat suffixes cross chunk edges."""
    rng = np.random.default_rng(5)
    lines = []
    for n in rng.integers(0, 7, size=count).tolist():
        lines.append(f"Donor{n},Example,donor{n}@example.org,{500 + n % 3},2024-03-0{1 + n % 2}\n")
    return HEADER + "".join(lines)


def test_settled_chunk_ids_are_the_ids_of_one_pass() -> None:
    frame = pd.read_csv(io.StringIO(gift_rows(400)), dtype=object, keep_default_na=False)
    one_pass = IdAssigner(FORMATS[GIFTS], "test").assign(frame.copy())["transaction_id"]
    occurrences = Occurrences()
    settled = []
    for start in range(0, 400, 37):
        chunk = IdAssigner(FORMATS[GIFTS], "test").assign(frame.iloc[start : start + 37].copy())
        ids = chunk["transaction_id"].to_numpy(dtype=object)
        settled += occurrences.settle(ids, *derived_numbers(ids)).tolist()
    assert settled == one_pass.tolist()
    assert any(i.endswith("-40") for i in settled)  # numbered past one chunk's own count


def _frames(source: Path, workers: int) -> list[pd.DataFrame]:
    options = RunOptions(GIFTS, source_system="test")
    chunks = prepare_export(str(source), None, options, chunk_rows=50, workers=workers)
    return [c.accepted for c in chunks]


def test_workers_give_the_rows_one_process_gives(tmp_path: Path) -> None:
    source = tmp_path / "gifts.csv"
    source.write_text(gift_rows(300))
    one, two = (pd.concat(_frames(source, n)) for n in (1, 2))
    assert len(one) == 300
    pd.testing.assert_frame_equal(one.astype(object), two.astype(object))


def test_a_workers_input_error_reaches_the_caller_as_it_is(tmp_path: Path) -> None:
    source = tmp_path / "no-amounts.csv"
    source.write_text("first_name,last_name\n" + "Ada,Example\n" * 250)
    with pytest.raises(InputError, match="amount_in_cents"):
        _frames(source, 2)


def test_a_bug_in_a_worker_is_reported_without_the_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> None:
        raise ValueError("could not read 'ada@example.org'")

    monkeypatch.setattr(parallel, "prepare_chunk", broken)
    monkeypatch.setitem(parallel._WORKER, "options", RunOptions(GIFTS))
    monkeypatch.setitem(parallel._WORKER, "mapping", None)
    with pytest.raises(InternalError) as caught:
        parallel._prepare_here(pd.DataFrame({"email": ["ada@example.org"]}))
    assert "ada@example.org" not in str(caught.value)
    assert str(caught.value).startswith("internal error ValueError at tests/transform/")


def test_workers_that_cannot_start_leave_the_run_to_this_process(tmp_path: Path) -> None:
    """A main module the workers cannot import (`python -` reads it from stdin)."""
    source = tmp_path / "gifts.csv"
    source.write_text(gift_rows(300))
    script = (
        "from pipelines.transform.options import RunOptions\n"
        "from pipelines.transform.prepare import prepare_export\n"
        f"chunks = prepare_export({str(source)!r}, None, RunOptions({GIFTS!r}), chunk_rows=50,"
        " workers=2)\n"
        "print(sum(len(c.accepted) for c in chunks))\n"
    )
    done = subprocess.run(
        [sys.executable, "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "300"
    assert "going on in one process" in done.stderr


@pytest.mark.parametrize(("text", "count"), [("3", 3), ("1", 1), (" 2 ", 2)])
def test_the_worker_count_setting(monkeypatch: pytest.MonkeyPatch, text: str, count: int) -> None:
    monkeypatch.setenv(PROCESSES_ENV, text)
    assert worker_count() == count


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_a_bad_worker_count_is_one_line(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(PROCESSES_ENV, text)
    with pytest.raises(InputError, match=f"^{PROCESSES_ENV} must be a positive whole number$"):
        worker_count()


def test_by_default_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROCESSES_ENV, raising=False)
    assert worker_count() == 1

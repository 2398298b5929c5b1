"""`kindful-etl validate` by subprocess, on every data_samples file and on broken input."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
CLI = [str(Path(sys.executable).parent / "kindful-etl")]

# (file, format, mapping, rejected records) — the bad rows are described in data_samples/README.md
SAMPLE_RUNS = [
    ("contacts.csv", "contact", None, {6, 19}),
    ("contact_with_transaction.csv", "contact_with_transaction", None, {5, 11, 16}),
    ("split_transaction.csv", "split_transaction", None, {9}),
    ("contact_with_note.jsonl", "contact_with_note", None, {9}),
    ("spreadsheet_contacts.xlsx", "contact", None, set()),
    ("classy_transactions.csv", None, "classy_transactions.mapping.yaml", {8, 17}),
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False, cwd=ROOT)


@pytest.mark.parametrize(("name", "data_format", "mapping", "bad_rows"), SAMPLE_RUNS)
def test_every_sample_accounts_for_every_record(
    tmp_path: Path, name: str, data_format: str | None, mapping: str | None, bad_rows: set[int]
) -> None:
    args = ["validate", str(SAMPLES / name), "--out", str(tmp_path)]
    if data_format:
        args += ["--format", data_format]
    if mapping:
        args += ["--mapping", str(SAMPLES / mapping)]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    normalized = pd.read_csv(tmp_path / "normalized.csv", dtype=str, keep_default_na=False)
    rejects = pd.read_csv(tmp_path / "rejects.csv", dtype=str, keep_default_na=False)
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_rejected"]
    assert summary["rows_read"] > 0
    assert {int(r) for r in rejects["source_row"]} == bad_rows
    assert len(normalized) == summary["rows_accepted"]
    assert rejects["source_row"].nunique() == summary["rows_rejected"]
    assert not (tmp_path / "normalized.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert re.search(rf"rows read\s+{summary['rows_read']}\n", result.stdout)


def test_fail_on_rejects_exits_1(tmp_path: Path) -> None:
    result = run(
        "validate",
        str(SAMPLES / "contacts.csv"),
        "--format",
        "contact",
        "--out",
        str(tmp_path),
        "--fail-on-rejects",
    )
    assert result.returncode == 1


def broken_inputs(tmp: Path) -> dict[str, tuple[Path, list[str], str]]:
    empty = tmp / "empty.csv"
    empty.write_bytes(b"")
    noise = tmp / "noise.csv.gz"
    noise.write_bytes(gzip.compress(bytes(range(256)) * 4)[:100])
    no_amount = tmp / "no_amount.csv"
    no_amount.write_text("first_name,last_name,transaction_time\nAda,Example,1444762572\n")
    fine = tmp / "fine.csv"
    fine.write_text("first_name,last_name\nAda,Example\n")
    fmt = ["--format", "contact_with_transaction"]
    return {
        "empty file": (empty, ["--format", "contact"], "empty"),
        "truncated gzip": (noise, ["--format", "contact"], "cannot"),
        "missing columns": (no_amount, fmt, "missing column(s) amount_in_cents"),
        "missing file": (tmp / "nope.csv", ["--format", "contact"], "nope.csv"),
        "unknown format": (fine, ["--format", "contact_with_llama"], "is not one of 'contact'"),
        "bad timezone": (
            fine,
            ["--format", "contact", "--source-timezone", "Mars/Base"],
            "unknown source timezone",
        ),
        "update without updated_at": (
            fine,
            ["--format", "contact", "--action", "update"],
            "missing column(s) updated_at",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty file",
        "truncated gzip",
        "missing columns",
        "missing file",
        "unknown format",
        "bad timezone",
        "update without updated_at",
    ],
)
def test_unprocessable_input_ends_with_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    path, args, message = broken_inputs(tmp_path)[case]
    result = run("validate", str(path), *args, "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_validate_freezes_what_the_imports_built_once() -> None:
    """The collector skips the import-time objects (gc.freeze), and only those: a second call
    freezes nothing made since (a long-lived process keeps its garbage collectable)."""
    script = (
        "import gc\n"
        "from flows.cli.main import freeze_imports\n"
        "import pipelines.transform.job\n"
        "freeze_imports()\n"
        "frozen = gc.get_freeze_count()\n"
        "later = [[] for _ in range(1000)]\n"
        "freeze_imports()\n"
        "print(frozen, gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    frozen, after = map(int, done.stdout.split())
    assert frozen > 10_000  # pandas, pyarrow and ours
    assert after == frozen

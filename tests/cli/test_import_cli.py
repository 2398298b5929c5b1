"""`kindful-etl import` with no configuration: the embedded default, by subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
CLI = str(Path(sys.executable).parent / "kindful-etl")


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KINDFUL_", "AWS_", "PREFECT_API"))
    }
    env["KINDFUL_ETL_HOME"] = str(home)
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, check=False, cwd=home.parent, env=env
    )


def test_the_embedded_default_imports_then_skips_on_the_second_run(tmp_path: Path) -> None:
    home = tmp_path / "state"
    args = [
        "import",
        str(SAMPLES / "classy_transactions.csv"),
        "--mapping",
        str(SAMPLES / "classy_transactions.mapping.yaml"),
    ]
    first = run(home, *args, "--out", str(tmp_path / "first"))
    assert first.returncode == 0, first.stderr[-2000:]
    assert "Nothing is sent to Kindful" in first.stderr
    assert "Traceback" not in first.stderr
    report = json.loads((tmp_path / "first" / "reconciliation.json").read_text())
    assert report["status"] == "complete" and report["totals_close"]
    assert (report["rows_read"], report["rows_rejected"], report["rows_created"]) == (25, 2, 23)
    assert (home / "sandbox.db").exists() and (home / "ledger.db").exists()
    assert "totals close                           yes" in first.stdout

    second = run(home, *args)  # run files go under the state folder by default
    assert second.returncode == 0, second.stderr[-2000:]
    (run_dir,) = list((home / "runs").iterdir())
    again = json.loads((run_dir / "reconciliation.json").read_text())
    assert again["batches_submitted"] == 0 and again["rows_created"] == 0
    assert again["rows_already_imported"] == 23

    listing = run(home, "runs")
    assert listing.returncode == 0 and listing.stdout.count("complete") == 2
    shown = run(home, "runs", "show", report["run_id"])
    assert shown.returncode == 0 and "batch    1" in shown.stdout


def test_bad_input_to_import_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = run(tmp_path / "state", "import", str(tmp_path / "nope.csv"), "--format", "contact")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"kindful-etl: error: source not found: {tmp_path / 'nope.csv'}"
    ]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("first_name,last_name\nAda,Example,extra\n")
    result = run(tmp_path / "state", "import", str(ragged), "--format", "contact")
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "Traceback" not in result.stderr

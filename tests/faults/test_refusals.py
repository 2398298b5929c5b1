"""Kindful refusing a whole POST /imports (001: `{status: "error", message,
validation_messages}`): the batch is not imported, findings.csv says why, the staged file is
not kept, the command exits 1 with one line, and a later run submits the batch again.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli_env import cli_env

from pipelines.embedded.s3 import EmbeddedS3
from pipelines.load.ledger import FAILED, Ledger
from pipelines.staging.s3 import StagingSettings, ensure_bucket
from sandbox.serve import SandboxHandle

pytestmark = pytest.mark.slow

GIFTS = Path(__file__).resolve().parents[2] / "data_samples" / "contact_with_transaction.csv"
TOKEN = "refusal-token"
CLI = str(Path(sys.executable).parent / "kindful-etl")
WHY = "Couldn't find contact information for transaction"


@pytest.fixture
def staging(moto_s3: EmbeddedS3, tmp_path: Path) -> StagingSettings:
    settings = moto_s3.settings(bucket="refusals", prefix=f"{tmp_path.name}/")
    ensure_bucket(moto_s3.client(settings), settings)
    return settings


def run_cli(
    kindful: SandboxHandle, moto: EmbeddedS3, staging: StagingSettings, home: Path, out: Path
) -> subprocess.CompletedProcess[str]:
    env = cli_env(kindful, moto, staging, home, TOKEN)
    command = [CLI, "import", str(GIFTS), "--format", "contact_with_transaction"]
    return subprocess.run(
        [*command, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_a_refused_request_is_a_reported_failure_and_the_next_run_submits_again(
    kindful: SandboxHandle, moto_s3: EmbeddedS3, staging: StagingSettings, tmp_path: Path
) -> None:
    home = tmp_path / "state"
    kindful.set_faults(refuse_imports=[[WHY]])
    refused = run_cli(kindful, moto_s3, staging, home, tmp_path / "first")
    assert refused.returncode == 1, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("kindful-etl:")]
    assert len(errors) == 1 and "refused" in errors[0] and WHY in errors[0], refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr

    report = json.loads((tmp_path / "first" / "reconciliation.json").read_text())
    assert report["status"] == "failed" and report["totals_close"]
    assert report["rows_not_imported"] == report["rows_accepted"] == 17
    with (tmp_path / "first" / "findings.csv").open(newline="") as handle:
        findings = list(csv.DictReader(handle))
    assert [(f["code"], f["description"], f["source_row"]) for f in findings] == [
        ("request_refused", "The import request was refused", ""),
        ("request_refused", WHY, ""),
    ]
    # Nothing left staged, and the ledger says the batch failed (so it is submitted again).
    listing = moto_s3.client().list_objects_v2(Bucket=staging.bucket, Prefix=staging.prefix)
    assert not [o for o in listing.get("Contents", []) if o["Key"].endswith(".csv.gz")]
    ledger = Ledger(str(home / "ledger.db"))
    (run,) = ledger.runs()
    assert [b.status for b in (ledger.run(run.run_id) or (None, []))[1]] == [FAILED]
    ledger.close()

    again = run_cli(kindful, moto_s3, staging, home, tmp_path / "second")
    assert again.returncode == 0, again.stderr
    assert (
        json.loads((tmp_path / "second" / "reconciliation.json").read_text())["rows_created"] == 17
    )
    assert kindful.sandbox_requests().get("POST /imports") == 2

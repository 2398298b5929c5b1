"""No secret and no donor email leaves the data files: not in logs, artifacts, reports or ledger.

A full import runs with a known Kindful token, known AWS keys and the sample's donor emails; every
log line, artifact and output file is captured and searched.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import SecretStr

from flows.import_export import import_export
from flows.run_settings import use_settings
from pipelines.embedded.s3 import EmbeddedS3
from pipelines.kindful.settings import KindfulSettings
from pipelines.load.settings import ImportSettings
from pipelines.staging.s3 import ensure_bucket
from sandbox.serve import SandboxHandle

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"
GIFTS = SAMPLES / "contact_with_transaction.csv"
TOKEN = "kf-live-7c1e0d9a4b2f8e6d5c3b1a0f"
AWS_KEY_ID = "AKIALEAKTEST7EXAMPLE"
AWS_SECRET = "leakTestSecretKey/9f8e7d6c5b4a3f2e1d0c"
# Files that exist to carry donor data (the accepted rows and what to fix): emails may be there.
DATA_FILES = {"normalized.csv", "rejects.csv", "warnings.csv"}

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]


def donor_emails() -> set[str]:
    frame = pd.read_csv(GIFTS, sep=";", encoding="cp1252", dtype=str)
    return {e.strip().lower() for e in frame["email"].dropna() if "@" in e}


def forbidden() -> list[str]:
    return [TOKEN, AWS_KEY_ID, AWS_SECRET, "X-Amz-Signature", "X-Amz-Credential", *donor_emails()]


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [secret for secret in forbidden() if secret.lower() in lowered]


def test_a_full_import_leaks_no_secret_and_no_email(
    kindful: SandboxHandle,
    moto_s3: EmbeddedS3,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    assert len(donor_emails()) >= 5
    staging = moto_s3.settings(bucket="leaks", prefix="runs/")
    credentials = {"aws_access_key_id": AWS_KEY_ID, "aws_secret_access_key": AWS_SECRET}
    ensure_bucket(moto_s3.client(staging), staging)
    settings = ImportSettings(
        kindful=KindfulSettings(token=SecretStr(TOKEN), base_url=kindful.base_url),
        staging=staging,
        ledger=str(tmp_path / "ledger.db"),
        aws_credentials=credentials,
        poll_interval=0.05,
        batch_rows=5,
    )
    out = tmp_path / "out"
    with (
        caplog.at_level(logging.DEBUG, logger="pipelines"),
        caplog.at_level(logging.DEBUG, logger="flows"),
        caplog.at_level(logging.DEBUG, logger="sandbox"),
        caplog.at_level(logging.INFO),
        use_settings(settings),
    ):
        report = import_export(
            source=str(GIFTS),
            data_format="contact_with_transaction",
            out_dir=str(out),
        )
    assert isinstance(report, dict) and report["status"] == "complete"

    # Every log record, formatted with its arguments and any exception text.
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert caplog.records and not leaks(logged)
    printed = capfd.readouterr()
    assert not leaks(printed.out + printed.err)

    # Every run file except the data files, the batches and the ledger.
    checked = 0
    for path in out.rglob("*"):
        if path.is_file() and path.name not in DATA_FILES and path.parent.name != "batches":
            assert not leaks(path.read_text(errors="replace")), path.name
            checked += 1
    assert checked >= 3  # reconciliation.json, findings.csv, summary.json
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        dump = "\n".join(db.iterdump())
    assert "runs" in dump and not leaks(dump)

    # The Prefect artifacts of the run.
    from prefect.client.orchestration import get_client

    async def artifacts() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts()

    published = "\n".join(str(a.data) + str(a.description) for a in asyncio.run(artifacts()))
    assert report["run_id"] in published and not leaks(published)


def test_the_cli_keeps_the_token_and_keys_out_of_its_output(
    kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    staging = moto_s3.settings(bucket="leaks", prefix="cli/")
    ensure_bucket(moto_s3.client(staging), staging)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KINDFUL_", "AWS_", "PREFECT_API"))
    }
    env.update(
        KINDFUL_BASE_URL=kindful.base_url,
        KINDFUL_TOKEN=TOKEN,
        KINDFUL_ETL_STAGING_URI=staging.uri,
        KINDFUL_ETL_HOME=str(tmp_path / "state"),
        AWS_ENDPOINT_URL_S3=moto_s3.endpoint_url,
        AWS_ACCESS_KEY_ID=AWS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=AWS_SECRET,
        AWS_REGION="us-east-1",
    )
    cli = [str(Path(sys.executable).parent / "kindful-etl"), "import", str(GIFTS)]
    result = subprocess.run(
        [*cli, "--format", "contact_with_transaction", "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not leaks(result.stdout + result.stderr)
    # A wrong token: the error names the problem, not the token.
    env["KINDFUL_TOKEN"] = "wrong-" + TOKEN
    env["KINDFUL_ETL_HOME"] = str(tmp_path / "fresh-state")  # a ledger that knows nothing yet
    denied = subprocess.run(
        [*cli, "--format", "contact_with_transaction", "--out", str(tmp_path / "denied")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert denied.returncode != 0
    assert "couldn't be authenticated" in denied.stderr.lower() or "401" in denied.stderr
    assert TOKEN not in denied.stdout + denied.stderr
    assert not re.search(r"Traceback", denied.stderr)

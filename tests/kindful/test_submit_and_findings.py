"""Submission waits for Kindful to be ready; rows Kindful drops come back as findings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pydantic import SecretStr

from flows.import_export import import_export
from flows.run_settings import use_settings
from pipelines.embedded.s3 import EmbeddedS3
from pipelines.kindful.client import KindfulClient
from pipelines.kindful.errors import KindfulError
from pipelines.kindful.models import ImportRequest
from pipelines.kindful.settings import KindfulSettings
from pipelines.kindful.submit import SubmitSettings, wait_for_sync
from pipelines.load.settings import ImportSettings
from pipelines.staging.s3 import ensure_bucket
from sandbox.serve import SandboxHandle

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"


def client_for(kindful: SandboxHandle) -> KindfulClient:
    return KindfulClient(KindfulSettings(token=SecretStr(kindful.token), base_url=kindful.base_url))


def test_it_waits_while_jobs_are_queued_and_gives_up_after_the_bound(
    kindful: SandboxHandle,
) -> None:
    kindful.set_faults(hold_jobs=True)
    slept: list[float] = []
    with client_for(kindful) as client:
        job = client.submit_import(
            ImportRequest(
                data_format="contact",
                data=[{"id": "1", "first_name": "Ada", "last_name": "Example"}],
            )
        )
        patient = SubmitSettings(sync_wait_max=7, sync_wait_first=1)
        with pytest.raises(KindfulError, match="not ready after 7s"):
            wait_for_sync(client, patient, sleep=slept.append)
        assert slept == [1, 2, 4]  # exponential backoff, bounded by sync_wait_max
        kindful.set_faults(hold_jobs=False)
        assert client.wait_for_import(job.id, poll_interval=0.05).succeeded
        assert wait_for_sync(client, SubmitSettings(), sleep=slept.append) == 0


@pytest.mark.usefixtures("prefect_server")
def test_rows_kindful_drops_are_findings_tied_to_source_rows(
    kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    staging = moto_s3.settings(bucket="findings", prefix="runs/")
    ensure_bucket(moto_s3.client(staging), staging)
    settings = ImportSettings(
        kindful=KindfulSettings(token=SecretStr(kindful.token), base_url=kindful.base_url),
        staging=staging,
        ledger=str(tmp_path / "ledger.db"),
        aws_credentials=moto_s3.credentials(),
        poll_interval=0.05,
    )
    # Splits of transactions this Kindful has never seen: 001 says such rows are dropped.
    with use_settings(settings):
        report = import_export(
            source=str(SAMPLES / "split_transaction.csv"),
            data_format="split_transaction",
            out_dir=str(tmp_path / "out"),
        )
    assert isinstance(report, dict)
    assert report["status"] == "complete" and report["totals_close"]
    assert report["rows_dropped"] == report["rows_accepted"] == 16
    with (tmp_path / "out" / "findings.csv").open() as handle:
        findings = list(csv.DictReader(handle))
    rejected = {9}
    assert {int(f["source_row"]) for f in findings} == set(range(1, 18)) - rejected
    assert all(f["job_id"] and f["code"] for f in findings)

"""The scheduled inbox sync: everything pending imported exactly once, then moved aside."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.sync_inbox import sync_inbox
from pipelines.embedded.s3 import EmbeddedS3
from pipelines.load.settings import ImportSettings
from sandbox.serve import SandboxHandle

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]


def fill_inbox(inbox: Path) -> None:
    """Two exports, each with its own mapping, one of them in a sub-folder."""
    (inbox / "classy").mkdir(parents=True)
    shutil.copy(SAMPLES / "classy_transactions.csv", inbox / "classy" / "march.csv")
    shutil.copy(SAMPLES / "classy_transactions.mapping.yaml", inbox / "classy" / "mapping.yaml")
    shutil.copy(SAMPLES / "contacts.csv", inbox / "contacts.csv")
    (inbox / "contacts.mapping.yaml").write_text("data_format: contact\nsource_system: crm\n")


def posts(kindful: SandboxHandle) -> int:
    return kindful.sandbox_requests().get("POST /imports", 0)


def test_two_dropped_files_are_imported_once_and_not_again(
    settings: ImportSettings, kindful: SandboxHandle, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    fill_inbox(inbox)
    first = sync_inbox(str(inbox))
    assert sorted(first["processed"]) == ["classy/march.csv", "contacts.csv"]
    assert first["failed"] == []
    assert (inbox / "processed" / "classy" / "march.csv").exists()
    assert (inbox / "processed" / "classy" / "march.reconciliation.json").exists()
    assert (inbox / "processed" / "contacts.rejects.csv").exists()
    assert not (inbox / "contacts.csv").exists()
    records = kindful.records()
    submitted = posts(kindful)
    assert submitted == 2

    second = sync_inbox(str(inbox))
    assert second == {"processed": [], "already_imported": [], "failed": []}

    # The same export delivered again: recognized by the ledger, never imported twice.
    shutil.copy(SAMPLES / "contacts.csv", inbox / "contacts.csv")
    third = sync_inbox(str(inbox))
    assert third["already_imported"] == ["contacts.csv"]
    assert posts(kindful) == submitted
    assert kindful.records() == records


def test_a_file_that_cannot_be_imported_goes_to_failed_with_the_reason(
    settings: ImportSettings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "gifts.csv").write_text("first_name,last_name\nAda,Example\n")
    (inbox / "mapping.yaml").write_text("data_format: contact_with_transaction\n")
    outcome = sync_inbox(str(inbox))
    assert outcome["failed"] == ["gifts.csv"]
    reason = (inbox / "failed" / "gifts.error.txt").read_text()
    assert "missing column(s) amount_in_cents" in reason


def test_an_s3_inbox_is_synced_and_emptied(
    settings: ImportSettings,
    moto_s3: EmbeddedS3,
    kindful: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Exports are read with the standard AWS configuration, as a deployment would.
    for name, value in moto_s3.credentials().items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = moto_s3.client(settings.staging)
    client.create_bucket(Bucket="donor-inbox")
    client.upload_file(str(SAMPLES / "contacts.csv"), "donor-inbox", "drops/contacts.csv")
    client.put_object(
        Bucket="donor-inbox", Key="drops/mapping.yaml", Body=b"data_format: contact\n"
    )
    outcome = sync_inbox("s3://donor-inbox/drops/")
    assert outcome["processed"] == ["contacts.csv"]
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="donor-inbox")["Contents"]}
    assert "drops/contacts.csv" not in keys
    assert {"drops/processed/contacts.csv", "drops/processed/contacts.reconciliation.json"} <= keys
    assert len(kindful.records()["contacts"]) == 22


def test_validation_runs_on_a_dask_cluster(
    settings: ImportSettings, kindful: SandboxHandle, tmp_path: Path
) -> None:
    from distributed import LocalCluster
    from prefect_dask import DaskTaskRunner

    inbox = tmp_path / "inbox"
    fill_inbox(inbox)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        on_dask = sync_inbox.with_options(
            task_runner=DaskTaskRunner(address=cluster.scheduler_address)
        )
        outcome = on_dask(str(inbox))
    assert sorted(outcome["processed"]) == ["classy/march.csv", "contacts.csv"]
    assert posts(kindful) == 2

"""The import flow end to end over real HTTP: moto S3 + the sandbox Kindful + Prefect."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import SecretStr

import sandbox.fetch
from flows.import_export import import_export
from flows.run_settings import use_settings
from pipelines.embedded.s3 import EmbeddedS3
from pipelines.kindful.settings import KindfulSettings
from pipelines.load.ledger import SUBMITTED, Ledger
from pipelines.load.run import ImportFailed
from pipelines.load.settings import ImportSettings
from pipelines.staging.s3 import url_expired
from sandbox.serve import SandboxHandle

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"
GIFTS = SAMPLES / "contact_with_transaction.csv"

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]


@pytest.fixture
def settings(kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path) -> ImportSettings:
    staging = moto_s3.settings(bucket="e2e", prefix=f"{tmp_path.name}/")
    from pipelines.staging.s3 import ensure_bucket

    ensure_bucket(moto_s3.client(staging), staging)
    return ImportSettings(
        kindful=KindfulSettings(token=SecretStr(kindful.token), base_url=kindful.base_url),
        staging=staging,
        ledger=str(tmp_path / "ledger.db"),
        aws_credentials=moto_s3.credentials(),
        batch_rows=5,
        poll_interval=0.05,
        poll_timeout=30,
        target_name=f"sandbox:{tmp_path.name}",
    )


def run(settings: ImportSettings, out: Path, **kwargs: Any) -> dict[str, Any]:
    with use_settings(settings):
        report = import_export(
            source=kwargs.pop("source", str(GIFTS)),
            data_format=kwargs.pop("data_format", "contact_with_transaction"),
            out_dir=str(out),
            **kwargs,
        )
    assert isinstance(report, dict)
    return report


def posts(kindful: SandboxHandle) -> int:
    return kindful.sandbox_requests().get("POST /imports", 0)


def external_ids(kindful: SandboxHandle, kind: str) -> list[str]:
    return [r["external_id"] for r in kindful.records()[kind]]


def test_a_clean_run_accounts_for_every_row_and_a_rerun_changes_nothing(
    settings: ImportSettings, kindful: SandboxHandle, tmp_path: Path
) -> None:
    report = run(settings, tmp_path / "first")
    accepted = pd.read_csv(tmp_path / "first" / "normalized.csv", dtype=str)
    assert report["status"] == "complete"
    assert report["totals_close"]
    assert report["rows_read"] == 20 and report["rows_rejected"] == 3
    assert report["rows_created"] == len(accepted) == 17
    assert report["batches_submitted"] == len(report["batches"]) == 4  # 5 rows per batch
    assert sorted(external_ids(kindful, "transactions")) == sorted(accepted["transaction_id"])
    saved = json.loads((tmp_path / "first" / "reconciliation.json").read_text())
    assert saved["batches"][0]["job_id"] and saved["batches"][0]["stats"]["Transaction"] == 5
    submitted = posts(kindful)

    again = run(settings, tmp_path / "second")
    assert again["status"] == "complete" and again["totals_close"]
    assert again["batches_submitted"] == 0 and again["batches_skipped"] == 4
    assert again["rows_no_effect"] == again["rows_already_imported"] == 17
    assert posts(kindful) == submitted
    assert sorted(external_ids(kindful, "transactions")) == sorted(accepted["transaction_id"])


def test_staged_objects_are_deleted_after_reconciliation(
    settings: ImportSettings, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    run(settings, tmp_path / "out")
    listing = moto_s3.client(settings.staging).list_objects_v2(
        Bucket=settings.staging.bucket, Prefix=settings.staging.prefix
    )
    assert listing.get("KeyCount", 0) == 0


def test_a_job_pending_past_the_poll_timeout_is_followed_up_not_resubmitted(
    settings: ImportSettings, kindful: SandboxHandle, tmp_path: Path
) -> None:
    kindful.set_faults(hold_jobs=True)
    impatient = dataclasses.replace(settings, poll_timeout=0.5, batch_rows=100)
    with pytest.raises(Exception, match="still"):
        run(impatient, tmp_path / "first")
    book = Ledger(settings.ledger)
    (last,) = book.runs()
    _, batches = book.run(last.run_id) or (None, [])
    assert [b.status for b in batches] == [SUBMITTED]
    submitted = posts(kindful)

    kindful.set_faults(hold_jobs=False)
    report = run(dataclasses.replace(settings, batch_rows=100), tmp_path / "second")
    assert report["status"] == "complete" and report["rows_created"] == 17
    assert posts(kindful) == submitted  # polled the old job, did not resubmit
    assert len(external_ids(kindful, "transactions")) == 17


def test_a_crash_between_submit_and_bookkeeping_creates_no_duplicates(
    settings: ImportSettings,
    kindful: SandboxHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = Ledger.record_batch

    def crash_on_submit(self: Ledger, run_id: str, number: int, **fields: Any) -> None:
        if fields.get("status") == SUBMITTED:
            raise RuntimeError("killed after submit")
        original(self, run_id, number, **fields)

    monkeypatch.setattr(Ledger, "record_batch", crash_on_submit)
    with pytest.raises(RuntimeError, match="killed after submit"):
        run(settings, tmp_path / "first")
    monkeypatch.setattr(Ledger, "record_batch", original)
    report = run(settings, tmp_path / "second")
    assert report["status"] == "complete" and report["totals_close"]
    transactions = external_ids(kindful, "transactions")
    assert len(transactions) == len(set(transactions)) == 17


def test_an_expired_url_is_presigned_again_and_resubmitted_once(
    settings: ImportSettings,
    kindful: SandboxHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # moto does not enforce expiry: the sandbox checks the URL's own X-Amz-Date/Expires, and
    # its first fetch happens two hours late.
    download = sandbox.fetch._download
    delays = [timedelta(hours=2)]
    lock = threading.Lock()

    def s3_that_enforces_expiry(url: str, timeout: float) -> bytes:
        with lock:
            delay = delays.pop() if delays else timedelta(0)
        if url_expired(url, now=datetime.now(UTC) + delay):
            raise sandbox.fetch.LoadFailed("data_url could not be fetched: HTTP 403")
        return download(url, timeout)

    monkeypatch.setattr(sandbox.fetch, "_download", s3_that_enforces_expiry)
    report = run(dataclasses.replace(settings, batch_rows=100), tmp_path / "out")
    assert report["status"] == "complete"
    (batch,) = report["batches"]
    assert batch["resubmitted"] is True and batch["created"] == 17
    assert posts(kindful) == 2


def test_a_failed_job_is_reported_with_kindfuls_message_and_fails_the_run(
    settings: ImportSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox.fetch, "_download", lambda url, timeout: b"not gzip at all")
    with pytest.raises(ImportFailed, match="not valid gzip") as failure:
        run(dataclasses.replace(settings, batch_rows=100), tmp_path / "out")
    report = failure.value.report
    assert report["status"] == "failed"
    assert report["batches"][0]["status"] == "load_failed"
    assert report["rows_not_imported"] == 17 and report["totals_close"]
    saved = json.loads((tmp_path / "out" / "reconciliation.json").read_text())
    assert "not valid gzip" in saved["batches"][0]["message"]


def test_prefect_artifacts_hold_the_reconciliation(
    settings: ImportSettings, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    report = run(settings, tmp_path / "out")

    async def artifacts(key: str) -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )

    import asyncio

    tables = asyncio.run(artifacts("kindful-reconciliation-contact-with-transaction"))
    summaries = asyncio.run(artifacts("kindful-import-summary-contact-with-transaction"))
    assert {a.type for a in tables} == {"table"} and {a.type for a in summaries} == {"markdown"}
    mine = [a for a in summaries if report["run_id"] in str(a.data)]
    assert len(mine) == 1
    assert "| rows read | 20 |" in str(mine[0].data)
    described = f"Kindful import {report['run_id']} of contact_with_transaction.csv"
    assert any(a.description == described for a in tables)
    assert (
        f"Run files (reconciliation.json, findings.csv, rejects.csv, ...): `{tmp_path / 'out'}`"
        in str(mine[0].data)
    )


# -- rows Kindful drops, tied back by external id (issue 12) ---------------------------------

DROPPED_SOURCE_ROWS = (4, 17, 29)  # 1-based; row 10 is rejected before anything is sent
GIFT_ROWS = 31


def gifts_export(path: Path, *, with_ids: bool) -> Path:
    """31 gifts by 31 donors; row 10's amount is no amount, so 30 are sent."""
    rows = []
    for n in range(1, GIFT_ROWS + 1):
        row = {
            "id": f"D-{n:03d}",
            "first_name": "Ada",
            "last_name": f"Donor{n}",
            "email": f"ada{n}@example.org",
            "transaction_id": f"T-{n:03d}",
            "amount_in_cents": "abc" if n == 10 else str(1000 + n),
            "transaction_time": f"2024-01-{1 + n % 28:02d}T10:00:00Z",
            "fund": "General",
        }
        if not with_ids:
            del row["id"], row["transaction_id"]
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def sent_transaction_ids(source: Path) -> dict[int, str]:
    """Source row -> the transaction id the import sends (given, or derived as it derives it)."""
    from pipelines.transform.options import resolve_run
    from pipelines.transform.prepare import prepare_export

    options = resolve_run("contact_with_transaction", None)
    return {
        int(number) + 1: str(value)
        for chunk in prepare_export(str(source), options.mapping, options)
        for number, value in chunk.accepted["transaction_id"].items()
    }


def seed_splits_with_ids(kindful: SandboxHandle, split_ids: list[str]) -> None:
    """Splits in Kindful whose ids are these gifts' transaction ids: 001 then drops the gifts
    ("If the id does overlap with an existing transaction it will be dropped and a
    notification added")."""
    from pipelines.kindful.client import KindfulClient
    from pipelines.kindful.models import ImportRequest

    seed = {
        "id": "seed-donor",
        "first_name": "Seed",
        "last_name": "Donor",
        "transaction_id": "seed-gift",
        "amount_in_cents": 100 * len(split_ids),
        "transaction_time": "2020-01-01T00:00:00Z",
        "fund": "General",
    }
    splits = [
        {"id": split_id, "transaction_id": "seed-gift", "unit_amount_in_cents": 100, "fund": "G"}
        for split_id in split_ids
    ]
    settings = KindfulSettings(token=SecretStr(kindful.token), base_url=kindful.base_url)
    with KindfulClient(settings) as client:
        for data_format, data in (
            ("contact_with_transaction", [seed]),
            ("split_transaction", splits),
        ):
            job = client.submit_import(ImportRequest(data_format=data_format, data=data))  # type: ignore[arg-type]
            done = client.wait_for_import(job.id, poll_interval=0.02, timeout=30)
            assert done.succeeded and not done.notifications, done
    assert sorted(s["external_id"] for s in kindful.records()["split_transactions"]) == sorted(
        split_ids
    )


@pytest.mark.parametrize("batch_rows", [100, 7], ids=["1-batch", "5-batches"])
@pytest.mark.parametrize("with_ids", [True, False], ids=["given-ids", "derived-ids"])
def test_rows_kindful_drops_are_counted_dropped_at_their_source_rows(
    settings: ImportSettings,
    kindful: SandboxHandle,
    tmp_path: Path,
    batch_rows: int,
    with_ids: bool,
) -> None:
    """The issue's case: gifts Kindful drops with a notification on the affected record are
    `rows_dropped`, and findings.csv names their source rows, however the rows were batched."""
    source = gifts_export(tmp_path / "gifts.csv", with_ids=with_ids)
    sent = sent_transaction_ids(source)
    assert len(sent) == GIFT_ROWS - 1 and 10 not in sent
    assert all(value.startswith("ke-") for value in sent.values()) != with_ids
    seed_splits_with_ids(kindful, [sent[row] for row in DROPPED_SOURCE_ROWS])

    report = run(
        dataclasses.replace(settings, batch_rows=batch_rows), tmp_path / "out", source=str(source)
    )
    assert report["status"] == "complete" and report["totals_close"]
    assert (report["rows_read"], report["rows_rejected"]) == (GIFT_ROWS, 1)
    assert (report["rows_created"], report["rows_dropped"], report["rows_no_effect"]) == (27, 3, 0)
    assert len(report["batches"]) == -(-(GIFT_ROWS - 1) // batch_rows)
    assert sum(b["dropped"] for b in report["batches"]) == 3
    findings = pd.read_csv(tmp_path / "out" / "findings.csv", dtype=str, keep_default_na=False)
    dropped = findings[findings["dropped"] == "yes"]
    assert sorted(dropped["source_row"].astype(int)) == list(DROPPED_SOURCE_ROWS)
    assert set(dropped["code"]) == {"transaction_id_reused_with_split"}
    assert (findings["source_row"] != "").all()  # every notification found its row
    gifts = {t["external_id"] for t in kindful.records()["transactions"]}
    assert gifts.isdisjoint(sent[row] for row in DROPPED_SOURCE_ROWS)
    assert len(gifts - {"seed-gift"}) == 27

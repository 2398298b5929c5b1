"""The load loop without Prefect, S3 or Kindful: fake steps, a real SQLite ledger."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from pipelines.kindful.errors import KindfulRejected
from pipelines.kindful.models import ImportResult
from pipelines.kindful.pacing import PollPlan
from pipelines.kindful.settings import KindfulSettings
from pipelines.load.account import AccountBusy
from pipelines.load.ledger import COMPLETE, FAILED, SKIPPED, Ledger
from pipelines.load.run import (
    ImportFailed,
    LedgerKey,
    LoadResult,
    LoadSteps,
    ledger_key,
    load_prepared,
)
from pipelines.load.settings import ImportSettings
from pipelines.outputs.batches import Batch
from pipelines.outputs.run_folder import RunFolder
from pipelines.staging.s3 import StagedObject, StagingSettings
from pipelines.transform.job import PreparedRun, prepare_run
from pipelines.transform.options import RunOptions, resolve_run

ROWS = 6  # three batches of two


@dataclasses.dataclass
class FakeKindful:
    """The steps, recording what the loop asked for and when, answering as told."""

    refuse: bool = False
    calls: list[str] = dataclasses.field(default_factory=list)
    locked: bool = False
    jobs: int = 0

    def stage(self, settings: ImportSettings, run_id: str, batch: Batch) -> StagedObject:
        self.calls.append(f"stage {batch.name}")
        return StagedObject("bucket", f"{run_id}/{batch.name}", batch.path.stat().st_size)

    def submit(self, settings: ImportSettings, options: RunOptions, staged: StagedObject) -> str:
        assert self.locked, "submitted without holding the account"
        self.calls.append(f"submit {staged.key.rpartition('/')[2]}")
        if self.refuse:
            raise KindfulRejected("import refused", validation_messages=["data_url is bad"])
        self.jobs += 1
        return f"job-{self.jobs}"

    def await_job(
        self, settings: ImportSettings, job_id: str, plan: PollPlan | None
    ) -> ImportResult:
        assert self.locked, "awaited without holding the account"
        self.calls.append(f"await {job_id}")
        return ImportResult(id=job_id, status="complete", stats={"Contact": 2})

    def cleanup(self, settings: ImportSettings, staged: StagedObject) -> None:
        self.calls.append(f"cleanup {staged.key.rpartition('/')[2]}")

    @contextlib.contextmanager
    def lock(
        self, settings: ImportSettings, ledger: Ledger, holder: str, wait: float
    ) -> Iterator[None]:
        assert not self.locked, "the account lock is not reentrant"
        self.calls.append("lock")
        self.locked = True
        try:
            yield
        finally:
            self.locked = False
            self.calls.append("unlock")

    def steps(self) -> LoadSteps:
        return LoadSteps(self.stage, self.submit, self.await_job, self.cleanup, self.lock)


@pytest.fixture
def settings(tmp_path: Path) -> ImportSettings:
    return ImportSettings(
        kindful=KindfulSettings(token=SecretStr("unit-token"), base_url="https://kindful.invalid"),
        staging=StagingSettings(uri="s3://bucket/prefix/"),
        ledger=str(tmp_path / "ledger.db"),
        batch_rows=2,
        target_name="unit-kindful",
    )


@pytest.fixture
def source(tmp_path: Path) -> str:
    path = tmp_path / "contacts.csv"
    rows = "".join(f"Ada{n},Example,ada{n}@example.org\n" for n in range(ROWS))
    path.write_text("first_name,last_name,email\n" + rows)
    return str(path)


@pytest.fixture
def options() -> RunOptions:
    return resolve_run("contact")


def load(
    source: str, options: RunOptions, settings: ImportSettings, out: Path, fake: FakeKindful
) -> LoadResult:
    prepared = prepare_run(source, options, out, settings.batch_rows)
    assert len(prepared.batches) == 3
    return load_prepared(
        key=ledger_key(source, options, settings),
        prepared=prepared,
        options=options,
        settings=settings,
        run_id=out.name,
        folder=RunFolder(out, str(out)),
        steps=fake.steps(),
    )


def statuses(settings: ImportSettings, run_id: str) -> list[str]:
    ledger = Ledger(settings.ledger)
    try:
        found = ledger.run(run_id)
        assert found is not None
        return [b.status for b in found[1]]
    finally:
        ledger.close()


def test_a_clean_run_holds_the_account_around_each_submit_and_await(
    source: str, options: RunOptions, settings: ImportSettings, tmp_path: Path
) -> None:
    fake = FakeKindful()
    result = load(source, options, settings, tmp_path / "r1", fake)
    assert result.failure is None and result.raise_failure() is result.report
    assert result.report["status"] == "complete" and result.report["rows_created"] == ROWS
    assert fake.calls[:6] == [
        "lock",
        "stage batch-00001",
        "submit batch-00001",
        "await job-1",
        "cleanup batch-00001",
        "unlock",
    ]
    assert fake.calls.count("lock") == fake.calls.count("unlock") == 3
    assert statuses(settings, "r1") == [COMPLETE] * 3


def test_a_batch_already_done_is_skipped_without_taking_the_account(
    source: str, options: RunOptions, settings: ImportSettings, tmp_path: Path
) -> None:
    load(source, options, settings, tmp_path / "r1", FakeKindful())
    again = FakeKindful()
    result = load(source, options, settings, tmp_path / "r2", again)
    assert again.calls == []  # no lock, no stage, no submit
    report = result.raise_failure()
    assert report["batches_skipped"] == 3 and report["rows_already_imported"] == ROWS
    assert statuses(settings, "r2") == [SKIPPED] * 3


def test_a_refused_submit_is_recorded_and_the_next_run_submits_it_again(
    source: str, options: RunOptions, settings: ImportSettings, tmp_path: Path
) -> None:
    refusing = FakeKindful(refuse=True)
    result = load(source, options, settings, tmp_path / "r1", refusing)
    assert result.failure is not None and "import refused" in result.failure
    assert result.report["status"] == "failed" and result.report["rows_not_imported"] == ROWS
    assert "cleanup batch-00001" in refusing.calls  # a refused file is not kept
    assert statuses(settings, "r1") == [FAILED] * 3
    with pytest.raises(ImportFailed, match="import refused") as raised:
        result.raise_failure()
    assert raised.value.report is result.report

    accepting = FakeKindful()
    again = load(source, options, settings, tmp_path / "r2", accepting)
    assert again.raise_failure()["rows_created"] == ROWS
    assert [c for c in accepting.calls if c.startswith("submit")] == [
        "submit batch-00001",
        "submit batch-00002",
        "submit batch-00003",
    ]


def test_a_job_another_run_reconciled_first_is_reported_skipped(
    source: str, options: RunOptions, settings: ImportSettings, tmp_path: Path
) -> None:
    ledger = Ledger(settings.ledger)
    try:  # another run (a drop meeting the sweep on one file) claimed job-2 first
        ledger.claim_job(target=settings.target, job_id="job-2", run_id="other-run")
    finally:
        ledger.close()
    fake = FakeKindful()
    report = load(source, options, settings, tmp_path / "r1", fake).raise_failure()
    (batch,) = [b for b in report["batches"] if b["job_id"] == "job-2"]
    assert batch["status"] == "skipped" and batch["name"] == "batch-00002"
    assert report["rows_created"] == ROWS - 2 and report["rows_already_imported"] == 2
    assert statuses(settings, "r1") == [COMPLETE, SKIPPED, COMPLETE]
    assert "cleanup batch-00002" in fake.calls


def test_an_account_busy_for_too_long_ends_the_run_failed_and_resumable(
    source: str, options: RunOptions, settings: ImportSettings, tmp_path: Path
) -> None:
    fake = FakeKindful()

    @contextlib.contextmanager
    def busy(*args: Any) -> Iterator[None]:
        raise AccountBusy("Kindful account busy for 1s (held by run other)")
        yield

    steps = dataclasses.replace(fake.steps(), account_lock=busy)
    prepared = prepare_run(source, options, tmp_path / "r1", settings.batch_rows)
    result = load_prepared(
        key=ledger_key(source, options, settings),
        prepared=prepared,
        options=options,
        settings=settings,
        run_id="r1",
        folder=RunFolder(tmp_path / "r1", str(tmp_path / "r1")),
        steps=steps,
    )
    assert result.failure == "import r1 failed: Kindful account busy for 1s (held by run other)"
    assert fake.calls == [] and (tmp_path / "r1" / "reconciliation.json").exists()


def test_the_ledger_key_is_the_same_for_the_same_content_and_settings(
    source: str, options: RunOptions, settings: ImportSettings
) -> None:
    key = ledger_key(source, options, settings)
    assert isinstance(key, LedgerKey) and key == ledger_key(
        source, options, settings, key.source_hash
    )
    update = resolve_run("contact", action="update")
    assert ledger_key(source, update, settings).fingerprint != key.fingerprint


def test_prepare_run_answers_bad_input_with_the_error_and_no_batches(
    options: RunOptions, tmp_path: Path
) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("first_name,last_name\nAda,Example,extra\n")
    prepared = prepare_run(str(ragged), options, tmp_path / "out", 2)
    assert isinstance(prepared, PreparedRun) and prepared.batches == []
    assert prepared.failure is not None and prepared.error == str(prepared.failure)

"""The load: stage, submit, await and reconcile a prepared export's batches, serially, in order.

The ledger decides what is already done, so a re-run resumes instead of duplicating; a batch
counts as done only after its job is reconciled. The loop is plain Python: its side effects on
S3 and Kindful and the per-account lock come in as `LoadSteps`, so a flow runs them as Prefect
tasks (flows/tasks.py) and a test as fakes.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from pipelines.errors import KindfulEtlError, internal_error
from pipelines.kindful.errors import KindfulRejected
from pipelines.kindful.models import ImportResult
from pipelines.kindful.pacing import JobPacer, PollPlan
from pipelines.load import steps as plain_steps
from pipelines.load.account import AccountBusy, hold_account
from pipelines.load.ledger import (
    COMPLETE,
    FAILED,
    SKIPPED,
    STAGED,
    SUBMITTED,
    BatchRecord,
    Ledger,
)
from pipelines.load.reconcile import (
    BatchOutcome,
    reconcile_batch,
    refused_batch,
    run_report,
    skipped_batch,
    write_reconciliation,
)
from pipelines.load.settings import ImportSettings
from pipelines.outputs.batches import Batch
from pipelines.outputs.report_html import write_report
from pipelines.outputs.run_folder import RunFolder, keep_run_files
from pipelines.progress import NO_PROGRESS, Progress
from pipelines.read.fingerprints import settings_fingerprint, source_content_hash
from pipelines.staging.s3 import StagedObject, ensure_bucket, s3_client
from pipelines.transform.job import PreparedRun, strip_query
from pipelines.transform.options import RunOptions
from schemas.columns import FORMATS

Logger = logging.Logger | logging.LoggerAdapter[Any]

# A load_failed whose message says the file could not be fetched: re-presign and resubmit once.
_URL_FAILURE = re.compile(
    r"fetch|download|expired|forbidden|access denied|\b40[34]\b|data_url", re.IGNORECASE
)


class ImportFailed(KindfulEtlError):
    """A batch's job failed for a reason a retry cannot fix; the report says which and why."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[Any, ...]:  # a Prefect result (pickled) keeps the report
        return (type(self), (str(self), self.report))


AccountLock = Callable[[ImportSettings, Ledger, str, float], AbstractContextManager[None]]


@dataclass(frozen=True)
class LoadSteps:
    """The load's side effects, injected: the plain `pipelines.load.steps` by default."""

    stage: Callable[[ImportSettings, str, Batch], StagedObject] = plain_steps.stage
    submit: Callable[[ImportSettings, RunOptions, StagedObject], str] = plain_steps.submit
    await_job: Callable[[ImportSettings, str, PollPlan | None], ImportResult] = (
        plain_steps.await_job
    )
    cleanup: Callable[[ImportSettings, StagedObject], None] = plain_steps.cleanup
    # Held around each batch's submit and await: one Kindful job per account at a time.
    account_lock: AccountLock = hold_account


def kindful_settings(options: RunOptions, settings: ImportSettings) -> dict[str, Any]:
    """The settings that change what Kindful does with the same rows (the ledger keys by them)."""
    return {
        "data_format": options.data_format,
        "action": options.action,
        "match_by": options.match_by,
        "custom_fields": list(options.custom_fields),
        "update_exceptions": settings.submit.update_exceptions,
        "update_columns_except": settings.submit.update_columns_except,
        "update_columns_only": settings.submit.update_columns_only,
    }


@dataclass(frozen=True)
class LedgerKey:
    """What the ledger knows a run by: source URI and content, Kindful account, settings.

    Built once per run: hashing reads the whole source, and the drop and the inbox sync ask
    the ledger with the same key the load then records its run under.
    """

    source_uri: str
    source_hash: str
    target: str
    settings: dict[str, Any]
    fingerprint: str

    def completed_run(self, ledger: Ledger) -> str | None:
        """The run that completed this exact content, target and settings, if any."""
        return ledger.completed_run(
            source_uri=self.source_uri,
            source_hash=self.source_hash,
            target=self.target,
            fingerprint=self.fingerprint,
        )


def ledger_key(
    source: str, options: RunOptions, settings: ImportSettings, source_hash: str | None = None
) -> LedgerKey:
    """The run's ledger key; hashes the source unless its hash is given (InputError if gone)."""
    submitted = kindful_settings(options, settings)
    return LedgerKey(
        source_uri=strip_query(source),
        source_hash=source_hash or source_content_hash(source),
        target=settings.target,
        settings=submitted,
        fingerprint=settings_fingerprint(submitted),
    )


@dataclass
class _Run:
    """A run's fixed context, so per-batch code reads simply."""

    settings: ImportSettings
    options: RunOptions
    ledger: Ledger
    run_id: str
    fingerprint: str
    steps: LoadSteps
    logger: Logger
    batch_total: int = 0
    progress: Progress = NO_PROGRESS
    staged: int = 0  # batches uploaded, submitted (or resumed), over: what `progress` hears
    submitted: int = 0
    complete: int = 0
    pacer: JobPacer = field(init=False)

    def __post_init__(self) -> None:
        self.pacer = JobPacer(self.settings.poll_interval)

    @property
    def target(self) -> str:
        return self.settings.target

    def record(self, batch: Batch, status: str, **fields: Any) -> None:
        self.ledger.record_batch(
            self.run_id,
            batch.number,
            content_hash=batch.content_hash,
            rows=batch.rows,
            status=status,
            **fields,
        )

    def counted(self, *, staged: int = 0, submitted: int = 0, complete: int = 0) -> None:
        """Batches that got this far (each counted once), then tell `progress`."""
        self.staged += staged
        self.submitted += submitted
        self.complete += complete
        self.progress.batches(
            written=self.batch_total,
            staged=self.staged,
            submitted=self.submitted,
            complete=self.complete,
            total=self.batch_total,
        )

    def cleanup(self, staged: StagedObject | None) -> None:
        if staged is not None and not self.settings.staging.keep_objects:
            self.steps.cleanup(self.settings, staged)


def _already_done(run: _Run, batch: Batch) -> tuple[BatchOutcome | None, BatchRecord | None]:
    """A batch an earlier run imported is skipped; else the record of one it submitted."""
    prior = run.ledger.prior_batch(
        target=run.target, fingerprint=run.fingerprint, content_hash=batch.content_hash
    )
    if prior is not None and prior.status == COMPLETE:
        run.record(batch, SKIPPED, job_id=prior.job_id, message=f"imported by {prior.run_id}")
        run.logger.info("%s: already imported by run %s, skipped", batch.name, prior.run_id)
        return skipped_batch(batch, prior.run_id, prior.job_id), prior
    return None, prior


def _load_batch(run: _Run, batch: Batch) -> BatchOutcome:
    """One batch, holding the Kindful account while its job is submitted and awaited."""
    done, _ = _already_done(run, batch)
    if done is not None:
        return done
    wait = run.settings.poll_timeout + run.settings.submit.sync_wait_max
    with run.steps.account_lock(run.settings, run.ledger, run.run_id, wait):
        return _import_batch(run, batch)


def _import_batch(run: _Run, batch: Batch) -> BatchOutcome:
    """Take one batch to a reconciled job, or skip it when an earlier run already did."""
    logger, step = run.logger, run.steps
    done, prior = _already_done(run, batch)  # again: another run may have finished it
    if done is not None:
        return done

    staged: StagedObject | None = None
    if prior is not None and prior.job_id:
        # Submitted by an interrupted run: follow that job rather than submit again.
        job_id = prior.job_id
        resumed = True
        run.record(batch, SUBMITTED, job_id=job_id, s3_key=prior.s3_key)
        logger.info("%s: resuming job %s from run %s", batch.name, job_id, prior.run_id)
        run.counted(staged=1, submitted=1)
    else:
        resumed = False
        staged = step.stage(run.settings, run.run_id, batch)
        run.record(batch, STAGED, s3_key=staged.key)
        run.counted(staged=1)
        try:
            job_id = step.submit(run.settings, run.options, staged)
        except KindfulRejected as refusal:
            return _refused(run, batch, staged, refusal)
        run.record(batch, SUBMITTED, job_id=job_id, s3_key=staged.key)
        run.counted(submitted=1)
        logger.info(
            "%s of %d: %d rows submitted as job %s", batch.name, run.batch_total, batch.rows, job_id
        )
    run.progress.waiting(batch.name, job_id)
    started = time.monotonic()
    result = step.await_job(run.settings, job_id, None if resumed else run.pacer.plan(batch.rows))
    if result.succeeded and not resumed:
        run.pacer.observe(batch.rows, time.monotonic() - started)
    resubmitted = False
    if result.status == "load_failed" and _URL_FAILURE.search(result.message or ""):
        logger.warning("%s: Kindful could not fetch the file; re-presigning once", batch.name)
        staged = staged or step.stage(run.settings, run.run_id, batch)
        job_id = step.submit(run.settings, run.options, staged)
        run.record(batch, SUBMITTED, job_id=job_id, s3_key=staged.key)
        run.progress.waiting(batch.name, job_id)
        result = step.await_job(run.settings, job_id, None)
        resubmitted = True
    if result.succeeded:
        owner = run.ledger.claim_job(target=run.target, job_id=job_id, run_id=run.run_id)
        if owner != run.run_id:
            # Another run (a drop and the sweep meeting on one file) reconciled this job
            # first: its report counts the rows, this one says who did.
            run.record(batch, SKIPPED, job_id=job_id, message=f"imported by {owner}")
            logger.info("%s: job %s was reconciled by run %s, skipped", batch.name, job_id, owner)
            run.cleanup(staged)
            return skipped_batch(batch, owner, job_id)
    outcome = reconcile_batch(batch, result, FORMATS[run.options.data_format].main_record)
    outcome.resubmitted = resubmitted
    run.record(
        batch,
        COMPLETE if result.succeeded else FAILED,
        job_id=job_id,
        stats=result.stats,
        update_stats=result.update_stats,
        message=result.message,
    )
    logger.info(
        "%s: job %s %s (%d created, %d updated, %d no effect, %d dropped)",
        batch.name,
        job_id,
        result.status,
        outcome.created,
        outcome.updated,
        outcome.no_effect,
        outcome.dropped,
    )
    run.cleanup(staged)
    return outcome


def _refused(
    run: _Run, batch: Batch, staged: StagedObject, refusal: KindfulRejected
) -> BatchOutcome:
    """Kindful refused the whole request: nothing to poll; the staged file is not kept."""
    outcome = refused_batch(batch, refusal.message, refusal.validation_messages)
    run.record(batch, FAILED, s3_key=staged.key, message=outcome.message)
    run.logger.warning("%s: Kindful refused the import: %s", batch.name, outcome.message)
    run.cleanup(staged)
    return outcome


@dataclass(frozen=True)
class LoadResult:
    """The run's reconciliation report, and why the run failed (None when complete)."""

    report: dict[str, Any]
    failure: str | None = None

    def raise_failure(self) -> dict[str, Any]:
        """The report of a complete run; ImportFailed (with the report) otherwise."""
        if self.failure is not None:
            raise ImportFailed(self.failure, self.report)
        return self.report


def load_prepared(
    *,
    key: LedgerKey,
    prepared: PreparedRun,
    options: RunOptions,
    settings: ImportSettings,
    run_id: str,
    folder: RunFolder,
    steps: LoadSteps | None = None,
    logger: Logger | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Stage, submit, poll and reconcile a prepared export's batches, serially and in order.

    Writes reconciliation.json and findings.csv, keeps the run files where `folder` says (a
    remote run's are uploaded) and records the run's end in the ledger, whatever happens. The
    caller releases the folder when it no longer needs the local copies. `progress` hears
    `batches` as each batch is staged, submitted and over, and `waiting` for each job.
    """
    logger = logger or logging.getLogger(__name__)
    ledger = Ledger(settings.ledger)
    try:
        ledger.start_run(
            source_uri=key.source_uri,
            source_hash=key.source_hash,
            target=key.target,
            fingerprint=key.fingerprint,
            settings=key.settings,
            run_id=run_id,
        )
        if prepared.batches and settings.embedded:
            ensure_bucket(
                s3_client(settings.staging, credentials=settings.aws_credentials), settings.staging
            )
        run = _Run(
            settings,
            options,
            ledger,
            run_id,
            key.fingerprint,
            steps or LoadSteps(),
            logger,
            batch_total=len(prepared.batches),
            progress=progress or NO_PROGRESS,
        )
        outcomes: list[BatchOutcome] = []
        busy: str | None = None
        try:
            run.counted()
            for batch in prepared.batches:
                try:
                    outcomes.append(_load_batch(run, batch))
                except AccountBusy as error:  # the next run resumes here
                    busy = str(error)
                    break
                run.counted(complete=1)
        finally:
            report = run_report(
                run_id=run_id,
                validation=prepared.summary,
                outcomes=outcomes,
                main_record=FORMATS[options.data_format].main_record,
            )
            if len(outcomes) < len(prepared.batches):
                report["status"] = "failed"
            report["out_dir"] = folder.location
            write_reconciliation(folder.path, report, outcomes)
            try:
                write_report(folder.path)
            except Exception as error:  # the page is a view of the record, never the record
                logger.warning("report.html not written: %s", internal_error(error))
            keep_run_files(folder, settings.staging, settings.aws_credentials)
            ledger.finish_run(run_id, report["status"], report)
    finally:
        ledger.close()
    if report["status"] != "complete":
        failed = [b for b in report["batches"] if b["status"] not in ("complete", "skipped")]
        detail = "; ".join(
            f"{b['name']}: {b['status']} {b['message'] or ''}".strip() for b in failed
        )
        message = f"import {run_id} failed: {detail or busy or 'not every batch was imported'}"
        return LoadResult(report, message)
    logger.info(
        "run %s %s: %d read, %d rejected, %d created, %d updated, %d no effect, %d dropped, "
        "%d already imported; files in %s",
        run_id,
        report["status"],
        report["rows_read"],
        report["rows_rejected"],
        report["rows_created"],
        report["rows_updated"],
        report["rows_no_effect"],
        report["rows_dropped"],
        report["rows_already_imported"],
        folder.location,
    )
    return LoadResult(report)

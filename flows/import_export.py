"""The product's main job as a Prefect flow: one export in, every row accounted for in Kindful.

Extract / transform: read, map, normalize, validate, write batches (one task).
Load: for each batch in order, stage it on S3, submit it by presigned data_url, poll the job,
reconcile its stats. The ledger decides what is already done, so a re-run resumes instead of
duplicating; a batch counts as done only after its job is reconciled.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.schemas.objects import State
from prefect.events import emit_event
from prefect.states import Failed

from flows.account_lock import AccountBusy, one_job_per_account
from flows.run_settings import current_settings, full_source
from pipelines.errors import InputError
from pipelines.inbox.listing import export_stem
from pipelines.kindful.client import KindfulClient
from pipelines.kindful.errors import KindfulRejected
from pipelines.kindful.models import ImportResult
from pipelines.kindful.pacing import JobPacer, PollPlan
from pipelines.kindful.submit import submit_batch
from pipelines.load.ledger import (
    COMPLETE,
    FAILED,
    SKIPPED,
    STAGED,
    SUBMITTED,
    BatchRecord,
    Ledger,
    new_run_id,
)
from pipelines.load.reconcile import (
    BatchOutcome,
    reconcile_batch,
    refused_batch,
    run_report,
    skipped_batch,
    summary_rows,
    write_reconciliation,
)
from pipelines.load.settings import ImportSettings
from pipelines.mapping.spec import Mapping
from pipelines.outputs.batches import Batch, BatchWriter
from pipelines.outputs.run_folder import RunFolder, keep_run_files, release
from pipelines.outputs.validation_files import OutputWriter
from pipelines.read.errors import ExportError
from pipelines.read.fingerprints import settings_fingerprint, source_content_hash
from pipelines.staging.s3 import (
    StagedObject,
    delete_staged,
    ensure_bucket,
    presign,
    s3_client,
    stage_batch,
)
from pipelines.transform.job import strip_query, summary_fields
from pipelines.transform.options import RunOptions, resolve_run
from pipelines.transform.prepare import prepare_export
from schemas.columns import FORMATS, Action, DataFormat

# A load_failed whose message says the file could not be fetched: re-presign and resubmit once.
_URL_FAILURE = re.compile(
    r"fetch|download|expired|forbidden|access denied|\b40[34]\b|data_url", re.IGNORECASE
)


def source_name(source: str) -> str:
    """The file name a source is known by in logs, run names and artifact keys."""
    return strip_query(source).rstrip("/").rpartition("/")[2] or source


def feed_slug(source: str) -> str:
    """The source's file stem as `a-z0-9-`: what names one feed in keys and resource ids."""
    slug = re.sub(r"[^a-z0-9]+", "-", export_stem(source_name(source)).lower()).strip("-")
    return slug[:60].strip("-") or "source"


def artifact_key(kind: str, source: str) -> str:
    """`kindful-<kind>-<file stem>`: one artifact series per feed, whichever run imports it."""
    return f"kindful-{kind}-{feed_slug(source)}"


class _Labelled(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Prefix every line with the file it is about: a sync logs several files at once."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.extra['label'] if self.extra else ''}: {msg}", kwargs


def file_logger(source: str) -> logging.LoggerAdapter:  # type: ignore[type-arg]
    return _Labelled(get_run_logger(), {"label": source_name(source)})


class ImportFailed(Exception):
    """A batch's job failed for a reason a retry cannot fix; the report says which and why."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class PreparedRun:
    """What the transform produced: the validation summary and the batch files, or why not."""

    summary: dict[str, Any]
    batches: list[Batch]
    error: str | None = None  # a file that cannot be processed at all (one line)


@task(name="extract-normalize-validate-batch")
def prepare_batches(
    source: str,
    mapping: Mapping | None,
    options: RunOptions,
    out_dir: Path,
    batch_rows: int,
) -> PreparedRun:
    """Read, map, normalize and validate the export; write the run files and the batches."""
    batch_writer = BatchWriter(out_dir / "batches", batch_rows)
    logger = file_logger(source)
    with OutputWriter(out_dir) as writer:  # leaving it without `close` leaves no run files
        try:
            for chunk in prepare_export(source, mapping, options):
                writer.write(chunk)
                batch_writer.add(chunk.accepted)
                # Progress for long runs: counts only, never values.
                logger.info(
                    "progress: %d rows read, %d rejected, %d batches written",
                    writer.rows_read,
                    writer.rows_rejected,
                    len(batch_writer.batches),
                )
        except (InputError, ExportError) as error:
            # Bad input is an answer, not a crash: no traceback in the logs, and no partial
            # batches that look like a run's.
            batch_writer.discard()
            return PreparedRun({}, [], error=str(error))
        batch_writer.close()
        summary = writer.close(**summary_fields(source, options, mapping))
    logger.info(
        "read %d rows: %d accepted, %d rejected, %d batches",
        summary["rows_read"],
        summary["rows_accepted"],
        summary["rows_rejected"],
        len(batch_writer.batches),
    )
    return PreparedRun(summary, batch_writer.batches)


@task(name="stage-batch", retries=3, retry_delay_seconds=[1, 5, 15])
def stage(settings: ImportSettings, run_id: str, batch: Batch) -> StagedObject:
    """Upload one batch (private, encrypted); retrying an upload is always safe."""
    client = s3_client(settings.staging, credentials=settings.aws_credentials)
    return stage_batch(client, settings.staging, run_id, batch.name, batch.path)


@task(name="submit-batch")
def submit(
    settings: ImportSettings,
    options: RunOptions,
    staged: StagedObject,
    custom_fields: list[str],
) -> str:
    """POST /imports by data_url. Not retried here: the client resends only unsent requests."""
    s3 = s3_client(settings.staging, credentials=settings.aws_credentials)
    url = presign(s3, staged, settings.staging.url_expiry_seconds)
    with KindfulClient(settings.kindful) as client:
        job = submit_batch(client, options, settings.submit, url, custom_fields)
    return job.id


@task(name="await-job", retries=2, retry_delay_seconds=[5, 30])
def await_job(settings: ImportSettings, job_id: str, plan: PollPlan | None = None) -> ImportResult:
    """Poll the job to a terminal status; polling is safe to retry."""
    plan = plan or PollPlan(0.0, settings.poll_interval)
    with KindfulClient(settings.kindful) as client:
        return client.wait_for_import(
            job_id,
            poll_interval=plan.every,
            timeout=settings.poll_timeout,
            first_poll_after=plan.first_after,
        )


@task(name="delete-staged", retries=2, retry_delay_seconds=2)
def cleanup(settings: ImportSettings, staged: StagedObject) -> None:
    delete_staged(s3_client(settings.staging, credentials=settings.aws_credentials), staged)


@dataclass
class _Run:
    """A run's fixed context, so per-batch code reads simply."""

    settings: ImportSettings
    options: RunOptions
    ledger: Ledger
    run_id: str
    fingerprint: str
    custom_fields: list[str]
    logger: logging.LoggerAdapter  # type: ignore[type-arg]
    batch_total: int = 0
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
    with one_job_per_account(run.settings, run.ledger, run.run_id, wait):
        return _import_batch(run, batch)


def _import_batch(run: _Run, batch: Batch) -> BatchOutcome:
    """Take one batch to a reconciled job, or skip it when an earlier run already did."""
    logger = run.logger
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
    else:
        resumed = False
        staged = stage(run.settings, run.run_id, batch)
        run.record(batch, STAGED, s3_key=staged.key)
        try:
            job_id = submit(run.settings, run.options, staged, run.custom_fields)
        except KindfulRejected as refusal:
            return _refused(run, batch, staged, refusal)
        run.record(batch, SUBMITTED, job_id=job_id, s3_key=staged.key)
        logger.info(
            "%s of %d: %d rows submitted as job %s",
            batch.name,
            run.batch_total,
            batch.rows,
            job_id,
        )
    started = time.monotonic()
    result = await_job(run.settings, job_id, None if resumed else run.pacer.plan(batch.rows))
    if result.succeeded and not resumed:
        run.pacer.observe(batch.rows, time.monotonic() - started)
    resubmitted = False
    if result.status == "load_failed" and _URL_FAILURE.search(result.message or ""):
        logger.warning("%s: Kindful could not fetch the file; re-presigning once", batch.name)
        staged = staged or stage(run.settings, run.run_id, batch)
        job_id = submit(run.settings, run.options, staged, run.custom_fields)
        run.record(batch, SUBMITTED, job_id=job_id, s3_key=staged.key)
        result = await_job(run.settings, job_id)
        resubmitted = True
    if result.succeeded:
        owner = run.ledger.claim_job(target=run.target, job_id=job_id, run_id=run.run_id)
        if owner != run.run_id:
            # Another run (a drop and the sweep meeting on one file) reconciled this job
            # first: its report counts the rows, this one says who did.
            run.record(batch, SKIPPED, job_id=job_id, message=f"imported by {owner}")
            logger.info("%s: job %s was reconciled by run %s, skipped", batch.name, job_id, owner)
            if staged is not None and not run.settings.staging.keep_objects:
                cleanup(run.settings, staged)
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
    if staged is not None and not run.settings.staging.keep_objects:
        cleanup(run.settings, staged)
    return outcome


def _refused(
    run: _Run, batch: Batch, staged: StagedObject, refusal: KindfulRejected
) -> BatchOutcome:
    """Kindful refused the whole request: nothing to poll; the staged file is not kept."""
    outcome = refused_batch(batch, refusal.message, refusal.validation_messages)
    run.record(batch, FAILED, s3_key=staged.key, message=outcome.message)
    run.logger.warning("%s: Kindful refused the import: %s", batch.name, outcome.message)
    if not run.settings.staging.keep_objects:
        cleanup(run.settings, staged)
    return outcome


def _publish(report: dict[str, Any], source: str) -> None:
    """The Prefect table artifact and markdown summary of a run, keyed by its source."""
    rows = summary_rows(report)
    create_table_artifact(
        key=artifact_key("reconciliation", source),
        table=[{"measure": label, "value": str(value)} for label, value in rows],
        description=f"Kindful import {report['run_id']} of {source_name(source)}",
    )
    lines = [
        f"# Kindful import {report['run_id']}: {report['status']}",
        "",
        f"`{report['data_format']}` ({report['action']}) from `{report['source']}`",
        "",
        f"Run files (reconciliation.json, findings.csv, rejects.csv, ...): `{report['out_dir']}`",
        "",
        "| measure | value |",
        "| --- | --- |",
        *(f"| {label} | {value} |" for label, value in rows),
        "",
        "| batch | rows | job | status | created | updated | no effect | dropped |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {b['name']} | {b['rows']} | {b['job_id'] or ''} | {b['status']} | "
            f"{b['created']} | {b['updated']} | {b['no_effect']} | {b['dropped']} |"
            for b in report["batches"]
        ),
    ]
    create_markdown_artifact(key=artifact_key("import-summary", source), markdown="\n".join(lines))
    reasons: dict[str, int] = report.get("reasons") or {}
    create_table_artifact(
        key=artifact_key("rejects", source),
        table=[{"column: reason": reason, "rows": count} for reason, count in reasons.items()]
        or [{"column: reason": "(none)", "rows": 0}],
        description=f"Rejected rows of {source_name(source)} by reason (no values)",
    )


EVENT_COUNTS = (
    "rows_read",
    "rows_rejected",
    "rows_created",
    "rows_updated",
    "rows_no_effect",
    "rows_dropped",
    "rows_already_imported",
    "rows_not_imported",
)


def announce(source: str, report: dict[str, Any] | None, message: str | None = None) -> None:
    """`kindful-etl.import.completed` / `.failed` with the counts, for automations to act on."""
    status = report["status"] if report else "failed"
    payload: dict[str, Any] = {"status": status, "message": message}
    if report:
        payload |= {key: report.get(key, 0) for key in EVENT_COUNTS}
        payload |= {"run_id": report["run_id"], "run_files": report.get("out_dir")}
    resource = {
        "prefect.resource.id": f"kindful-etl.source.{feed_slug(source)}",
        "prefect.resource.name": source_name(source),
    }
    outcome = "completed" if status == "complete" else "failed"
    emit_event(event=f"kindful-etl.import.{outcome}", resource=resource, payload=payload)
    if report and report.get("rows_rejected"):
        # Automations match event names, not payload values: rejects get an event of their own.
        emit_event(event="kindful-etl.import.rejected-rows", resource=resource, payload=payload)


BAD_INPUT = "bad input: "


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


def load_prepared(
    *,
    source: str,
    source_hash: str,
    prepared: PreparedRun,
    options: RunOptions,
    settings: ImportSettings,
    run_id: str,
    folder: RunFolder,
) -> dict[str, Any]:
    """Stage, submit, poll and reconcile a prepared export's batches, serially and in order.

    The run files are kept where `folder` says (a remote run's are uploaded); the caller
    releases the folder when it no longer needs the local copies.
    """
    logger = file_logger(source)
    fmt = FORMATS[options.data_format]
    submitted_settings = kindful_settings(options, settings)
    fingerprint = settings_fingerprint(submitted_settings)
    ledger = Ledger(settings.ledger)
    try:
        ledger.start_run(
            source_uri=strip_query(source),
            source_hash=source_hash,
            target=settings.target,
            fingerprint=fingerprint,
            settings=submitted_settings,
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
            fingerprint,
            list(options.custom_fields),
            logger,
            batch_total=len(prepared.batches),
        )
        outcomes: list[BatchOutcome] = []
        busy: str | None = None
        try:
            for batch in prepared.batches:
                try:
                    outcomes.append(_load_batch(run, batch))
                except AccountBusy as error:  # the next run resumes here
                    busy = str(error)
                    break
        finally:
            report = run_report(
                run_id=run_id,
                validation=prepared.summary,
                outcomes=outcomes,
                main_record=fmt.main_record,
            )
            if len(outcomes) < len(prepared.batches):
                report["status"] = "failed"
            report["out_dir"] = folder.location
            write_reconciliation(folder.path, report, outcomes)
            keep_run_files(folder, settings.staging, settings.aws_credentials)
            ledger.finish_run(run_id, report["status"], report)
    finally:
        ledger.close()
    report_with_reasons = report | {"reasons": prepared.summary.get("reasons", {})}
    _publish(report_with_reasons, source)
    if report["status"] != "complete":
        failed = [b for b in report["batches"] if b["status"] not in ("complete", "skipped")]
        detail = "; ".join(
            f"{b['name']}: {b['status']} {b['message'] or ''}".strip() for b in failed
        )
        message = f"import {run_id} failed: {detail or busy or 'not every batch was imported'}"
        announce(source, report, message)
        raise ImportFailed(message, report)
    announce(source, report)
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
    return report


def _import_run_name() -> str:
    return f"import {source_name(str(runtime.flow_run.parameters.get('source', '')))}"


@flow(name="import-export", flow_run_name=_import_run_name, log_prints=False)
def import_export(
    source: str,
    data_format: DataFormat | None = None,
    action: Action | None = None,
    mapping: str | None = None,
    match_by: dict[str, str] | None = None,
    out_dir: str | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: list[str] | None = None,
) -> dict[str, Any] | State:
    """Import one export into Kindful and return its reconciliation report.

    A file that cannot be processed at all ends the run Failed with a one-line message that
    starts with "bad input: "; a failed Kindful job raises ImportFailed after the report is
    written. The run files go to `out_dir`, else `<state folder>/runs/<run id>/` when the worker
    has a local state folder, else `s3://<staging bucket>/<prefix><run id>/`.

    Args:
        source: The export: a local path, s3:// or https:// URI (CSV, XLSX, JSON lines, gzip).
        data_format: Kindful import format, unless the mapping names it.
        action: create (only new records) or update (also newer versions); default create.
        mapping: Mapping file (YAML) from the export's columns to Kindful's.
        match_by: Kindful match_by, e.g. {"contact": "email"}.
        out_dir: Folder for the run files; default as above.
        source_timezone: IANA timezone of timestamps without an offset (default UTC).
        day_first: Dates are dd/mm/yyyy.
        custom_fields: Source columns sent untouched as Kindful custom fields.

    Where to import to is the worker's environment (flows.run_settings), never a parameter.
    """
    return import_source(
        full_source(source),
        data_format=data_format,
        action=action,
        mapping=mapping,
        match_by=match_by,
        out_dir=out_dir,
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=custom_fields,
        settings=current_settings(),
    )


def import_source(
    source: str,
    *,
    settings: ImportSettings,
    data_format: str | None = None,
    action: str | None = None,
    mapping: str | None = None,
    match_by: dict[str, str] | None = None,
    out_dir: str | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: list[str] | None = None,
    source_hash: str | None = None,
) -> dict[str, Any] | State:
    """The import flow's body, for flows that import a source in their own run (S3 drops).

    Its tasks, logs and artifacts belong to the calling flow run. `source_hash` saves hashing
    a source the caller has hashed already.
    """
    try:
        loaded, options = resolve_run(
            data_format,
            mapping,
            action=action,
            match_by=match_by,
            source_timezone=source_timezone,
            day_first=day_first,
            custom_fields=custom_fields,
        )
        source_hash = source_hash or source_content_hash(source)
    except InputError as error:
        announce(source, None, f"{BAD_INPUT}{error}")
        return Failed(message=f"{BAD_INPUT}{error}")
    run_id = new_run_id()
    folder = settings.run_folder(run_id, out_dir)
    try:
        prepared = prepare_batches(source, loaded, options, folder.path, settings.batch_rows)
        if prepared.error is not None:
            announce(source, None, f"{BAD_INPUT}{prepared.error}")
            return Failed(message=f"{BAD_INPUT}{prepared.error}")
        return load_prepared(
            source=source,
            source_hash=source_hash,
            prepared=prepared,
            options=options,
            settings=settings,
            run_id=run_id,
            folder=folder,
        )
    finally:
        release(folder)

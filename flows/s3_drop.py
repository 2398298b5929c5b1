"""The S3-drop import: a file lands in the drop bucket, an event names it, this flow imports it.

The `s3-drop-import` deployment (prefect.yaml) runs this flow from a Prefect deployment trigger
on `kindful-etl.s3.object.created` events, which come from the Lambda in
`flows/s3_event_lambda.py` (self-hosted server) or from a Prefect Cloud webhook fed by
EventBridge (deploy/README.md). The import runs in the drop's own flow run (not a subflow),
so its tasks, logs and artifacts are the drop run's.

Duplicate deliveries import once, in three layers:

1. The event id is derived from bucket, key and the write's sequencer, so a redelivered event
   carries the same id and the Prefect server drops it before any trigger sees it.
2. This flow asks the ledger first: when a run of the same object content (sha256), the same
   Kindful and the same settings already completed, it stops before validating or submitting
   anything (a redelivery past the server's dedup window, or the webhook path, whose event ids
   are EventBridge's).
3. `import_export` itself skips every batch the ledger shows as imported, so even a run that
   slips past both submits nothing; the deployment's concurrency limit of one keeps two runs
   of the same drop from overlapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Failed

from flows.import_run import import_source
from flows.reporting import bad_input
from flows.run_settings import current_settings
from pipelines.errors import InputError
from pipelines.inbox.drop_policy import drop_allowed
from pipelines.inbox.listing import DONE_FOLDERS, InboxFile, S3Inbox, is_export
from pipelines.inbox.sweep import printable
from pipelines.load.ledger import Ledger, RunRecord
from pipelines.load.run import ledger_key
from pipelines.load.settings import ImportSettings
from pipelines.staging.s3 import s3_client
from pipelines.transform.job import strip_query
from pipelines.transform.options import RunOptions, resolve_run
from schemas.columns import Action, DataFormat

ALREADY_IMPORTED = "already-imported"
IGNORED = "ignored"


def drop_uri(bucket: str, key: str) -> str:
    """`s3://bucket/key` for one dropped object; refuse what cannot name an object."""
    bucket = bucket.strip()  # a key is taken as given: "/a.csv" and "a.csv" are two objects
    if not bucket or "/" in bucket or not key or key.endswith("/"):
        raise InputError(f"not an S3 object: bucket {bucket!r}, key {key!r}")
    return f"s3://{bucket}/{key}"


def allowed_drop(bucket: str, key: str) -> str:
    """The drop's URI, if it names an object where the operator allows drops (InputError)."""
    source = drop_uri(bucket, key)
    # Only the buckets and prefixes the operator allows (KINDFUL_ETL_DROP_BUCKETS), before
    # anything in the bucket is read.
    refusal = drop_allowed(bucket, key)
    if refusal is not None:
        raise InputError(f"{printable(source)}: {refusal}")
    return source


def imported_by(
    source: str, source_hash: str, settings: ImportSettings, options: RunOptions
) -> str | None:
    """The run that completed this exact content, target and settings, if any."""
    ledger = Ledger(settings.ledger)
    try:
        return ledger_key(source, options, settings, source_hash).completed_run(ledger)
    finally:
        ledger.close()


def gone_after(source: str, settings: ImportSettings) -> RunRecord | None:
    """The last finished run of an object that is no longer there (the sweep moved it)."""
    ledger = Ledger(settings.ledger)
    try:
        return ledger.last_run_of(source_uri=strip_query(source), target=settings.target)
    finally:
        ledger.close()


def not_a_drop(key: str) -> str | None:
    """Why a key is no export to import (None when it is one), by the inbox's own rules.

    The nightly sync files finished exports and their run files (`*.findings.csv`, ...) under
    processed/ and failed/ of the same inbox; those copies raise object-created events too.
    """
    folders, _, name = key.rpartition("/")
    done = [part for part in folders.split("/") if part in DONE_FOLDERS]
    if done:
        return f"under {done[0]}/, where the inbox sync files what it has done"
    if not is_export(name):
        return "not an export file (by its name)"
    return None


@contextmanager
def mapping_beside(
    bucket: str, key: str, settings: ImportSettings, mapping: str | None
) -> Iterator[str | None]:
    """The drop's mapping as the inbox sync finds it, so both key the ledger the same way.

    `<name>.mapping.yaml` beside the object, else `mapping.yaml` in its folder, else `mapping`.
    The worker needs s3:ListBucket on the drop bucket: without it S3 answers 403, not 404, for
    a mapping that is not there.
    """
    folder = key.rpartition("/")[0]
    client = s3_client(settings.staging, credentials=settings.aws_credentials)
    name = key.rpartition("/")[2]
    # The inbox's scratch folder (the downloaded mapping) goes when the block ends.
    with S3Inbox(bucket, f"{folder}/" if folder else "", client) as inbox:
        found = inbox.mapping_for(InboxFile(f"s3://{bucket}/{key}", name, datetime.now(UTC)))
        yield str(found) if found else mapping


@flow(name="import-dropped-object", flow_run_name="s3-drop {bucket}/{key}", log_prints=False)
def import_dropped_object(
    bucket: str,
    key: str,
    data_format: DataFormat | None = None,
    mapping: str | None = None,
    action: Action | None = None,
    match_by: dict[str, str] | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: list[str] | None = None,
) -> dict[str, Any] | State:
    """Import one object dropped in S3, once, however many times its event arrives.

    Args:
        bucket: The S3 bucket the export was dropped in (from the event).
        key: The object's key, decoded (from the event).
        data_format: The Kindful import format, e.g. contact_with_transaction; optional when
            the mapping names one.
        mapping: Path to a mapping file (YAML) on the worker, relative to the working
            directory, for drops without their own: a `<name>.mapping.yaml` beside the
            object, else a `mapping.yaml` in its folder, wins (as in the nightly inbox sync).
        action: create or update (default: the mapping's, else create).
        match_by: Kindful match_by, e.g. {"contact": "email"} (default: the mapping's).
        source_timezone: IANA zone for timestamps without an offset (default: the mapping's,
            else UTC).
        day_first: Read ambiguous dates as dd/mm (default: the mapping's, else no).
        custom_fields: Source columns to pass to Kindful as custom fields.

    Returns the import's reconciliation report; `{"status": "already-imported", "run_id":
    ...}` when the ledger shows this content imported already, or the object is gone after a
    run imported it (a late redelivery after the sweep moved it); `{"status": "ignored", ...}`
    for a key that is no export (the inbox sync's processed/ and failed/ copies, run files, hidden
    names). Bad input ends the run Failed with its InputError and a message starting
    "bad input: ".
    """
    try:
        source = allowed_drop(bucket, key)
    except InputError as error:
        return bad_input(error)
    reason = not_a_drop(key)
    if reason is not None:
        get_run_logger().info("%s: ignored, %s", printable(source), reason)
        return {"status": IGNORED, "source": source, "reason": reason}
    settings = current_settings()
    with mapping_beside(bucket, key, settings, mapping) as chosen_mapping:
        try:
            options = resolve_run(
                data_format,
                chosen_mapping,
                action=action,
                match_by=match_by,
                source_timezone=source_timezone,
                day_first=day_first,
                custom_fields=custom_fields,
            )
        except InputError as error:
            return bad_input(error)
        return import_once(source, options, settings)


def import_once(
    source: str, options: RunOptions, settings: ImportSettings
) -> dict[str, Any] | State:
    """Import the drop unless the ledger shows this content imported (or moved) already.

    The source is hashed once: the ledger is asked, and the run recorded, with the same key.
    """
    logger = get_run_logger()
    try:
        run_key = ledger_key(source, options, settings)
    except InputError as error:
        # A late redelivery: the sweep imported the object and moved it to processed/.
        last = gone_after(source, settings)
        if last is None:
            return bad_input(error)
        if last.status != "complete":
            return Failed(
                message=f"{printable(source)} is no longer there; its last run {last.run_id} "
                f"ended {last.status}"
            )
        logger.info("%s: no longer there; imported by run %s", printable(source), last.run_id)
        return _already(source, options, last.run_id)
    ledger = Ledger(settings.ledger)
    try:
        done = run_key.completed_run(ledger)
    finally:
        ledger.close()
    if done is not None:
        logger.info(
            "%s: this content was already imported into this Kindful with these "
            "settings by run %s; nothing to do",
            printable(source),
            done,
        )
        return _already(source, options, done)
    return import_source(source, options, settings, key=run_key)


def _already(source: str, options: RunOptions, run_id: str) -> dict[str, Any]:
    return {
        "status": ALREADY_IMPORTED,
        "source": source,
        "data_format": options.data_format,
        "run_id": run_id,
        "message": f"already imported by run {run_id}",
    }

"""The scheduled sync: import every export in an inbox that is not imported yet, exactly once.

Validation of the pending files runs concurrently on the flow's task runner (threads by default,
Dask when KINDFUL_ETL_DASK_ADDRESS names a scheduler); submission stays serial, in file order,
because Kindful works one job per app at a time (001, "Import Statuses": Working). The ledger
decides what is done, so a schedule that was paused or failed catches up on everything and skips
nothing, and a file already imported is never imported twice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.import_export import (
    ImportFailed,
    PreparedRun,
    kindful_settings,
    load_prepared,
    prepare_batches,
)
from pipelines.errors import InputError
from pipelines.fingerprints import settings_fingerprint, source_content_hash
from pipelines.import_settings import ImportSettings
from pipelines.inbox import Inbox, InboxFile, open_inbox
from pipelines.ledger import Ledger, new_run_id
from pipelines.mapping import Mapping
from pipelines.run_options import RunOptions, resolve_run
from pipelines.stage_s3 import s3_client
from pipelines.validate_export import strip_query

DASK_ADDRESS = "KINDFUL_ETL_DASK_ADDRESS"


def task_runner_from_env() -> TaskRunner[Any]:
    """Dask when a scheduler address is configured, else a small thread pool."""
    address = os.environ.get(DASK_ADDRESS)
    if address:
        from prefect_dask.task_runners import DaskTaskRunner

        return DaskTaskRunner(address=address)
    return ThreadPoolTaskRunner(max_workers=int(os.environ.get("KINDFUL_ETL_WORKERS", "2")))


def _inbox(location: str, settings: ImportSettings) -> Inbox:
    client = (
        s3_client(settings.staging, credentials=settings.aws_credentials)
        if location.startswith("s3://")
        else None
    )
    return open_inbox(location, client)


def _error_file(out: Path, message: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "error.txt"
    path.write_text(message + "\n")
    return path


def _run_files(out: Path) -> dict[str, Path]:
    names = ("reconciliation.json", "findings.csv", "rejects.csv", "warnings.csv", "summary.json")
    return {name: out / name for name in names}


@flow(name="sync-inbox", task_runner=task_runner_from_env())
def sync_inbox(
    location: str,
    mapping: str | None = None,
    data_format: str | None = None,
    action: str | None = None,
    match_by: dict[str, str] | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    settings: ImportSettings | None = None,
) -> dict[str, list[str]]:
    """Import each pending export of `location`, oldest first; move it to processed/ or failed/.

    Each export's settings come from its own `<name>.mapping.yaml`, else its folder's
    `mapping.yaml`, else `mapping` and the other parameters here.

    Args:
        location: The inbox: a local folder or `s3://bucket/prefix/`.
        mapping: Mapping file for exports that have none of their own beside them.
        data_format: Kindful import format when no mapping names one (e.g. contact).
        action: create (only new records) or update (also newer versions); default create.
        match_by: Kindful match_by, e.g. {"contact": "email"}.
        source_timezone: IANA timezone of timestamps without an offset (default UTC).
        day_first: Dates are dd/mm/yyyy.
        settings: Where to import to; by default from the environment.
    """
    logger = get_run_logger()
    settings = settings or ImportSettings.from_env()
    inbox = _inbox(location, settings)
    pending = inbox.pending()
    logger.info("%d export(s) pending in the inbox", len(pending))
    outcome: dict[str, list[str]] = {"processed": [], "already_imported": [], "failed": []}

    planned: list[tuple[InboxFile, Mapping | None, RunOptions, str, str, Path]] = []
    ledger = Ledger(settings.ledger)
    try:
        for export in pending:
            run_id = new_run_id()
            out = settings.runs_dir / run_id
            try:
                own_mapping = inbox.mapping_for(export)
                loaded, options = resolve_run(
                    data_format,
                    own_mapping or mapping,
                    action=action,
                    match_by=match_by,
                    source_timezone=source_timezone,
                    day_first=day_first,
                )
                source_hash = source_content_hash(export.uri)
            except InputError as error:
                logger.warning("%s: %s", export.relative, error)
                inbox.finish(export, "failed", {"error.txt": _error_file(out, str(error))})
                outcome["failed"].append(export.relative)
                continue
            fingerprint = settings_fingerprint(kindful_settings(options, settings))
            if ledger.source_done(
                source_uri=strip_query(export.uri),
                source_hash=source_hash,
                target=settings.target,
                fingerprint=fingerprint,
            ):
                logger.info("%s: already imported, moved to processed/", export.relative)
                inbox.finish(export, "processed", {})
                outcome["already_imported"].append(export.relative)
                continue
            planned.append((export, loaded, options, source_hash, run_id, out))
    finally:
        ledger.close()

    # Validate every file at once on the task runner; then load them one by one, in order.
    futures: list[PrefectFuture[PreparedRun]] = [
        prepare_batches.submit(export.uri, loaded, options, out, settings.batch_rows)
        for export, loaded, options, _, _, out in planned
    ]
    for (export, _, options, source_hash, run_id, out), future in zip(
        planned, futures, strict=True
    ):
        prepared = future.result()
        if prepared.error is not None:
            logger.warning("%s: %s", export.relative, prepared.error)
            inbox.finish(export, "failed", {"error.txt": _error_file(out, prepared.error)})
            outcome["failed"].append(export.relative)
            continue
        try:
            load_prepared(
                source=export.uri,
                source_hash=source_hash,
                prepared=prepared,
                options=options,
                settings=settings,
                run_id=run_id,
                out=out,
            )
        except ImportFailed as failure:
            logger.warning("%s: %s", export.relative, failure)
            files = _run_files(out) | {"error.txt": _error_file(out, str(failure))}
            inbox.finish(export, "failed", files)
            outcome["failed"].append(export.relative)
            continue
        inbox.finish(export, "processed", _run_files(out))
        outcome["processed"].append(export.relative)
    logger.info(
        "inbox sync: %d processed, %d already imported, %d failed",
        len(outcome["processed"]),
        len(outcome["already_imported"]),
        len(outcome["failed"]),
    )
    return outcome

"""The scheduled sync: import every export in an inbox that is not imported yet, exactly once.

Validation of the pending files runs concurrently on the flow's task runner (threads by default,
Dask when KINDFUL_ETL_DASK_ADDRESS names a scheduler); submission stays serial, in file order,
because Kindful works one job per app at a time (001, "Import Statuses": Working). The ledger
decides what is done, so a schedule that was paused or failed catches up on everything and skips
nothing, and a file already imported is never imported twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.cli.main import internal_error
from flows.import_export import (
    ImportFailed,
    PreparedRun,
    kindful_settings,
    load_prepared,
    prepare_batches,
)
from flows.run_settings import current_settings
from flows.s3_event_lambda import printable
from pipelines.errors import InputError
from pipelines.inbox.listing import Inbox, InboxFile, open_inbox
from pipelines.load.ledger import Ledger, new_run_id
from pipelines.load.settings import ImportSettings
from pipelines.mapping.spec import Mapping
from pipelines.outputs.private_files import private_dir, write_private_text
from pipelines.outputs.run_folder import RunFolder, release
from pipelines.read.errors import ExportError
from pipelines.read.fingerprints import settings_fingerprint, source_content_hash
from pipelines.staging.s3 import s3_client
from pipelines.transform.job import strip_query
from pipelines.transform.options import RunOptions, resolve_run
from schemas.columns import Action, DataFormat

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
    path = private_dir(out) / "error.txt"
    write_private_text(path, message + "\n")
    return path


def _run_files(out: Path) -> dict[str, Path]:
    names = ("reconciliation.json", "findings.csv", "rejects.csv", "warnings.csv", "summary.json")
    return {name: out / name for name in names}


def _one_line(error: BaseException) -> str:
    """What error.txt and the log say: our own errors' messages; for anything else (it may
    quote a value) only its type and place."""
    if isinstance(error, InputError | ExportError | ImportFailed):
        return " ".join(str(error).split())
    return internal_error(error)


@dataclass
class _Planned:
    export: InboxFile
    mapping: Mapping | None
    options: RunOptions
    source_hash: str
    run_id: str
    folder: RunFolder


@flow(name="sync-inbox", flow_run_name="sync {location}", task_runner=task_runner_from_env())
def sync_inbox(
    location: str,
    mapping: str | None = None,
    data_format: DataFormat | None = None,
    action: Action | None = None,
    match_by: dict[str, str] | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
) -> dict[str, list[str]]:
    """Import each pending export of `location`, oldest first; move it to processed/ or failed/.

    Each export's settings come from its own `<name>.mapping.yaml`, else its folder's
    `mapping.yaml`, else `mapping` and the other parameters here. One export that cannot be
    handled, for any reason, goes to failed/ with an error.txt; the others are still imported.

    Args:
        location: The inbox: a local folder or `s3://bucket/prefix/`.
        mapping: Mapping file for exports that have none of their own beside them.
        data_format: Kindful import format when no mapping names one (e.g. contact).
        action: create (only new records) or update (also newer versions); default create.
        match_by: Kindful match_by, e.g. {"contact": "email"}.
        source_timezone: IANA timezone of timestamps without an offset (default UTC).
        day_first: Dates are dd/mm/yyyy.

    Where to import to is the worker's environment (flows.run_settings), never a parameter.
    """
    settings = current_settings()
    with _inbox(location, settings) as inbox:  # its scratch folder goes with it
        return _sync(
            inbox, settings, mapping, data_format, action, match_by, source_timezone, day_first
        )


def _sync(
    inbox: Inbox,
    settings: ImportSettings,
    mapping: str | None,
    data_format: str | None,
    action: str | None,
    match_by: dict[str, str] | None,
    source_timezone: str | None,
    day_first: bool | None,
) -> dict[str, list[str]]:
    logger = get_run_logger()
    outcome: dict[str, list[str]] = {"processed": [], "already_imported": [], "failed": []}
    # Links, FIFOs, devices: filed under failed/ with the reason, never opened or hashed.
    for entry in inbox.refused():
        folder = settings.run_folder(new_run_id())
        message = f"refused: {entry.refused}"
        logger.warning("%s: %s", printable(entry.relative), message)
        try:
            inbox.finish(entry, "failed", {"error.txt": _error_file(folder.path, message)})
        except Exception as error:
            logger.warning(
                "%s: cannot move to failed/: %s", printable(entry.relative), _one_line(error)
            )
        outcome["failed"].append(entry.relative)
        release(folder)
    pending = inbox.pending()
    logger.info("%d export(s) pending in the inbox", len(pending))

    def fail(export: InboxFile, folder: RunFolder, message: str, files: dict[str, Path]) -> None:
        logger.warning("%s: %s", printable(export.relative), message)
        try:
            inbox.finish(export, "failed", files | {"error.txt": _error_file(folder.path, message)})
        except Exception as error:  # even filing it failed: leave it for the next sweep
            logger.warning(
                "%s: cannot move to failed/: %s", printable(export.relative), _one_line(error)
            )
        outcome["failed"].append(export.relative)

    planned: list[_Planned] = []
    ledger = Ledger(settings.ledger)
    try:
        for export in pending:
            run_id = new_run_id()
            folder = settings.run_folder(run_id)
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
                fingerprint = settings_fingerprint(kindful_settings(options, settings))
                done = ledger.completed_run(
                    source_uri=strip_query(export.uri),
                    source_hash=source_hash,
                    target=settings.target,
                    fingerprint=fingerprint,
                )
                if done is not None:
                    logger.info(
                        "%s: already imported by run %s, moved to processed/", export.relative, done
                    )
                    inbox.finish(export, "processed", {})
                    outcome["already_imported"].append(export.relative)
                    release(folder)
                    continue
            except Exception as error:
                fail(export, folder, _one_line(error), {})
                release(folder)
                continue
            planned.append(_Planned(export, loaded, options, source_hash, run_id, folder))
    finally:
        ledger.close()

    # Validate every file at once on the task runner; then load them one by one, in order.
    futures: list[PrefectFuture[PreparedRun]] = [
        prepare_batches.submit(
            p.export.uri, p.mapping, p.options, p.folder.path, settings.batch_rows
        )
        for p in planned
    ]
    for plan, future in zip(planned, futures, strict=True):
        export, folder = plan.export, plan.folder
        try:
            prepared = future.result()
            if prepared.error is not None:
                fail(export, folder, prepared.error, {})
                continue
            try:
                load_prepared(
                    source=export.uri,
                    source_hash=plan.source_hash,
                    prepared=prepared,
                    options=plan.options,
                    settings=settings,
                    run_id=plan.run_id,
                    folder=folder,
                )
            except Exception as error:
                fail(export, folder, _one_line(error), _run_files(folder.path))
                continue
            inbox.finish(export, "processed", _run_files(folder.path))
            outcome["processed"].append(export.relative)
        except Exception as error:
            fail(export, folder, _one_line(error), {})
        finally:
            release(folder)
    logger.info(
        "inbox sync: %d processed, %d already imported, %d failed",
        len(outcome["processed"]),
        len(outcome["already_imported"]),
        len(outcome["failed"]),
    )
    return outcome

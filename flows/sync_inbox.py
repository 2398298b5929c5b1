"""The scheduled sync: import every export in an inbox that is not imported yet, exactly once.

Validation of the pending files runs concurrently on the flow's task runner (threads by default,
Dask when KINDFUL_ETL_DASK_ADDRESS names a scheduler); submission stays serial, in file order,
because Kindful works one job per app at a time (001, "Import Statuses": Working). The ledger
decides what is done, so a schedule that was paused or failed catches up on everything and skips
nothing, and a file already imported is never imported twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.import_run import load_and_report
from flows.run_settings import current_settings
from flows.s3_event_lambda import printable
from flows.tasks import prepare_batches
from pipelines.errors import InputError, internal_error
from pipelines.inbox.listing import Inbox, InboxFile, open_inbox
from pipelines.load.ledger import Ledger, new_run_id
from pipelines.load.run import ImportFailed, LedgerKey, ledger_key
from pipelines.load.settings import ImportSettings
from pipelines.outputs.private_files import private_dir, write_private_text
from pipelines.outputs.run_folder import RunFolder, release
from pipelines.read.errors import ExportError
from pipelines.staging.s3 import s3_client
from pipelines.transform.job import PreparedRun
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
    asked = partial(
        resolve_run,
        data_format,
        action=action,
        match_by=match_by,
        source_timezone=source_timezone,
        day_first=day_first,
    )
    with _inbox(location, settings) as inbox:  # its scratch folder goes with it
        sync = _Sync(inbox, settings)
        sync.file_refused()
        planned = sync.plan(lambda own_mapping: asked(own_mapping or mapping))
        # Validate every file at once on the task runner; then load them one by one, in order.
        futures: list[PrefectFuture[PreparedRun]] = [
            prepare_batches.submit(p.export.uri, p.options, p.folder.path, settings.batch_rows)
            for p in planned
        ]
        for plan, future in zip(planned, futures, strict=True):
            sync.load(plan, future)
    return sync.done()


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
    """One pending export with its options, resolved once, and its ledger key."""

    export: InboxFile
    options: RunOptions
    key: LedgerKey
    run_id: str
    folder: RunFolder


@dataclass
class _Sync:
    """One sweep of an inbox: what it filed where, and the filing itself."""

    inbox: Inbox
    settings: ImportSettings
    outcome: dict[str, list[str]] = field(
        default_factory=lambda: {"processed": [], "already_imported": [], "failed": []}
    )

    def __post_init__(self) -> None:
        self.logger = get_run_logger()

    def file_refused(self) -> None:
        """Links, FIFOs, devices: filed under failed/ with the reason, never opened or hashed."""
        for entry in self.inbox.refused():
            folder = self.settings.run_folder(new_run_id())
            message = f"refused: {entry.refused}"
            self.logger.warning("%s: %s", printable(entry.relative), message)
            try:
                self.inbox.finish(entry, "failed", {"error.txt": _error_file(folder.path, message)})
            except Exception as error:
                self.logger.warning(
                    "%s: cannot move to failed/: %s", printable(entry.relative), _one_line(error)
                )
            self.outcome["failed"].append(entry.relative)
            release(folder)

    def fail(
        self, export: InboxFile, folder: RunFolder, message: str, files: dict[str, Path]
    ) -> None:
        self.logger.warning("%s: %s", printable(export.relative), message)
        try:
            self.inbox.finish(
                export, "failed", files | {"error.txt": _error_file(folder.path, message)}
            )
        except Exception as error:  # even filing it failed: leave it for the next sweep
            self.logger.warning(
                "%s: cannot move to failed/: %s", printable(export.relative), _one_line(error)
            )
        self.outcome["failed"].append(export.relative)

    def plan(self, options_for: Callable[[Path | None], RunOptions]) -> list[_Planned]:
        """The pending exports to import, each with its options (from its own mapping, if it
        has one); those the ledger shows imported go to processed/ now, the unusable to failed/.
        """
        pending = self.inbox.pending()
        self.logger.info("%d export(s) pending in the inbox", len(pending))
        planned: list[_Planned] = []
        ledger = Ledger(self.settings.ledger)
        try:
            for export in pending:
                run_id = new_run_id()
                folder = self.settings.run_folder(run_id)
                try:
                    options = options_for(self.inbox.mapping_for(export))
                    key = ledger_key(export.uri, options, self.settings)
                    done = key.completed_run(ledger)
                    if done is not None:
                        self.logger.info(
                            "%s: already imported by run %s, moved to processed/",
                            export.relative,
                            done,
                        )
                        self.inbox.finish(export, "processed", {})
                        self.outcome["already_imported"].append(export.relative)
                        release(folder)
                        continue
                except Exception as error:
                    self.fail(export, folder, _one_line(error), {})
                    release(folder)
                    continue
                planned.append(_Planned(export, options, key, run_id, folder))
        finally:
            ledger.close()
        return planned

    def load(self, plan: _Planned, future: PrefectFuture[PreparedRun]) -> None:
        """Load one prepared export and file it under processed/, or failed/ with why."""
        export, folder = plan.export, plan.folder
        try:
            prepared = future.result()
            if prepared.error is not None:
                self.fail(export, folder, prepared.error, {})
                return
            try:
                load_and_report(
                    export.uri, plan.key, prepared, plan.options, self.settings, plan.run_id, folder
                )
            except Exception as error:
                self.fail(export, folder, _one_line(error), _run_files(folder.path))
                return
            self.inbox.finish(export, "processed", _run_files(folder.path))
            self.outcome["processed"].append(export.relative)
        except Exception as error:
            self.fail(export, folder, _one_line(error), {})
        finally:
            release(folder)

    def done(self) -> dict[str, list[str]]:
        self.logger.info(
            "inbox sync: %d processed, %d already imported, %d failed",
            len(self.outcome["processed"]),
            len(self.outcome["already_imported"]),
            len(self.outcome["failed"]),
        )
        return self.outcome

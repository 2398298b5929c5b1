"""One export imported inside the calling flow run: the import-export flow's and S3 drop's body.

Its task runs, logs, artifacts and events belong to whichever flow run calls it, so a drop's
import is the drop run's own (not a subflow). The inbox sync, which prepares its files
concurrently first, loads each with `load_and_report`.
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import State

from flows.reporting import bad_input, reported
from flows.tasks import TASK_STEPS, file_logger, prepare_batches
from pipelines.errors import InputError
from pipelines.load.ledger import new_run_id
from pipelines.load.run import LedgerKey, ledger_key, load_prepared
from pipelines.load.settings import ImportSettings
from pipelines.outputs.run_folder import RunFolder, release
from pipelines.transform.job import PreparedRun
from pipelines.transform.options import RunOptions


def import_source(
    source: str,
    options: RunOptions,
    settings: ImportSettings,
    *,
    out_dir: str | None = None,
    key: LedgerKey | None = None,
) -> dict[str, Any] | State:
    """Prepare and load one export; its report, or a Failed state holding bad input's error.

    `key` saves hashing a source the caller has hashed already. A failed Kindful job raises
    ImportFailed after the report is written and published.
    """
    try:
        key = key or ledger_key(source, options, settings)
    except InputError as error:
        return bad_input(error, source)
    run_id = new_run_id()
    folder = settings.run_folder(run_id, out_dir)
    try:
        prepared = prepare_batches(source, options, folder.path, settings.batch_rows)
        if prepared.failure is not None:
            return bad_input(prepared.failure, source)
        return load_and_report(source, key, prepared, options, settings, run_id, folder)
    finally:
        release(folder)


def load_and_report(
    source: str,
    key: LedgerKey,
    prepared: PreparedRun,
    options: RunOptions,
    settings: ImportSettings,
    run_id: str,
    folder: RunFolder,
) -> dict[str, Any]:
    """The load loop on Prefect task steps, then its artifacts and events; ImportFailed if so."""
    result = load_prepared(
        key=key,
        prepared=prepared,
        options=options,
        settings=settings,
        run_id=run_id,
        folder=folder,
        steps=TASK_STEPS,
        logger=file_logger(source),
    )
    return reported(source, result, prepared.summary.get("reasons", {}))

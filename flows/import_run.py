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
from pipelines.load.importing import import_file
from pipelines.load.run import LedgerKey, load_prepared
from pipelines.load.settings import ImportSettings
from pipelines.outputs.run_folder import RunFolder
from pipelines.read.errors import ExportError
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
    """Prepare and load one export on task steps; its report, or a Failed state for bad input.

    `key` saves hashing a source the caller has hashed already. A failed Kindful job raises
    ImportFailed after the report is written and published.
    """
    try:
        result, summary = import_file(
            source,
            options,
            settings,
            out_dir=out_dir,
            key=key,
            prepare=prepare_batches,
            steps=TASK_STEPS,
            logger=file_logger(source),
        )
    except (InputError, ExportError) as error:
        return bad_input(error, source)
    return reported(source, result, summary.get("reasons", {}))


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

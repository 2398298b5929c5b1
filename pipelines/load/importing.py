"""One export imported end to end, plain Python: the flow's body, the ad-hoc command, a notebook.

The import-export flow calls this with its Prefect task versions of the steps (task runs,
retries, a run logger); an analyst's `kindful-etl import` with no Prefect server configured,
and `pipelines.api.import_export` in a notebook, call it with the plain steps and pay for no
Prefect server. Either way the run is in the ledger and its run folder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.load.ledger import new_run_id
from pipelines.load.run import LedgerKey, LoadResult, LoadSteps, Logger, ledger_key, load_prepared
from pipelines.load.settings import ImportSettings
from pipelines.outputs.run_folder import release
from pipelines.progress import Progress
from pipelines.transform.job import PreparedRun, prepare_run
from pipelines.transform.options import RunOptions

Prepare = Callable[[str, RunOptions, Path, int], PreparedRun]


def _plain_prepare(logger: Logger, progress: Progress | None = None) -> Prepare:
    def prepare(source: str, options: RunOptions, out_dir: Path, batch_rows: int) -> PreparedRun:
        return prepare_run(source, options, out_dir, batch_rows, logger, progress=progress)

    return prepare


def import_file(
    source: str,
    options: RunOptions,
    settings: ImportSettings,
    *,
    out_dir: str | None = None,
    key: LedgerKey | None = None,
    prepare: Prepare | None = None,
    steps: LoadSteps | None = None,
    logger: Logger | None = None,
    progress: Progress | None = None,
) -> tuple[LoadResult, dict[str, Any]]:
    """Prepare and load one export: the load's result and the validation summary.

    Bad input (a file that cannot be processed at all, a source gone) raises its InputError or
    ExportError before anything is sent; a failed Kindful job is the result's `failure` (the
    report is written either way). `key` saves hashing a source the caller hashed already.
    `progress` hears the prepare's chunks (unless `prepare` is the caller's own, which has its
    own say, as the flow's task logs its lines) and the load's batches and jobs.
    """
    logger = logger or logging.getLogger("pipelines.load")
    key = key or ledger_key(source, options, settings)
    run_id = new_run_id()
    folder = settings.run_folder(run_id, out_dir)
    try:
        prepared = (prepare or _plain_prepare(logger, progress))(
            source, options, folder.path, settings.batch_rows
        )
        if prepared.failure is not None:
            raise prepared.failure
        result = load_prepared(
            key=key,
            prepared=prepared,
            options=options,
            settings=settings,
            run_id=run_id,
            folder=folder,
            steps=steps,
            logger=logger,
            progress=progress,
        )
        return result, prepared.summary
    finally:
        release(folder)

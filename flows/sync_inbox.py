"""The scheduled sync: import every export in an inbox that is not imported yet, exactly once.

Validation of the pending files runs concurrently on the flow's task runner (threads by default,
Dask when KINDFUL_ETL_DASK_ADDRESS names a scheduler); submission stays serial, in file order,
because Kindful works one job per app at a time (001, "Import Statuses": Working). The ledger
decides what is done, so a schedule that was paused or failed catches up on everything and skips
nothing, and a file already imported is never imported twice.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.import_run import load_and_report
from flows.run_settings import current_settings
from flows.tasks import prepare_batches
from pipelines.inbox.listing import Inbox, open_inbox
from pipelines.inbox.sweep import Sweep
from pipelines.load.settings import ImportSettings
from pipelines.settings_env import positive_whole_number
from pipelines.staging.s3 import s3_client
from pipelines.transform.job import PreparedRun
from pipelines.transform.options import resolve_run
from schemas.columns import Action, DataFormat

DASK_ADDRESS = "KINDFUL_ETL_DASK_ADDRESS"
WORKERS = "KINDFUL_ETL_WORKERS"  # files validated at once (threads)


def task_runner_from_env() -> TaskRunner[Any]:
    """Dask when a scheduler address is configured, else a small thread pool."""
    address = os.environ.get(DASK_ADDRESS)
    if address:
        from prefect_dask.task_runners import DaskTaskRunner

        return DaskTaskRunner(address=address)
    return ThreadPoolTaskRunner(max_workers=positive_whole_number(WORKERS, 2))


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
        sync = Sweep(inbox, settings, get_run_logger(), load_and_report)
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

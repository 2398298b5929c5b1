"""The Prefect tasks of an import: each a thin wrapper over one `pipelines` function.

They give each step a task run of its own in the flow run (visible, named, with the retries
that step can afford); the work itself is plain Python. `TASK_STEPS` hands the load loop
(pipelines/load/run.py) these task versions of its steps and the account lock fit for a
Prefect deployment.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from flows.account_lock import one_job_per_account
from flows.reporting import source_name
from pipelines.kindful.models import ImportResult
from pipelines.kindful.pacing import PollPlan
from pipelines.load import steps
from pipelines.load.run import LoadSteps
from pipelines.load.settings import ImportSettings
from pipelines.outputs.batches import Batch
from pipelines.staging.s3 import StagedObject
from pipelines.transform.job import PreparedRun, prepare_run
from pipelines.transform.options import RunOptions


class _Labelled(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Prefix every line with the file it is about: a sync logs several files at once."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.extra['label'] if self.extra else ''}: {msg}", kwargs


def file_logger(source: str) -> logging.LoggerAdapter[Any]:
    """The run logger, each line labelled with the source's file name."""
    return _Labelled(get_run_logger(), {"label": source_name(source)})


@task(name="extract-normalize-validate-batch")
def prepare_batches(
    source: str, options: RunOptions, out_dir: Path, batch_rows: int
) -> PreparedRun:
    """Read, map, normalize and validate the export; write the run files and the batches."""
    return prepare_run(source, options, out_dir, batch_rows, file_logger(source))


@task(name="stage-batch", retries=3, retry_delay_seconds=[1, 5, 15])
def stage(settings: ImportSettings, run_id: str, batch: Batch) -> StagedObject:
    """Upload one batch; an upload is always safe to retry."""
    return steps.stage(settings, run_id, batch)


@task(name="submit-batch")
def submit(settings: ImportSettings, options: RunOptions, staged: StagedObject) -> str:
    """POST /imports. Not retried here: the client resends only requests never sent."""
    return steps.submit(settings, options, staged)


@task(name="await-job", retries=2, retry_delay_seconds=[5, 30])
def await_job(settings: ImportSettings, job_id: str, plan: PollPlan | None = None) -> ImportResult:
    """Poll the job to a terminal status; polling is safe to retry."""
    return steps.await_job(settings, job_id, plan)


@task(name="delete-staged", retries=2, retry_delay_seconds=2)
def cleanup(settings: ImportSettings, staged: StagedObject) -> None:
    """Delete a staged batch that Kindful has fetched."""
    steps.cleanup(settings, staged)


TASK_STEPS = LoadSteps(
    stage=stage,
    submit=submit,
    await_job=await_job,
    cleanup=cleanup,
    account_lock=one_job_per_account,
)

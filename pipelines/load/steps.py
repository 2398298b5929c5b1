"""The load's four side effects on S3 and Kindful, one plain function each.

They are separate functions (not inlined in the load loop) so a flow can run each as a Prefect
task with its own retries, and a test can replace them with fakes: see `LoadSteps`.
"""

from __future__ import annotations

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.models import ImportResult
from pipelines.kindful.pacing import PollPlan
from pipelines.kindful.submit import submit_batch
from pipelines.load.settings import ImportSettings
from pipelines.outputs.batches import Batch
from pipelines.staging.s3 import StagedObject, delete_staged, presign, s3_client, stage_batch
from pipelines.transform.options import RunOptions


def stage(settings: ImportSettings, run_id: str, batch: Batch) -> StagedObject:
    """Upload one batch (private, encrypted); retrying an upload is always safe."""
    client = s3_client(settings.staging, credentials=settings.aws_credentials)
    return stage_batch(client, settings.staging, run_id, batch.name, batch.path)


def submit(settings: ImportSettings, options: RunOptions, staged: StagedObject) -> str:
    """POST /imports by a freshly presigned data_url; the job's id.

    Not safe to retry blindly: the client itself resends only requests that were never sent.
    """
    s3 = s3_client(settings.staging, credentials=settings.aws_credentials)
    url = presign(s3, staged, settings.staging.url_expiry_seconds)
    with KindfulClient(settings.kindful) as client:
        job = submit_batch(client, options, settings.submit, url, list(options.custom_fields))
    return job.id


def await_job(settings: ImportSettings, job_id: str, plan: PollPlan | None = None) -> ImportResult:
    """Poll the job to a terminal status (at the plan's pace); polling is safe to retry."""
    plan = plan or PollPlan(0.0, settings.poll_interval)
    with KindfulClient(settings.kindful) as client:
        return client.wait_for_import(
            job_id,
            poll_interval=plan.every,
            timeout=settings.poll_timeout,
            first_poll_after=plan.first_after,
        )


def cleanup(settings: ImportSettings, staged: StagedObject) -> None:
    """Delete a staged batch once Kindful no longer needs it."""
    delete_staged(s3_client(settings.staging, credentials=settings.aws_credentials), staged)

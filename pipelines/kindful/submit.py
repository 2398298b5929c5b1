"""Submit a staged batch to Kindful: wait for a quiet moment, then POST /imports by data_url."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.errors import KindfulError
from pipelines.kindful.models import ImportJob, ImportRequest
from pipelines.transform.options import RunOptions


@dataclass(frozen=True)
class SubmitSettings:
    """How patient submission is, and the import's extra body parameters."""

    max_pending_jobs: int = 0  # submit only when Kindful has at most this many queued jobs
    sync_wait_max: float = 600.0  # seconds to wait for sync_enabled before giving up
    sync_wait_first: float = 1.0
    update_exceptions: dict[str, str] = field(default_factory=dict)
    update_columns_except: dict[str, list[str]] = field(default_factory=dict)
    update_columns_only: dict[str, list[str]] = field(default_factory=dict)


def wait_for_sync(
    client: KindfulClient,
    settings: SubmitSettings,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Wait (backing off, bounded) while sync is disabled or too many jobs are queued.

    001, "Sync Status": GET /imports/stats says whether it is a good time to sync.
    Returns the seconds waited.
    """
    waited, delay = 0.0, settings.sync_wait_first
    while True:
        stats = client.import_stats()
        if stats.sync_enabled and stats.pending_jobs <= settings.max_pending_jobs:
            return int(waited)
        if waited >= settings.sync_wait_max:
            raise KindfulError(
                f"Kindful not ready after {waited:.0f}s ({stats.pending_jobs} jobs pending): "
                f"{stats.message}".rstrip(": ")
            )
        step = min(delay, settings.sync_wait_max - waited)
        sleep(step)
        waited += step
        delay = min(delay * 2, 30.0)


def import_request(
    options: RunOptions, settings: SubmitSettings, data_url: str, custom_fields: list[str]
) -> ImportRequest:
    """The POST /imports body for one gzipped CSV batch."""
    body: dict[str, Any] = {
        "data_format": options.data_format,
        "action_type": options.action,
        "data_url": data_url,
        "data_type": "csv",
        "compression": "gzip",
        "match_by": options.match_by or None,
        "update_exceptions": settings.update_exceptions or None,
        "update_columns_except": settings.update_columns_except or None,
        "update_columns_only": settings.update_columns_only or None,
        "custom_fields": custom_fields or None,
    }
    return ImportRequest.model_validate(body)


def submit_batch(
    client: KindfulClient,
    options: RunOptions,
    settings: SubmitSettings,
    data_url: str,
    custom_fields: list[str],
    sleep: Callable[[float], None] = time.sleep,
) -> ImportJob:
    """Wait for Kindful to be ready, then submit; the client retries only unsent requests."""
    wait_for_sync(client, settings, sleep)
    return client.submit_import(import_request(options, settings, data_url, custom_fields))

"""One Kindful job at a time per account, across every worker and run that share it.

Kindful works one import job at a time per app and org (001, "Import Statuses"). Runs that
share a Prefect server (deployments on a work pool: PREFECT_API_URL is set) queue on a Prefect
global concurrency limit named for the account, created with limit 1 on first use. Runs without
one (the CLI's temporary server per process) queue on the ledger's lease on the account
(pipelines/load/account.py), the load loop's Prefect-free default.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress

from pipelines.load.account import AccountBusy, account_name, hold_account
from pipelines.load.ledger import Ledger
from pipelines.load.settings import ImportSettings


def one_job_per_account(
    settings: ImportSettings, ledger: Ledger, holder: str, wait: float
) -> AbstractContextManager[None]:
    """Hold the account while a batch is submitted and awaited; AccountBusy after `wait`."""
    if os.environ.get("PREFECT_API_URL"):  # a shared Prefect server: its limit is shared too
        return _prefect_limit(account_name(settings), wait)
    return hold_account(settings, ledger, holder, wait)


@contextmanager
def _prefect_limit(name: str, wait: float) -> Iterator[None]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:  # first use: create it (a run racing us may win; same limit)
            with suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1)
                )
    try:
        with concurrency(name, occupy=1, timeout_seconds=wait, strict=True):
            yield
    except TimeoutError:
        raise AccountBusy(f"Kindful account busy for {wait:.0f}s (limit {name})") from None

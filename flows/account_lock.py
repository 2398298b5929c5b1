"""One Kindful job at a time per account, across every worker and run that share it.

Kindful works one import job at a time per app and org (001, "Import Statuses"). Runs that
share a Prefect server (deployments on a work pool: PREFECT_API_URL is set) queue on a Prefect
global concurrency limit named for the account, created with limit 1 on first use. Runs without
one (the CLI's temporary server per process) queue on a lease row in the shared ledger, renewed
while held, so a killed worker's lease expires instead of blocking the account forever.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

from pipelines.load.ledger import Ledger
from pipelines.load.settings import ImportSettings

LEASE_TTL = 120.0  # seconds a lease outlives its last renewal (a killed worker's)


class AccountBusy(Exception):
    """Another run held the account for longer than this run would wait."""


def account_name(settings: ImportSettings) -> str:
    """`kindful-<host>-<fingerprint>`: the account, never its token."""
    host = urlsplit(settings.kindful.base_url).netloc or "kindful"
    digest = hashlib.sha256(
        f"{settings.kindful.base_url}\n{settings.kindful.token.get_secret_value()}".encode()
    ).hexdigest()[:12]
    return f"kindful-{re.sub(r'[^a-z0-9.-]+', '-', host.lower())}-{digest}"


def _shared_prefect_server() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


@contextmanager
def one_job_per_account(
    settings: ImportSettings, ledger: Ledger, holder: str, wait: float
) -> Iterator[None]:
    """Hold the account while a batch is submitted and awaited; raise AccountBusy after `wait`."""
    name = account_name(settings)
    if _shared_prefect_server():
        with _prefect_limit(name, wait):
            yield
        return
    with _ledger_lease(ledger, name, holder, wait):
        yield


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


@contextmanager
def _ledger_lease(ledger: Ledger, name: str, holder: str, wait: float) -> Iterator[None]:
    if not ledger.acquire_lease(name, holder, ttl=LEASE_TTL, wait=wait):
        owner = ledger.lease_holder(name)
        raise AccountBusy(f"Kindful account busy for {wait:.0f}s (held by run {owner})")
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(LEASE_TTL / 3):
            ledger.renew_lease(name, holder, ttl=LEASE_TTL)

    renewer = threading.Thread(target=renew, name=f"lease-{name}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        ledger.release_lease(name, holder)

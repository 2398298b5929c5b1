"""One Kindful job at a time per account: the account's name and the ledger's lease on it.

Kindful works one import job at a time per app and org (001, "Import Statuses"). Runs that
share no Prefect server queue on a lease row in the shared ledger, renewed while held, so a
killed worker's lease expires instead of blocking the account forever. (Runs that share one
use a Prefect global concurrency limit of the same name instead: flows/account_lock.py.)
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from pipelines.errors import KindfulEtlError
from pipelines.load.ledger import Ledger
from pipelines.load.settings import ImportSettings

LEASE_TTL = 120.0  # seconds a lease outlives its last renewal (a killed worker's)


class AccountBusy(KindfulEtlError):
    """Another run held the account for longer than this run would wait."""


def account_name(settings: ImportSettings) -> str:
    """`kindful-<host>-<fingerprint>`: the account, never its token."""
    host = urlsplit(settings.kindful.base_url).netloc or "kindful"
    digest = hashlib.sha256(
        f"{settings.kindful.base_url}\n{settings.kindful.token.get_secret_value()}".encode()
    ).hexdigest()[:12]
    return f"kindful-{re.sub(r'[^a-z0-9.-]+', '-', host.lower())}-{digest}"


@contextmanager
def ledger_lease(ledger: Ledger, name: str, holder: str, wait: float) -> Iterator[None]:
    """Hold the lease `name` (renewed in the background); AccountBusy after `wait` seconds."""
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


@contextmanager
def hold_account(
    settings: ImportSettings, ledger: Ledger, holder: str, wait: float
) -> Iterator[None]:
    """The Prefect-free account lock: the ledger's lease on the account."""
    with ledger_lease(ledger, account_name(settings), holder, wait):
        yield

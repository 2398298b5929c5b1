"""The Kindful a preview reads: the configured one, else the embedded sandbox's saved state.

Real Kindful when KINDFUL_TOKEN / KINDFUL_BASE_URL are set; otherwise the embedded sandbox's
persisted records (sandbox.db in the state folder), which it only reads: its jobs are held, so
not even a job left pending by an interrupted import runs. Used by `kindful-etl preview` and
`pipelines.api.preview`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pipelines.kindful.client import KindfulClient
from pipelines.load.settings import ImportSettings, state_home

__all__ = ["preview_client"]


@contextmanager
def preview_client(notice: Callable[[str], None] | None = None) -> Iterator[KindfulClient]:
    """A client for the configured Kindful, else for the embedded sandbox's saved state.

    `notice` is told, in one line, when the embedded sandbox stands in for Kindful.
    """
    if ImportSettings.configured():
        with KindfulClient.from_env() as client:
            yield client
        return
    from pydantic import SecretStr

    from pipelines.embedded.defaults import EMBEDDED_TOKEN
    from pipelines.kindful.settings import KindfulSettings
    from sandbox.serve import running_sandbox

    db = state_home() / "sandbox.db"
    # No state yet: an empty in-memory Kindful, so a preview never creates the state folder.
    where = str(db) if db.exists() else "an empty Kindful (no sandbox.db yet)"
    if notice is not None:
        notice(
            "No Kindful configured (KINDFUL_TOKEN / KINDFUL_BASE_URL unset): previewing against "
            f"the embedded sandbox Kindful, {where}. Nothing is written."
        )
    with (
        running_sandbox(
            token=EMBEDDED_TOKEN,
            db=str(db) if db.exists() else None,
            faults={"hold_jobs": True},
        ) as sandbox,
        KindfulClient(
            KindfulSettings(token=SecretStr(sandbox.token), base_url=sandbox.base_url)
        ) as client,
    ):
        yield client

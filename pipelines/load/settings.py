"""Where an import goes: Kindful, the staging bucket, the ledger, and how patient to be.

Real runs read the environment (KINDFUL_BASE_URL, KINDFUL_TOKEN, KINDFUL_AUTH,
KINDFUL_ETL_STAGING_URI, the standard AWS variables, KINDFUL_ETL_LEDGER_URL); the embedded
default builds these settings for its own local servers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.kindful.settings import KindfulSettings
from pipelines.kindful.submit import SubmitSettings
from pipelines.outputs.batches import DEFAULT_BATCH_ROWS
from pipelines.outputs.run_folder import RunFolder, run_folder
from pipelines.staging.s3 import StagingSettings


def state_home() -> Path:
    """The embedded default's state folder: KINDFUL_ETL_HOME or ./.kindful-etl/."""
    return Path(os.environ.get("KINDFUL_ETL_HOME") or ".kindful-etl").resolve()


def default_ledger(home: Path | None = None) -> str:
    return os.environ.get("KINDFUL_ETL_LEDGER_URL") or str((home or state_home()) / "ledger.db")


@dataclass(frozen=True)
class ImportSettings:
    """Everything an import run needs besides the source and its options."""

    kindful: KindfulSettings
    staging: StagingSettings
    ledger: str  # a SQLite path or any SQLAlchemy URL
    aws_credentials: dict[str, str] | None = field(default=None, repr=False)
    submit: SubmitSettings = field(default_factory=SubmitSettings)
    batch_rows: int = DEFAULT_BATCH_ROWS
    poll_interval: float = 2.0
    poll_timeout: float = 3600.0
    embedded: bool = False  # True: local sandbox + moto, nothing sent to Kindful
    # The Kindful the ledger keys its records by; the embedded sandbox's port changes per run.
    target_name: str | None = None

    def run_folder(self, run_id: str, out_dir: str | Path | None = None) -> RunFolder:
        """Where this run's files go (see pipelines.outputs.run_folder)."""
        return run_folder(run_id, ledger=self.ledger, staging=self.staging, out_dir=out_dir)

    @property
    def target(self) -> str:
        """The Kindful account the ledger keys records by: base URL and a token fingerprint.

        Two organizations on one base URL (app.kindful.com) are two accounts; the fingerprint
        (12 hex digits of the token's sha256) tells them apart without storing the token.
        """
        if self.target_name:
            return self.target_name
        token = self.kindful.token.get_secret_value().encode()
        return f"{self.kindful.base_url}#{hashlib.sha256(token).hexdigest()[:12]}"

    @staticmethod
    def configured() -> bool:
        """Whether the environment points at a real Kindful (else: the embedded default)."""
        return bool(os.environ.get("KINDFUL_TOKEN") or os.environ.get("KINDFUL_BASE_URL"))

    @classmethod
    def from_env(cls, **kindful: Any) -> ImportSettings:
        """Settings from the environment; `kindful` overrides KindfulSettings fields (token)."""
        return cls(
            kindful=KindfulSettings.from_env(**kindful),
            staging=StagingSettings.from_env(),
            ledger=default_ledger(),
        )


EMBEDDED_NOTICE = (
    "No Kindful configured (KINDFUL_TOKEN / KINDFUL_BASE_URL unset): running against "
    "the embedded sandbox Kindful and a local S3. Nothing is sent to Kindful."
)


@contextmanager
def chosen_settings(
    *,
    real: bool | None = None,
    kindful: dict[str, Any] | None = None,
    staging_uri: str | None = None,
    url_expiry: int | None = None,
    keep_staged: bool = False,
    ledger: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    notice: Callable[[str], None] | None = None,
) -> Iterator[ImportSettings]:
    """An import's settings: the real Kindful's, else the embedded default's servers.

    `real` None: real when the environment configures a Kindful (`ImportSettings.configured`).
    Real settings read the environment, `kindful` overriding KindfulSettings fields (the CLI's
    --kindful-base-url, a token from a Prefect block). Otherwise moto and the sandbox Kindful
    run, state in `state_home()`, until the block ends; `notice` is told so (EMBEDDED_NOTICE).
    """
    if not (ImportSettings.configured() if real is None else real):
        from pipelines.embedded.defaults import embedded_settings

        if notice is not None:
            notice(EMBEDDED_NOTICE)
        with embedded_settings(state_home()) as settings:
            staging = dataclasses.replace(
                settings.staging,
                keep_objects=keep_staged,
                url_expiry_seconds=url_expiry or settings.staging.url_expiry_seconds,
            )
            yield dataclasses.replace(
                settings, staging=staging, batch_rows=batch_rows, ledger=ledger or settings.ledger
            )
        return
    staging_overrides: dict[str, Any] = {"keep_objects": keep_staged}
    if staging_uri:
        staging_overrides["uri"] = staging_uri
    if url_expiry:
        staging_overrides["url_expiry_seconds"] = url_expiry
    yield ImportSettings(
        kindful=KindfulSettings.from_env(**(kindful or {})),
        staging=StagingSettings.from_env(**staging_overrides),
        ledger=ledger or default_ledger(),
        batch_rows=batch_rows,
    )

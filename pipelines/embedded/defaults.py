"""The embedded default: a local S3 (moto) and the sandbox Kindful, so a run needs no account.

State lives in one folder (KINDFUL_ETL_HOME or ./.kindful-etl/): the sandbox's records in
`sandbox.db` and the ledger in `ledger.db`, so consecutive runs see the same Kindful.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr

from pipelines.embedded.s3 import running_moto
from pipelines.kindful.settings import KindfulSettings
from pipelines.load.settings import ImportSettings
from pipelines.outputs.private_files import private_dir
from sandbox.serve import running_sandbox

# Not a secret: the local sandbox's one app, the same on every run so its records carry over.
EMBEDDED_TOKEN = "kindful-etl-embedded-sandbox"


@contextmanager
def embedded_settings(home: Path, *, processing_delay: float = 0.05) -> Iterator[ImportSettings]:
    """Start moto and the sandbox on loopback ports; yield settings pointing at them."""
    private_dir(home)  # the sandbox's records and the ledger: donor data, 0700
    sandbox_db = home / "sandbox.db"
    with (
        running_moto() as s3,
        running_sandbox(
            token=EMBEDDED_TOKEN, db=str(sandbox_db), processing_delay=processing_delay
        ) as sandbox,
    ):
        yield ImportSettings(
            kindful=KindfulSettings(token=SecretStr(sandbox.token), base_url=sandbox.base_url),
            staging=s3.settings(),
            ledger=str(home / "ledger.db"),
            aws_credentials=s3.credentials(),
            poll_interval=0.1,
            embedded=True,
            target_name=f"embedded-sandbox:{sandbox_db}",
        )

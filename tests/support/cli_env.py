"""The environment a user's `kindful-etl import` runs with against the sandbox and moto S3."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.embedded.s3 import EmbeddedS3
from pipelines.staging.s3 import StagingSettings
from sandbox.serve import SandboxHandle


def cli_env(
    kindful: SandboxHandle, moto: EmbeddedS3, staging: StagingSettings, home: Path, token: str
) -> dict[str, str]:
    """This process's environment without Kindful, AWS or Prefect settings, plus real ones:
    the sandbox Kindful, moto staging, a state folder (ledger, run files) and a Prefect home."""
    drop = ("KINDFUL_", "AWS_", "PREFECT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    credentials = moto.credentials()
    return env | {
        "KINDFUL_BASE_URL": kindful.base_url,
        "KINDFUL_TOKEN": token,
        "KINDFUL_ETL_STAGING_URI": staging.uri,
        "KINDFUL_ETL_LEDGER_URL": str(home / "ledger.db"),
        "KINDFUL_ETL_HOME": str(home),
        "AWS_ENDPOINT_URL_S3": moto.endpoint_url,
        "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
        "AWS_REGION": "us-east-1",
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }

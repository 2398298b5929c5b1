"""Where a run's files live, so the operator can always reach them after the run.

A run writes its files (validation outputs, reconciliation, findings, report) to a local folder.
When the run has a local state folder (a SQLite ledger, or KINDFUL_ETL_HOME) that folder is
`<state>/runs/<run id>/` and stays. Otherwise (a shared ledger such as PostgreSQL, and no
KINDFUL_ETL_HOME: a worker whose disk may not outlive the run) the files are written to a private
temporary folder, kept beside the staged batches as `s3://<staging bucket>/<prefix><run id>/`,
and the temporary folder is removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pipelines.staging.s3 import StagingSettings, s3_client

HOME = "KINDFUL_ETL_HOME"
# Batches are staged objects of their own (and deleted after reconciliation), never run files.
_NOT_KEPT = {"batches"}


@dataclass(frozen=True)
class RunFolder:
    """A run's working folder and the place its files are kept."""

    path: Path  # where the run writes
    location: str  # where the files are found afterwards: a folder, or an s3:// prefix
    bucket: str | None = None  # set when the files are kept on S3
    prefix: str = ""

    @property
    def remote(self) -> bool:
        return self.bucket is not None


def local_runs_root(ledger: str) -> Path | None:
    """`<state>/runs` when the run has a local state folder, else None."""
    path: str | None = ledger
    if "://" in ledger:
        try:
            url = make_url(ledger)
        except ArgumentError:
            url = None
        sqlite_file = url is not None and url.drivername.startswith("sqlite") and url.database
        path = str(url.database) if sqlite_file and url is not None else None
        if path == ":memory:":
            path = None
    if path is not None:
        return Path(path).expanduser().resolve().parent / "runs"
    home = os.environ.get(HOME)
    return Path(home).expanduser().resolve() / "runs" if home else None


def run_folder(
    run_id: str, *, ledger: str, staging: StagingSettings, out_dir: str | Path | None = None
) -> RunFolder:
    """The folder for one run: `out_dir` when given, else as the module docstring says."""
    if out_dir is not None:
        path = Path(out_dir)
        return RunFolder(path, str(path))
    root = local_runs_root(ledger)
    if root is not None:
        return RunFolder(root / run_id, str(root / run_id))
    bucket, prefix = staging.bucket, f"{staging.prefix}{run_id}/"
    # mkdtemp: a new folder only this user can enter, whoever owns the temp root.
    work = Path(tempfile.mkdtemp(prefix=f"kindful-etl-run-{run_id}-"))
    return RunFolder(work, f"s3://{bucket}/{prefix}", bucket=bucket, prefix=prefix)


def keep_run_files(
    folder: RunFolder, staging: StagingSettings, credentials: dict[str, str] | None = None
) -> None:
    """Upload a remote run's files (private, SSE-S3) beside its staged batches."""
    if not folder.remote or not folder.path.is_dir():
        return
    client: Any = s3_client(staging, credentials=credentials)
    for path in sorted(folder.path.rglob("*")):
        relative = path.relative_to(folder.path)
        if not path.is_file() or relative.parts[0] in _NOT_KEPT or path.name.startswith("."):
            continue
        client.upload_file(
            str(path),
            folder.bucket,
            f"{folder.prefix}{relative.as_posix()}",
            ExtraArgs={"ServerSideEncryption": "AES256"},
        )


def release(folder: RunFolder) -> None:
    """Remove a remote run's temporary working folder (a local one is the record and stays)."""
    if folder.remote:
        shutil.rmtree(folder.path, ignore_errors=True)

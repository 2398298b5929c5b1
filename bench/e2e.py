"""End to end into the embedded sandbox Kindful: our data_url batches vs inline JSON posting.

    python bench/e2e.py SOURCE WORKDIR [--mapping FILE] [--poll-interval S]

Starts moto S3 and the sandbox (processing_delay=0) in this process, then times, with the
sandbox's own request counter:

- ours: the transform (validation files + gzipped batches, as the flow's prepare task does) and
  the load of every batch exactly as the flow's tasks do it (stage on S3, presign, wait for
  sync, POST /imports with data_url, poll the job to the end, delete the staged object). The
  steps are called directly: no Prefect (whose ephemeral server alone takes 10-25 s) and no
  ledger (a few SQLite writes per batch).
- naive: the accepted rows of the same export (normalized.csv, so the naive script gets its
  validation for free), POSTed as inline JSON 100 rows a call (Kindful's limit), each job
  polled to the end with the same client the way such scripts do: look at once, then every
  poll interval (the product's default, 2 s), one job after another. Ours paces its polling by
  the previous job's rate (pipelines/kindful/pacing.py), as the flow does.

Each side gets a fresh sandbox organization (token), so both import the same records from
scratch. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import SecretStr

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.batches import run as prepare  # noqa: E402
from pipelines.embedded.s3 import running_moto  # noqa: E402
from pipelines.kindful.client import KindfulClient  # noqa: E402
from pipelines.kindful.models import MAX_INLINE_ROWS, ImportRequest  # noqa: E402
from pipelines.kindful.pacing import JobPacer  # noqa: E402
from pipelines.kindful.settings import KindfulSettings  # noqa: E402
from pipelines.kindful.submit import SubmitSettings, submit_batch  # noqa: E402
from pipelines.mapping.spec import load_mapping, resolve_format  # noqa: E402
from pipelines.staging.s3 import (  # noqa: E402
    delete_staged,
    ensure_bucket,
    presign,
    stage_batch,
)
from pipelines.transform.options import resolve_options  # noqa: E402
from sandbox.serve import SandboxHandle, running_sandbox  # noqa: E402


def _calls(kindful: SandboxHandle) -> int:
    return sum(kindful.sandbox_requests().values())


def ours(
    kindful: SandboxHandle, moto: Any, source: str, out: Path, mapping: str, poll: float
) -> dict[str, Any]:
    loaded = load_mapping(mapping)
    options = resolve_options(resolve_format(None, loaded).name, loaded)
    staging = moto.settings(bucket="bench", prefix="e2e/")
    s3 = moto.client(staging)
    ensure_bucket(s3, staging)
    settings = KindfulSettings(token=SecretStr(kindful.token), base_url=kindful.base_url)
    before = _calls(kindful)
    start = time.perf_counter()
    prepared = prepare(source, out, mapping, 10_000)
    transformed = time.perf_counter()
    batches = sorted((out / "batches").glob("batch-*.csv.gz"))
    statuses: list[str] = []
    pacer = JobPacer(poll)  # as the flow paces its polling
    with KindfulClient(settings) as client:
        for path, rows in zip(batches, prepared["batch_rows"], strict=True):
            staged = stage_batch(s3, staging, "bench", path.name.split(".")[0], path)
            url = presign(s3, staged, 3600)
            job = submit_batch(client, options, SubmitSettings(), url, [])
            plan = pacer.plan(rows)
            submitted = time.monotonic()
            result = client.wait_for_import(
                job.id, poll_interval=plan.every, timeout=600, first_poll_after=plan.first_after
            )
            pacer.observe(rows, time.monotonic() - submitted)
            statuses.append(result.status)
            delete_staged(s3, staged)
    end = time.perf_counter()
    return {
        "rows": prepared["rows_read"],
        "batches": len(batches),
        "seconds": end - start,
        "transform_seconds": transformed - start,
        "load_seconds": end - transformed,
        "api_calls": _calls(kindful) - before,
        "statuses": sorted(set(statuses)),
    }


def naive(kindful: SandboxHandle, accepted: Path, data_format: str, poll: float) -> dict[str, Any]:
    rows = pd.read_csv(accepted, dtype=str, keep_default_na=False).to_dict("records")
    records = [{str(k): v for k, v in row.items() if v != ""} for row in rows]
    settings = KindfulSettings(token=SecretStr(kindful.token), base_url=kindful.base_url)
    before = _calls(kindful)
    start = time.perf_counter()
    statuses: list[str] = []
    with KindfulClient(settings) as client:
        for i in range(0, len(records), MAX_INLINE_ROWS):
            request = ImportRequest(
                data_format=data_format,  # type: ignore[arg-type]
                action_type="create",
                data=records[i : i + MAX_INLINE_ROWS],
            )
            job = client.submit_import(request)
            statuses.append(client.wait_for_import(job.id, poll_interval=poll, timeout=600).status)
    end = time.perf_counter()
    return {
        "rows": len(records),
        "jobs": len(statuses),
        "seconds": end - start,
        "api_calls": _calls(kindful) - before,
        "statuses": sorted(set(statuses)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--mapping", default=str(REPO / "bench" / "export.mapping.yaml"))
    parser.add_argument("--poll-interval", type=float, default=2.0)  # the product default
    args = parser.parse_args()
    data_format = resolve_format(None, load_mapping(args.mapping)).name
    with running_moto() as moto, running_sandbox(processing_delay=0) as kindful:
        poll = args.poll_interval
        mine = ours(kindful, moto, args.source, args.workdir / "ours", args.mapping, poll)
        accepted = args.workdir / "ours" / "normalized.csv"
        theirs = naive(kindful.new_org(), accepted, data_format, poll)
    print(
        json.dumps(
            {
                "ours": mine,
                "naive": theirs,
                "speedup": theirs["seconds"] / mine["seconds"],
                "fewer_calls": theirs["api_calls"] / mine["api_calls"],
            }
        )
    )


if __name__ == "__main__":
    main()

"""Fault suite: under throttling, errors, timeouts, resets, slow S3 and kills, nothing is lost or
duplicated. Each scenario ends by comparing the sandbox's records with a clean single run of the
same input. Everything goes over real HTTP: moto S3, the sandbox Kindful, TCP fault proxies.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from support.fault_proxy import FaultProxy

from flows.import_export import import_export
from flows.run_settings import use_settings
from pipelines.embedded.s3 import EmbeddedS3
from pipelines.kindful.settings import KindfulSettings, RetryPolicy
from pipelines.load.settings import ImportSettings
from pipelines.staging.s3 import StagingSettings, ensure_bucket
from sandbox.serve import SandboxHandle, running_sandbox

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"
GIFTS = SAMPLES / "contact_with_transaction.csv"
TOKEN = "fault-suite-token"
QUICK_RETRIES = RetryPolicy(
    attempts=8, timeout=30, wait_initial=0.05, wait_max=0.4, wait_jitter=0.05
)

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]


def snapshot(kindful: SandboxHandle) -> dict[str, list[tuple[Any, ...]]]:
    """What a donor-data person would compare: who and which gifts, by external id."""
    records = kindful.records()
    return {
        "contacts": sorted(
            (r["external_id"], r.get("first_name"), r.get("last_name"), r.get("company_name"))
            for r in records["contacts"]
        ),
        "transactions": sorted(
            (r["external_id"], r["amount_in_cents"], r["transaction_time"])
            for r in records["transactions"]
        ),
        "funds": sorted((r["name"],) for r in records["funds"]),
        "campaigns": sorted((r["name"],) for r in records["campaigns"]),
    }


def settings_for(
    base_url: str,
    staging: StagingSettings,
    moto: EmbeddedS3,
    ledger: Path,
    **kindful: Any,
) -> ImportSettings:
    return ImportSettings(
        kindful=KindfulSettings(
            token=SecretStr(TOKEN), base_url=base_url, retry=QUICK_RETRIES, **kindful
        ),
        staging=staging,
        ledger=str(ledger),
        aws_credentials=moto.credentials(),
        batch_rows=6,
        poll_interval=0.05,
        poll_timeout=30,
        target_name="fault-suite-kindful",
    )


@pytest.fixture
def staging(moto_s3: EmbeddedS3, tmp_path: Path) -> StagingSettings:
    settings = moto_s3.settings(bucket="faults", prefix=f"{tmp_path.name}/")
    ensure_bucket(moto_s3.client(settings), settings)
    return settings


@pytest.fixture(scope="module")
def clean(
    tmp_path_factory: pytest.TempPathFactory, moto_s3: EmbeddedS3, prefect_server: None
) -> dict[str, list[tuple[Any, ...]]]:
    """The reference: one clean run of the same input into a fresh sandbox."""
    tmp = tmp_path_factory.mktemp("clean")
    staging = moto_s3.settings(bucket="faults", prefix="clean/")
    ensure_bucket(moto_s3.client(staging), staging)
    with running_sandbox(token=TOKEN) as reference:
        reference_settings = settings_for(reference.base_url, staging, moto_s3, tmp / "ledger.db")
        with use_settings(reference_settings):
            report = import_export(
                source=str(GIFTS),
                data_format="contact_with_transaction",
                out_dir=str(tmp / "out"),
            )
        assert isinstance(report, dict) and report["status"] == "complete"
        return snapshot(reference)


def run_until_complete(
    settings: ImportSettings, out: Path, max_runs: int = 8
) -> tuple[dict[str, Any], int]:
    """What a schedule does: run again after a failure; the ledger makes re-runs safe."""
    failures: list[str] = []
    for attempt in range(1, max_runs + 1):
        try:
            with use_settings(settings):
                report = import_export(
                    source=str(GIFTS),
                    data_format="contact_with_transaction",
                    out_dir=str(out / f"run{attempt}"),
                )
        except Exception as error:  # any failure: the next scheduled run picks up
            failures.append(type(error).__name__)
            continue
        assert isinstance(report, dict)
        return report, attempt
    raise AssertionError(f"no complete run in {max_runs}: {failures}")


def check_against_clean(kindful: SandboxHandle, clean: dict[str, list[tuple[Any, ...]]]) -> None:
    assert snapshot(kindful) == clean
    transactions = [r["external_id"] for r in kindful.records()["transactions"]]
    assert len(transactions) == len(set(transactions)) == 17


@pytest.mark.parametrize(
    "faults",
    [
        {"rate_429": 0.3, "retry_after": 0.05, "seed": 1},
        {"rate_500": 0.3, "seed": 2},
        {"rate_429": 0.2, "rate_500": 0.2, "retry_after": 0.05, "seed": 3},
    ],
    ids=["429-bursts-with-retry-after", "500s", "429s-and-500s"],
)
def test_throttling_and_server_errors_on_every_endpoint(
    faults: dict[str, Any],
    kindful: SandboxHandle,
    staging: StagingSettings,
    moto_s3: EmbeddedS3,
    clean: dict[str, list[tuple[Any, ...]]],
    tmp_path: Path,
) -> None:
    kindful.set_faults(**faults)
    settings = settings_for(kindful.base_url, staging, moto_s3, tmp_path / "ledger.db")
    report, _ = run_until_complete(settings, tmp_path)
    kindful.set_faults(rate_429=0.0, rate_500=0.0)
    assert report["status"] == "complete" and report["totals_close"]
    check_against_clean(kindful, clean)


@pytest.mark.parametrize(
    "proxy_faults",
    [
        {"delay": 0.3, "delay_seconds": 1.5},
        {"reset_before": 0.2, "reset_after": 0.15},
        {"reset_after": 0.5, "match": b"POST /api/v1/imports"},
    ],
    ids=["timeouts", "connection-resets", "resets-after-submit-reached-kindful"],
)
def test_timeouts_and_connection_resets_between_us_and_kindful(
    proxy_faults: dict[str, Any],
    kindful: SandboxHandle,
    staging: StagingSettings,
    moto_s3: EmbeddedS3,
    clean: dict[str, list[tuple[Any, ...]]],
    tmp_path: Path,
) -> None:
    proxy = FaultProxy(upstream_port=kindful.port, **proxy_faults)
    try:
        settings = settings_for(
            proxy.url("/api/v1"), staging, moto_s3, tmp_path / "ledger.db", read_timeout=1.0
        )
        report, _ = run_until_complete(settings, tmp_path)
    finally:
        proxy.stop()
    assert sum(v for k, v in proxy.counts.items() if k != "pass") > 0  # faults happened
    assert report["status"] == "complete" and report["totals_close"]
    check_against_clean(kindful, clean)


@pytest.mark.parametrize(
    "proxy_faults",
    [{"reset_before": 0.3}, {"delay": 0.5, "delay_seconds": 0.5}],
    ids=["s3-upload-failures", "slow-s3-uploads"],
)
def test_s3_upload_failures_and_slow_uploads(
    proxy_faults: dict[str, Any],
    kindful: SandboxHandle,
    moto_s3: EmbeddedS3,
    clean: dict[str, list[tuple[Any, ...]]],
    tmp_path: Path,
) -> None:
    proxy = FaultProxy(
        upstream_port=int(moto_s3.endpoint_url.rsplit(":", 1)[1]), match=b"PUT ", **proxy_faults
    )
    try:
        staging = moto_s3.settings(
            bucket="faults", prefix=f"{tmp_path.name}/", endpoint_url=proxy.url()
        )
        settings = settings_for(kindful.base_url, staging, moto_s3, tmp_path / "ledger.db")
        report, _ = run_until_complete(settings, tmp_path)
    finally:
        proxy.stop()
    assert proxy.counts.get("pass", 0) > 0 and len(proxy.counts) > 1
    assert report["status"] == "complete"
    check_against_clean(kindful, clean)


# -- the process killed (SIGKILL) mid-run, then the same command run again -------------------


def cli_env(
    kindful: SandboxHandle,
    moto: EmbeddedS3,
    staging: StagingSettings,
    home: Path,
    base_url: str | None = None,
) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KINDFUL_", "AWS_", "PREFECT_API"))
    }
    credentials = moto.credentials()
    env.update(
        KINDFUL_BASE_URL=base_url or kindful.base_url,
        KINDFUL_TOKEN=TOKEN,
        KINDFUL_ETL_STAGING_URI=staging.uri,
        KINDFUL_ETL_LEDGER_URL=str(home / "ledger.db"),
        KINDFUL_ETL_HOME=str(home),
        AWS_ENDPOINT_URL_S3=moto.endpoint_url,
        AWS_ACCESS_KEY_ID=credentials["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=credentials["aws_secret_access_key"],
        AWS_REGION="us-east-1",
    )
    return env


def ledger_states(path: Path) -> list[str]:
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path) as db:
            return [row[0] for row in db.execute("SELECT status FROM batches ORDER BY id")]
    except sqlite3.Error:
        return []


def wait_for(
    condition: Callable[[], bool], describe: Callable[[], str], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached; the run said:\n{describe()}")
        time.sleep(0.05)


CLI = [
    str(Path(sys.executable).parent / "kindful-etl"),
    "import",
    str(GIFTS),
    "--format",
    "contact_with_transaction",
    "--batch-rows",
    "100",
]


def posts(kindful: SandboxHandle) -> int:
    return kindful.sandbox_requests().get("POST /imports", 0)


@pytest.mark.parametrize(
    "kill_when", ["after-staging", "after-submit-before-ledger", "while-polling"]
)
def test_a_killed_run_is_finished_by_the_next_one_without_duplicates(
    kill_when: str,
    kindful: SandboxHandle,
    staging: StagingSettings,
    moto_s3: EmbeddedS3,
    clean: dict[str, list[tuple[Any, ...]]],
    tmp_path: Path,
) -> None:
    home = tmp_path / "state"
    ledger = home / "ledger.db"
    # Kindful's answer to the submit is held at a proxy: it has the job, the ledger cannot know.
    proxy = FaultProxy(
        upstream_port=kindful.port, delay=1.0, delay_seconds=60, match=b"POST /api/v1/imports"
    )
    base_url = kindful.base_url
    if kill_when == "after-staging":
        kindful.set_faults(latency=30.0)  # the batch is on S3; Kindful has not been asked yet
        reached: Callable[[], bool] = lambda: ledger_states(ledger) == ["staged"]  # noqa: E731
    elif kill_when == "after-submit-before-ledger":
        base_url = proxy.url("/api/v1")
        reached = lambda: posts(kindful) == 1 and ledger_states(ledger) == ["staged"]  # noqa: E731
    else:
        kindful.set_faults(hold_jobs=True)
        reached = lambda: ledger_states(ledger) == ["submitted"]  # noqa: E731
    try:
        log = (tmp_path / "first.log").open("w")
        process = subprocess.Popen(
            [*CLI, "--out", str(tmp_path / "first")],
            env=cli_env(kindful, moto_s3, staging, home, base_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(reached, describe=lambda: (tmp_path / "first.log").read_text()[-3000:])
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        kindful.set_faults(latency=0.0, hold_jobs=False)
        submitted_before = posts(kindful)
        again = subprocess.run(
            [*CLI, "--out", str(tmp_path / "second")],
            env=cli_env(kindful, moto_s3, staging, home),
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        proxy.stop()
    assert again.returncode == 0, again.stderr[-3000:]
    if kill_when == "while-polling":
        assert posts(kindful) == submitted_before  # followed the job, did not resubmit
    check_against_clean(kindful, clean)

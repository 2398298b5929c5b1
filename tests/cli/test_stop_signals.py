"""Stopping a run: Ctrl-C, SIGTERM and SIGKILL at each step of `kindful-etl import`.

The command runs as a user runs it (a subprocess in its own session, real settings against the
sandbox Kindful over HTTP and moto S3). After each stop: the command ended within 5 s, nothing
it started is left running (its temporary Prefect server included), and the same command run
again finishes the import with every gift exactly once and no second job for a submitted batch.
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.cli_env import cli_env

from pipelines.embedded.s3 import EmbeddedS3
from pipelines.staging.s3 import StagingSettings, ensure_bucket
from sandbox.serve import SandboxHandle

pytestmark = pytest.mark.slow
TOKEN = "stop-signals-token"
CLI = str(Path(sys.executable).parent / "kindful-etl")
STOPPED_WITHIN = 5.0


@pytest.fixture
def staging(moto_s3: EmbeddedS3, tmp_path: Path) -> StagingSettings:
    settings = moto_s3.settings(bucket="stop-signals", prefix=f"{tmp_path.name}/")
    ensure_bucket(moto_s3.client(settings), settings)
    return settings


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_gifts(tmp_path / "gifts.csv", 30_000)


def write_gifts(path: Path, rows: int) -> Path:
    """`rows` gifts: 30,000 take the transform ~0.3 s, 150,000 over a second (a window a busy
    machine's test process can still see)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["first_name", "last_name", "email", "amount_in_cents", "transaction_time", "fund"]
        )
        for n in range(rows):
            writer.writerow(
                [f"Donor{n}", "Example", f"donor{n}@example.org", 1000 + n, "2024-03-01", "General"]
            )
    return path


def batch_states(ledger: Path) -> list[str]:
    if not ledger.exists():
        return []
    try:
        with sqlite3.connect(ledger) as db:
            return [row[0] for row in db.execute("SELECT status FROM batches ORDER BY id")]
    except sqlite3.Error:
        return []


def run_count(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    try:
        with sqlite3.connect(ledger) as db:
            return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0


def session_alive(session: int) -> bool:
    """Whether any process of the command's session (its children included) still runs."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == session:
                stat = (entry / "stat").read_text()
                if stat.rpartition(")")[2].split()[0] != "Z":  # a zombie has ended
                    return True
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            continue
    return False


def wait_until(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop_when(
    process: subprocess.Popen[bytes],
    how: signal.Signals,
    ready: Callable[[], bool],
    what: str,
    timeout: float = 120,
) -> float:
    """Send `how` once `ready`; seconds until the command ended (its session killed if not)."""
    try:
        wait_until(ready, what, timeout)
        process.send_signal(how)
        stopped_at = time.monotonic()
        process.wait(30)
        return time.monotonic() - stopped_at
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def posts(kindful: SandboxHandle) -> int:
    return kindful.sandbox_requests().get("POST /imports", 0)


STEPS = {
    # step: (sandbox faults while the first run is stopped, how to know it is there)
    "startup": ({}, lambda out, ledger: True),
    # From the run folder's creation (prepare starts) until the ledger records the run.
    "transform": ({}, lambda out, ledger: out.is_dir() and not run_count(ledger)),
    "staging": ({"latency": 30.0}, lambda out, ledger: batch_states(ledger)[:1] == ["staged"]),
    "waiting on a job": (
        {"hold_jobs": True},
        lambda out, ledger: batch_states(ledger)[:1] == ["submitted"],
    ),
}


@pytest.mark.parametrize(
    ("how", "step"),
    [
        *((how, step) for how in (signal.SIGINT, signal.SIGTERM) for step in STEPS),
        (signal.SIGKILL, "startup"),
        (signal.SIGKILL, "waiting on a job"),
    ],
    ids=lambda value: value.name if isinstance(value, signal.Signals) else value,
)
def test_a_stopped_import_leaves_nothing_running_and_the_next_run_finishes_it(
    how: signal.Signals,
    step: str,
    kindful: SandboxHandle,
    moto_s3: EmbeddedS3,
    staging: StagingSettings,
    export: Path,
    tmp_path: Path,
) -> None:
    home = tmp_path / "state"
    env = cli_env(kindful, moto_s3, staging, home, TOKEN)
    command = [CLI, "import", str(export), "--format", "contact_with_transaction"]
    faults, reached = STEPS[step]
    if faults:
        kindful.set_faults(**faults)
    gifts = 150_000 if step == "transform" else 30_000
    if step == "transform":  # the window between the run folder and the ledger's run
        write_gifts(export, gifts)
    out = tmp_path / "first"
    with (tmp_path / "first.log").open("w") as log:
        process = subprocess.Popen(
            [*command, "--out", str(out)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its session: the command and every child it starts
        )
    time.sleep(1.0)
    took = stop_when(process, how, lambda: reached(out, home / "ledger.db"), f"the {step} step")
    log_text = (tmp_path / "first.log").read_text()
    assert took < STOPPED_WITHIN, f"{how.name} at {step}: {took:.1f}s\n{log_text[-2000:]}"
    assert "Traceback" not in log_text
    if how != signal.SIGKILL:
        assert process.returncode == 130 and "stopped; run the same command" in log_text
    # Nothing left running: the temporary Prefect server ends with the command, even on SIGKILL.
    wait_until(lambda: not session_alive(process.pid), "the command's children to end", 10)

    kindful.set_faults(latency=0.0, hold_jobs=False)
    submitted = posts(kindful)
    again = subprocess.run(
        [*command, "--out", str(tmp_path / "second")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    transactions = [r["external_id"] for r in kindful.records()["transactions"]]
    assert len(transactions) == len(set(transactions)) == gifts
    if step == "waiting on a job":
        assert posts(kindful) == submitted + 2  # the held job was followed, the rest submitted


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=str)
def test_a_validate_stopped_while_workers_run_leaves_no_process_and_no_file(
    how: signal.Signals, export: Path, tmp_path: Path
) -> None:
    """The transform's worker processes (and their forkserver) end with the command."""
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINDFUL_")}
    command = [CLI, "validate", str(export), "--format", "contact_with_transaction"]
    with (tmp_path / "validate.log").open("w") as log:
        process = subprocess.Popen(
            [*command, "--chunk-rows", "2000", "--out", str(out)],
            env=env | {"KINDFUL_ETL_PROCESSES": "2"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    took = stop_when(
        process, how, lambda: _workers_running(process.pid), "the transform's workers", 60
    )
    log_text = (tmp_path / "validate.log").read_text()
    assert took < STOPPED_WITHIN, f"{how.name}: {took:.1f}s\n{log_text[-2000:]}"
    assert "Traceback" not in log_text
    if how != signal.SIGKILL:
        assert process.returncode == 130, log_text[-2000:]
    wait_until(lambda: not session_alive(process.pid), "the workers to end", 10)
    assert not (out / "normalized.csv").exists() and not (out / "summary.json").exists()


def _workers_running(session: int) -> bool:
    """Two transform workers of the command's session are alive (the forkserver's children)."""
    found = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) != session:
                continue
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            if b"forkserver" in Path(f"/proc/{parent}/cmdline").read_bytes():
                found += 1
        except (ProcessLookupError, PermissionError, FileNotFoundError, ValueError):
            continue
    return found >= 2

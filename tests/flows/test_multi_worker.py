"""Several workers, two Kindful accounts, one PostgreSQL ledger: README "Running on several
workers", run as written.

The README's blocks marked `<!-- several-workers: ROLE -->` are run from the repo root: the
Prefect server on PostgreSQL (`server`; own PREFECT_HOME, loopback), the shared settings
(`env`), the work pool and `prefect --no-prompt deploy --all` (`pool`), per account a Secret
block, `kindful-etl check` and a one-file deployment whose job variables name the block
(`accounts`), two workers (`worker`, started twice), and `prefect deployment run` for six files
at once plus the concurrency-limit listing (`run`). Two `kindful-etl sandbox` processes are the
two Kindful accounts (own port, token and database each); the session's moto S3 is the bucket;
the throwaway PostgreSQL cluster holds the ledger and the server's database. Only values differ
from the text: the test's ports, databases, tokens and files. Each account's sandbox base URL
stands in for https://app.kindful.com/api/v1 (two processes cannot share a port; real accounts
share the URL and differ by token).

Six flow runs, three per account, one file submitted twice: every run completes, each gift
exists once in its account, no account ever had two jobs active or working at once (the
sandbox's own meter), the ledger holds every batch, the twice-submitted file was POSTed once. A
flow run Prefect's client creates twice (a retried request) must change none of that. The
figures are printed for quoting. Every process started here is stopped, even on failure, and
none is left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psutil  # type: ignore[import-untyped]
import pytest
from support.prefect_stack import (
    CLIENT_ENV,
    FINAL_STATES,
    ROOT,
    SERVER_ENV,
    clean_env,
    command_lines,
    exported,
    free_port,
    marked_blocks,
    server_healthy,
    start,
    stop,
    tail,
    wait_until,
    workers_online,
)

from pipelines.embedded.s3 import EmbeddedS3
from pipelines.load.ledger import COMPLETE, SKIPPED, Ledger
from sandbox.serve import running_sandbox

pytestmark = pytest.mark.slow
README = ROOT / "README.md"
TAG = "several-workers"
KINDFUL_ETL = str(Path(sys.executable).with_name("kindful-etl"))
SAMPLE = ROOT / "data_samples" / "contact_with_transaction.csv"

if TYPE_CHECKING:
    from support.postgres import PostgresCluster

# What the README's blocks say, replaced by the test's own values.
DOC_BASE_URL = "https://app.kindful.com/api/v1"
DOC_ACCOUNT = "acme"  # the account the run block's example names
DOC_SOURCE = "s3://kindful-etl-drops/acme/gifts-2024-06.csv"
ACCOUNTS = ("acme", "beacon")
DOC_ENV = {"PREFECT_API_URL", "KINDFUL_ETL_LEDGER_URL", "KINDFUL_ETL_STAGING_URI", "AWS_REGION"}
DROPS, STAGING = "kindful-etl-drops", "kindful-etl-staging"
SERVER_DB = "PREFECT_SERVER_DATABASE_CONNECTION_URL"
DOC_PREFECT_PORT = 4200

# Six runs: three per account; acme's second file is submitted twice.
RUNS = [("acme", 1), ("acme", 2), ("acme", 2), ("beacon", 3), ("beacon", 4), ("beacon", 5)]
PROCESSING_DELAY = 1.0  # seconds the sandbox works each job: runs of one account must queue


def export_file(number: int) -> bytes:
    """The sample (cp1252 bytes) with ids and emails of its own: no two files share a record."""
    raw = SAMPLE.read_bytes()
    assert raw.count(b"D-5") == 20 and raw.count(b"T-3") == 20
    return (
        raw.replace(b"D-5", f"D-{number}5".encode())
        .replace(b"T-3", f"T-{number}3".encode())
        .replace(b"@example.com", f"@f{number}.example.com".encode())
    )


def source_uri(account: str, number: int) -> str:
    return f"s3://{DROPS}/{account}/gifts-{number}.csv"


@dataclass
class Account:
    """A `kindful-etl sandbox` process: one Kindful account (app and org)."""

    name: str
    token: str = field(repr=False)
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def get(self, path: str) -> Any:
        """GET on the sandbox with the account's token (`/__sandbox/...` or an API path)."""
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {"Authorization": f'Token token="{self.token}"'}
        response = httpx.get(url, headers=headers, timeout=10)
        response.raise_for_status()
        return response.json()

    def answers(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return bool(self.get("/api/v1/imports/stats"))
        return False

    def lock_name(self) -> str:
        """flows.account_lock.account_name for this account, computed independently."""
        digest = hashlib.sha256(f"{self.base_url}\n{self.token}".encode()).hexdigest()[:12]
        return f"kindful-127.0.0.1-{self.port}-{digest}"


@dataclass
class Cluster:
    workdir: Path
    api_url: str
    env: dict[str, str]
    ledger_url: str
    accounts: dict[str, Account] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def run(
        self, line: str, log: str, stdin: str | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """One documented command line, from the repo root with the shared settings."""
        completed = subprocess.run(
            ["bash", "-c", line],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,  # no terminal: getpass reads the token from stdin
        )
        with (self.workdir / log).open("a") as out:
            out.write(f"$ {line}\n{completed.stdout}{completed.stderr}\n")
        return completed

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.api_url}{path}", timeout=15, **kwargs)
        response.raise_for_status()
        return response.json()

    def logs(self) -> str:
        names = ["server", "worker-1", "worker-2", *(f"sandbox-{a}" for a in ACCOUNTS)]
        return "\n".join(tail(self.workdir / f"{name}.log", 2000) for name in names)


def _alive(processes: list[Any]) -> list[str]:
    found = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
    return found


@contextlib.contextmanager
def running_cluster(
    workdir: Path, s3: EmbeddedS3, ledger_url: str, server_db_url: str
) -> Iterator[Cluster]:
    """Server, the README's setup, two sandbox accounts and two workers; all stopped after."""
    blocks = marked_blocks(README, TAG)
    for role in ("server", "env", "pool", "accounts", "worker", "run"):
        assert role in blocks, f"README.md has no <!-- {TAG}: {role} --> block"
    documented = exported(blocks["env"])
    assert set(documented) == DOC_ENV, documented
    assert documented["KINDFUL_ETL_LEDGER_URL"].startswith("postgresql+psycopg://")
    prefect_home = workdir / "prefect-home"
    prefect_home.mkdir()
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = clean_env(
        drop=("PREFECT_", "AWS_", "KINDFUL_"),
        # the documented settings, with the test's server and database
        **{**documented, "PREFECT_API_URL": api_url, "KINDFUL_ETL_LEDGER_URL": ledger_url},
        **CLIENT_ENV,
        PREFECT_HOME=str(prefect_home),
        # the worker's AWS role, here: moto
        AWS_ENDPOINT_URL_S3=s3.endpoint_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    cluster = Cluster(workdir, api_url, env, ledger_url)
    started: list[subprocess.Popen[bytes]] = []
    seen: list[Any] = []  # every process of ours, found before the stop
    passed = False

    def launch(role: str, args: list[str], **extra: str) -> subprocess.Popen[bytes]:
        process = start(args, workdir / f"{role}.log", cwd=ROOT, env={**env, **extra})
        cluster.processes[role] = process
        started.append(process)
        return process

    try:
        began = time.monotonic()
        (server,) = command_lines(blocks["server"])
        database, sep, command = server.partition(" ")
        assert database.startswith(f"{SERVER_DB}=postgresql+asyncpg://") and sep, server
        command = command.replace("--host 0.0.0.0", "--host 127.0.0.1")
        command = command.replace(f"--port {DOC_PREFECT_PORT}", f"--port {port}")
        assert "--host 127.0.0.1" in command and f"--port {port}" in command, command
        launch(
            "server", ["bash", "-c", f"exec {command}"], **SERVER_ENV, **{SERVER_DB: server_db_url}
        )
        for name in ACCOUNTS:
            token = f"{name}-{secrets.token_hex(16)}"
            sandbox_port = free_port()
            process = launch(
                f"sandbox-{name}",
                [
                    KINDFUL_ETL,
                    "sandbox",
                    "--port",
                    str(sandbox_port),
                    "--db",
                    str(workdir / f"{name}.db"),
                    "--processing-delay",
                    str(PROCESSING_DELAY),
                ],
                KINDFUL_SANDBOX_TOKEN=token,
            )
            cluster.accounts[name] = Account(name, token, sandbox_port, process)
        for account in cluster.accounts.values():
            wait_until(account.answers, 60, f"sandbox {account.name}", account.process)
        wait_until(
            lambda: server_healthy(api_url),
            120,
            f"the Prefect server\n{cluster.logs()}",
            *started,
        )
        cluster.timings["server and two sandboxes start"] = time.monotonic() - began

        client = s3.client()
        for bucket in (DROPS, STAGING):
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=bucket)

        began = time.monotonic()
        for line in command_lines(blocks["pool"]):
            done = cluster.run(line, "setup.log")
            assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        cluster.timings["work pool, deploy --all"] = time.monotonic() - began

        began = time.monotonic()
        for line in command_lines(blocks["accounts"]):
            (name,) = {a for a in ACCOUNTS if re.search(rf"\b{a}\b", line)}
            account = cluster.accounts[name]
            local = line.replace(DOC_BASE_URL, account.base_url)
            done = cluster.run(
                local, "setup.log", stdin=account.token + "\n" if "getpass" in line else None
            )
            assert done.returncode == 0, f"{local}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            if "kindful-etl check" in line:
                assert "all checks passed" in done.stdout, done.stdout
        cluster.timings["two Secret blocks, checks, deployments"] = time.monotonic() - began

        began = time.monotonic()
        (worker,) = command_lines(blocks["worker"])
        assert "prefect worker start" in worker
        for role in ("worker-1", "worker-2"):
            launch(role, ["bash", "-c", f"exec {worker}"])
        wait_until(
            lambda: len(workers_online(api_url)) >= 2,
            90,
            f"two workers online\n{cluster.logs()}",
            *started,
        )
        cluster.timings["two workers start"] = time.monotonic() - began
        yield cluster
        passed = True
    finally:
        for process in started:
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(process.pid)
                seen.extend([root, *root.children(recursive=True)])
        # Workers first (SIGINT: their clean stop, which ends their flow runs), the server last.
        began = time.monotonic()
        for role in ("worker-2", "worker-1", *(f"sandbox-{a}" for a in ACCOUNTS), "server"):
            if role in cluster.processes:
                stop(cluster.processes[role], signal.SIGINT if "worker" in role else signal.SIGTERM)
                cluster.timings[f"stop {role}"] = time.monotonic() - began
        deadline = time.monotonic() + 10
        while _alive(seen) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _alive(seen)
        for process in seen:  # never left behind, whatever happened above
            with contextlib.suppress(psutil.Error):
                process.kill()
        if passed:  # else the failure that got here is the one to see
            assert not left, f"processes left running: {left}"


# --------------------------------------------------------------------------------------------
# the sandbox's meter
# --------------------------------------------------------------------------------------------


def test_the_sandbox_meter_counts_jobs_of_one_account_at_once() -> None:
    """The meter the multi-worker test trusts does see two jobs at once when a client sends them."""
    body = {
        "data_format": "contact",
        "data_type": "json",
        "data": [{"id": "C-1", "first_name": "Ada", "last_name": "Meter", "email": "a@x.org"}],
    }
    with running_sandbox(faults={"hold_jobs": True}) as kindful:
        other = kindful.new_org()
        kindful.sandbox.submit(kindful.app, body)
        kindful.sandbox.submit(kindful.app, body)  # a second job before the first finished
        kindful.sandbox.submit(other.app, body)  # another account's job meanwhile
        kindful.set_faults(hold_jobs=False)
        store = kindful.sandbox.store
        wait_until(
            lambda: not store.active_jobs(kindful.app) + store.active_jobs(other.app), 10, "jobs"
        )
        assert kindful.job_peaks() == {"submitted": 2, "peak_active": 2, "peak_working": 1}
        assert other.job_peaks() == {"submitted": 1, "peak_active": 1, "peak_working": 1}


# --------------------------------------------------------------------------------------------
# six runs, two workers, two accounts
# --------------------------------------------------------------------------------------------


def _state(run: dict[str, Any]) -> str:
    return str((run.get("state") or {}).get("type"))


def _source(run: dict[str, Any]) -> tuple[str, int]:
    """A flow run's (account, file number), from its source parameter."""
    match = re.fullmatch(rf"s3://{DROPS}/(\w+)/gifts-(\d+)\.csv", run["parameters"]["source"])
    assert match, run["parameters"]
    return match.group(1), int(match.group(2))


def _max_overlap(runs: list[dict[str, Any]]) -> int:
    """The most of these flow runs that were running at one instant."""
    edges = []
    for run in runs:
        if run.get("start_time") and run.get("end_time"):
            edges.append((datetime.fromisoformat(run["start_time"]), 1))
            edges.append((datetime.fromisoformat(run["end_time"]), -1))
    level = peak = 0
    for _, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        level += step
        peak = max(peak, level)
    return peak


def _report(lines: list[str], request: pytest.FixtureRequest) -> None:
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n".join(["", *lines]), flush=True)


def test_six_runs_on_two_workers_import_each_gift_once_one_job_at_a_time_per_account(
    moto_s3: EmbeddedS3,
    postgres_cluster: PostgresCluster,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    test_began = time.monotonic()
    ledger_url = postgres_cluster.create_database("multi_worker")
    server_db_url = postgres_cluster.create_database("multi_worker_prefect").replace(
        "+psycopg", "+asyncpg"
    )
    blocks = marked_blocks(README, TAG)
    run_line, limits_line = command_lines(blocks["run"])
    assert DOC_SOURCE in run_line and f"import-one-file-{DOC_ACCOUNT}" in run_line, run_line
    assert "global-concurrency-limit ls" in limits_line

    client = moto_s3.client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=DROPS)
    for owner, number in set(RUNS):
        client.put_object(Bucket=DROPS, Key=f"{owner}/gifts-{number}.csv", Body=export_file(number))

    with running_cluster(tmp_path, moto_s3, ledger_url, server_db_url) as cluster:
        accounts = cluster.accounts

        # -- six flow runs at once, with the README's command ---------------------------------
        def submit(item: tuple[str, int]) -> str:
            account, number = item
            line = run_line.replace(f"import-one-file-{DOC_ACCOUNT}", f"import-one-file-{account}")
            line = line.replace(DOC_SOURCE, source_uri(account, number))
            done = cluster.run(line, "runs.log", timeout=120)
            assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
            match = re.search(r"UUID: ([0-9a-f-]{36})", done.stdout)
            assert match, done.stdout
            return match.group(1)

        began = time.monotonic()
        with ThreadPoolExecutor(len(RUNS)) as pool:
            ids = list(pool.map(submit, RUNS))
        submitted = time.monotonic() - began
        deployments = [
            cluster.api("GET", f"/deployments/name/import-export/import-one-file-{name}")["id"]
            for name in ACCOUNTS
        ]

        def finished() -> list[dict[str, Any]] | None:
            """Every flow run of the two deployments, once all are final.

            Not only the six: a `prefect deployment run` whose request timed out is retried by
            Prefect's client and may create a second flow run; it must import nothing more.
            """
            query = {"flow_runs": {"deployment_id": {"any_": deployments}}}
            runs: list[dict[str, Any]] = cluster.api("POST", "/flow_runs/filter", json=query)
            done = all(_state(r) in FINAL_STATES for r in runs)
            return runs if done and set(ids) <= {r["id"] for r in runs} else None

        try:
            runs = wait_until(finished, 240, "six flow runs to finish", *cluster.processes.values())
        except AssertionError as error:
            raise AssertionError(f"{error}\n{cluster.logs()}") from None
        wall = time.monotonic() - began
        extra = len(runs) - len(RUNS)
        where = {r["id"]: _source(r) for r in runs}  # (account, file number)

        def logs_of(flow_run_id: str) -> list[str]:
            query = {"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200}
            return [
                str(entry["message"]) for entry in cluster.api("POST", "/logs/filter", json=query)
            ]

        failed = [r for r in runs if _state(r) != "COMPLETED"]
        assert not failed, "\n".join(
            f"{r['name']}: {_state(r)} {(r.get('state') or {}).get('message')}\n"
            + "\n".join(logs_of(r["id"])[-15:])
            for r in failed
        )

        limits = cluster.run(limits_line, "runs.log")
        assert limits.returncode == 0, limits.stderr
        stored_limits = {
            limit["name"]: limit
            for limit in cluster.api("POST", "/v2/concurrency_limits/filter", json={})
        }

        # -- who ran what -----------------------------------------------------------------
        worker_logs = {
            role: (cluster.workdir / f"{role}.log").read_text(errors="replace")
            for role in ("worker-1", "worker-2")
        }
        # Both workers may claim a run; the server lets one have it and aborts the other.
        refused = sum(text.count("Aborted submission of flow run") for text in worker_logs.values())
        ran_by = {
            flow_run_id: [
                role
                for role, text in worker_logs.items()
                if flow_run_id in text
                and f"Aborted submission of flow run '{flow_run_id}'" not in text
            ]
            for flow_run_id in where
        }
        per_worker = Counter(roles[0] for roles in ran_by.values() if len(roles) == 1)

        # -- what each Kindful account holds ----------------------------------------------
        figures: dict[str, dict[str, Any]] = {}
        for name, account in accounts.items():
            records = account.get("/__sandbox/records")
            gifts = Counter(
                t["external_id"] for t in records["transactions"] if not t["deleted_at"]
            )
            contacts = Counter(c["external_id"] for c in records["contacts"] if not c["deleted_at"])
            numbers = sorted({n for a, n in RUNS if a == name})
            figures[name] = {
                "runs": sum(a == name for a, _ in where.values()),
                "files": numbers,
                "posts": account.get("/__sandbox/requests").get("POST /imports", 0),
                "peaks": account.get("/__sandbox/jobs"),
                "gifts": gifts,
                "contacts": contacts,
                "overlap": _max_overlap([r for r in runs if where[r["id"]][0] == name]),
            }

        # -- the ledger -------------------------------------------------------------------
        ledger = Ledger(ledger_url)
        try:
            ledger_runs = ledger.runs(limit=50)
            batches = {rec.run_id: ledger.run(rec.run_id)[1] for rec in ledger_runs}  # type: ignore[index]
        finally:
            ledger.close()

        job_status = {
            (name, batch.job_id): accounts[name].get(f"/api/v1/imports/{batch.job_id}")["status"]
            for rec in ledger_runs
            for batch in batches[rec.run_id]
            if batch.job_id
            for name in ACCOUNTS
            if accounts[name].base_url == rec.target.partition("#")[0]
        }
        job_variables = {
            name: cluster.api("GET", f"/deployments/name/import-export/import-one-file-{name}")[
                "job_variables"
            ]
            for name in ACCOUNTS
        }
        secrets_seen = [
            name
            for name, account in accounts.items()
            for text in (
                json.dumps(
                    cluster.api("GET", f"/deployments/name/import-export/import-one-file-{name}")
                ),
                json.dumps(runs),
            )
            if account.token in text
        ]
        twice = [r["id"] for r in runs if where[r["id"]] == ("acme", 2)]
        skipped_lines = {
            flow_run_id: [m for m in logs_of(flow_run_id) if "already imported by run" in m]
            for flow_run_id in twice
        }

    # -- the figures, then the checks (the cluster is stopped: no orphans, or it failed) ------
    duplicates = sum(
        count - 1
        for f in figures.values()
        for count in (*f["gifts"].values(), *f["contacts"].values())
        if count > 1
    )
    statuses = Counter(b.status for bs in batches.values() for b in bs)
    shares = dict(sorted(per_worker.items()))
    created = sorted(datetime.fromisoformat(r["created"]) for r in runs)
    spread = (created[-1] - created[0]).total_seconds()
    lines = [
        'multi-worker run (README "Running on several workers", tests/test_multi_worker.py):',
        f"  flow runs                       {len(runs)} created within {spread:.1f}s "
        f"(six parallel `prefect deployment run`, {submitted:.1f}s), "
        f"{Counter(_state(r) for r in runs)['COMPLETED']} COMPLETED",
        f"  workers                         2, flow runs per worker {shares} "
        f"(claims the server refused: {refused})",
    ]
    for name, f in figures.items():
        lines.append(
            f"  account {name:<8}                runs {f['runs']}, files {len(f['files'])}, "
            f"POST /imports {f['posts']}, gifts {sum(f['gifts'].values())}, "
            f"runs running at once {f['overlap']}, jobs at once: "
            f"peak working {f['peaks']['peak_working']}, peak active {f['peaks']['peak_active']}"
        )
    lines += [
        f"  extra flow runs                 {extra} (from Prefect's client retrying a request)",
        f"  duplicate gifts or contacts     {duplicates}",
        f"  ledger                          {len(ledger_runs)} runs, "
        f"{sum(statuses.values())} batches {dict(sorted(statuses.items()))}",
        f"  account concurrency limits      "
        f"{ {n: stored_limits[a.lock_name()]['limit'] for n, a in accounts.items()} }",
        f"  wall time                       submit to the last run final {wall:.1f}s; "
        f"whole test {time.monotonic() - test_began:.1f}s",
        "  setup                           "
        + ", ".join(f"{what} {seconds:.1f}s" for what, seconds in cluster.timings.items()),
        f"  (logs in {tmp_path})",
    ]
    _report(lines, request)

    # Each worker took some of the six runs (each takes at most three: --limit 3).
    assert all(len(roles) == 1 for roles in ran_by.values()), ran_by
    assert set(per_worker) == {"worker-1", "worker-2"}, per_worker

    for name, f in figures.items():
        expected_posts = len(f["files"])
        # No account ever had two jobs working, or even queued, at once, though its runs ran
        # side by side on both workers.
        assert f["peaks"] == {
            "submitted": expected_posts,
            "peak_active": 1,
            "peak_working": 1,
        }, (name, f["peaks"])
        assert f["posts"] == expected_posts, (name, f["posts"])
        assert f["overlap"] >= 2, f"{name}'s runs never ran at once: the lock was not exercised"
        # Each gift once, and only this account's files' gifts.
        assert set(f["gifts"].values()) == {1}, (name, f["gifts"].most_common(3))
        assert len(f["gifts"]) == 17 * len(f["files"]), (name, len(f["gifts"]))
        prefixes = tuple(f"T-{n}3" for n in f["files"])
        assert all(str(gift).startswith(prefixes) for gift in f["gifts"]), name
        assert set(f["contacts"].values()) == {1}, (name, f["contacts"].most_common(3))
        # The account's limit: created on first use, named for it, limit 1.
        assert stored_limits[accounts[name].lock_name()]["limit"] == 1, sorted(stored_limits)
        assert accounts[name].lock_name() in limits.stdout, limits.stdout
    assert duplicates == 0

    # The ledger holds every run and batch; every job it names is complete in its account.
    assert len(ledger_runs) == len(runs) and all(r.status == "complete" for r in ledger_runs)
    assert Counter((r.target.partition("#")[0], r.source_uri) for r in ledger_runs) == Counter(
        (accounts[a].base_url, source_uri(a, n)) for a, n in where.values()
    )
    assert all(len(bs) == 1 for bs in batches.values()), batches
    assert statuses == Counter({COMPLETE: len(set(RUNS)), SKIPPED: len(runs) - len(set(RUNS))})
    assert set(job_status.values()) == {"complete"} and len(job_status) == len(set(RUNS))

    # A file submitted twice (or a flow run created twice): one POST (above); each other run
    # skipped its batch and said which run imported it.
    imported = {
        rec.source_uri: batch
        for rec in ledger_runs
        for batch in batches[rec.run_id]
        if batch.status == COMPLETE
    }
    for rec in ledger_runs:
        for batch in batches[rec.run_id]:
            if batch.status == SKIPPED:
                first = imported[rec.source_uri]
                assert batch.job_id == first.job_id, (batch, first)
                assert batch.message == f"imported by {first.run_id}", batch
    said = sorted(len(found) for found in skipped_lines.values())
    assert said == [0] + [1] * (len(twice) - 1), skipped_lines

    # No deployment and no flow run holds an account's token: a block name and a URL only.
    assert not secrets_seen, secrets_seen
    for name, account in accounts.items():
        assert job_variables[name] == {
            "env": {
                "KINDFUL_BASE_URL": account.base_url,
                "KINDFUL_TOKEN_BLOCK": f"kindful-token-{name}",
            }
        }

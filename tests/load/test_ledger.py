"""The ledger on both databases it runs on: SQLite (a file) and PostgreSQL (a real server).

Every test here runs twice: on a fresh SQLite file and on a fresh database in the throwaway
PostgreSQL cluster (tests/postgres.py). The race tests use real threads and real processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from pipelines.load import ledger as ledger_module
from pipelines.load.ledger import COMPLETE, STAGED, SUBMITTED, Ledger

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
HEAD = ScriptDirectory(str(ledger_module.MIGRATIONS)).get_current_head()
SOURCE = {"source_uri": "s3://inbox/classy_2024-06.csv", "source_hash": "a" * 64}
TARGET = "https://app.kindful.com/api/v1"


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes URLs of fresh, empty ledgers on the parametrized database."""
    if request.param == "sqlite":
        made = iter(range(1000))
        return lambda: f"sqlite:///{tmp_path / f'ledger{next(made)}.db'}"
    cluster = request.getfixturevalue("postgres_cluster")
    return lambda: str(cluster.create_database())


@pytest.fixture
def url(new_url: Callable[[], str]) -> str:
    return new_url()


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    opened = Ledger(url)
    yield opened
    opened.close()


def _start(ledger: Ledger, **overrides: object) -> str:
    fields: dict[str, object] = {
        **SOURCE,
        "target": TARGET,
        "fingerprint": "f" * 64,
        "settings": {"data_format": "contact_with_transaction"},
        **overrides,
    }
    return ledger.start_run(**fields)  # type: ignore[arg-type]


def _version(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            return list(db.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            return int(db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


# --- bookkeeping ---------------------------------------------------------------------------


def test_runs_and_batches_round_trip(ledger: Ledger) -> None:
    run_id = _start(ledger)
    ledger.record_batch(run_id, 1, content_hash="b1", rows=500, status=STAGED, s3_key="k/1.csv")
    ledger.record_batch(run_id, 1, status=SUBMITTED, job_id="job-1")  # a partial update
    ledger.record_batch(run_id, 1, status=COMPLETE, stats={"contacts_created": 500})
    ledger.record_batch(run_id, 2, content_hash="b2", rows=20, status=SUBMITTED, job_id="job-2")
    ledger.finish_run(run_id, "complete", {"rows_imported": 520})

    found = ledger.run(run_id)
    assert found is not None
    run, batches = found
    assert (run.source_uri, run.status, run.summary) == (
        SOURCE["source_uri"],
        "complete",
        {"rows_imported": 520},
    )
    assert [(b.number, b.status, b.rows, b.s3_key, b.job_id) for b in batches] == [
        (1, COMPLETE, 500, "k/1.csv", "job-1"),
        (2, SUBMITTED, 20, None, "job-2"),
    ]
    assert batches[0].stats == {"contacts_created": 500}
    assert [r.run_id for r in ledger.runs()] == [run_id]
    assert ledger.completed_run(**SOURCE, target=TARGET, fingerprint="f" * 64) == run_id
    assert ledger.completed_run(**SOURCE, target=TARGET, fingerprint="other") is None
    last = ledger.last_run_of(source_uri=SOURCE["source_uri"], target=TARGET)
    assert last is not None
    assert last.run_id == run_id

    # A later run finds the earlier batch: complete beats submitted, another target never counts.
    later = _start(ledger)
    ledger.record_batch(later, 1, content_hash="b1", rows=500, status=SUBMITTED, job_id="job-9")
    prior = ledger.prior_batch(target=TARGET, fingerprint="f" * 64, content_hash="b1")
    assert prior is not None
    assert (prior.run_id, prior.status) == (run_id, COMPLETE)
    assert (
        ledger.prior_batch(target="https://other", fingerprint="f" * 64, content_hash="b1") is None
    )
    assert ledger.run("no-such-run") is None


def test_claim_job_keeps_the_first_claim(ledger: Ledger) -> None:
    first, second = _start(ledger), _start(ledger)
    assert ledger.claim_job(target=TARGET, job_id="job-1", run_id=first) == first
    assert ledger.claim_job(target=TARGET, job_id="job-1", run_id=second) == first
    assert ledger.claim_job(target="https://other", job_id="job-1", run_id=second) == second


# --- schema versions -----------------------------------------------------------------------


def test_the_ledgers_head_revision_constant_is_alembics_head() -> None:
    assert ledger_module.HEAD_REVISION == HEAD


def test_a_ledger_at_head_opens_without_importing_alembic(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(str(path)).close()  # created and migrated
    probe = (
        "import sys; from pipelines.load.ledger import Ledger; "
        f"Ledger({str(path)!r}).close(); print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "False"


def test_new_ledger_is_at_head_and_matches_the_code(url: str) -> None:
    Ledger(url).close()
    assert _version(url) == [HEAD]
    # What the migrations built is what the code's tables describe (no drift either way).
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            drift = compare_metadata(MigrationContext.configure(db), ledger_module.metadata)
    finally:
        engine.dispose()
    assert drift == []


def test_ledger_made_before_migrations_is_upgraded_in_place(url: str) -> None:
    """A ledger from kindful-etl 0.1 (`metadata.create_all` of its four tables, no
    alembic_version) keeps its runs and gains the new tables."""
    engine = sa.create_engine(url)
    old_tables = [
        ledger_module.sources,
        ledger_module.runs,
        ledger_module.batches,
        ledger_module.job_claims,
    ]
    ledger_module.metadata.create_all(engine, tables=old_tables)  # what 0.1's Ledger() did
    now = ledger_module._now()
    with engine.begin() as db:
        db.execute(ledger_module.sources.insert().values(id=1, **_row(SOURCE), first_seen_at=now))
        db.execute(
            ledger_module.runs.insert().values(
                run_id="old-run",
                source_id=1,
                target=TARGET,
                fingerprint="f" * 64,
                settings=json.dumps({"action": "create"}),
                status="complete",
                started_at=now,
                finished_at=now,
                summary=json.dumps({"rows_imported": 3}),
            )
        )
        db.execute(
            ledger_module.batches.insert().values(
                run_id="old-run",
                number=1,
                content_hash="b1",
                rows=3,
                status=COMPLETE,
                updated_at=now,
            )
        )
    with engine.connect() as db:
        assert "alembic_version" not in sa.inspect(db).get_table_names()
    engine.dispose()

    upgraded = Ledger(url)
    found = upgraded.run("old-run")
    assert found is not None
    run, batches = found
    assert (run.source_uri, run.status, run.settings, run.summary) == (
        SOURCE["source_uri"],
        "complete",
        {"action": "create"},
        {"rows_imported": 3},
    )
    assert [(b.number, b.status) for b in batches] == [(1, COMPLETE)]
    assert _version(url) == [HEAD]
    # The old source row is reused, and what migration 0002 added works.
    _start(upgraded)
    assert _count(url, "sources") == 1
    assert upgraded.acquire_lease("kindful:acct", "worker-1", ttl=30, wait=0)
    upgraded.close()


def _row(source: dict[str, str]) -> dict[str, str]:
    return {"uri": source["source_uri"], "content_hash": source["source_hash"]}


# --- races between workers -----------------------------------------------------------------

# One worker process: waits for the go file, then its threads all open the ledger and register
# the same source, write the same batch (with "batch") and claim the same job at once. Prints
# what it did.
_RACER = textwrap.dedent(
    """
    import json, sys, threading, time
    from pathlib import Path
    import alembic.command, alembic.config, sqlalchemy.dialects.postgresql.psycopg
    from pipelines.load.ledger import Ledger

    url, go, tag, threads, per_thread, batch = sys.argv[1], Path(sys.argv[2]), *sys.argv[3:]
    threads, per_thread = int(threads), int(per_thread)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.002)
    barrier = threading.Barrier(threads)
    runs, owners, errors = [], [], []

    def race(i):
        try:
            barrier.wait()
            ledger = Ledger(url)
            for j in range(per_thread):
                run_id = ledger.start_run(
                    source_uri="s3://inbox/same.csv", source_hash="a" * 64, target="t",
                    fingerprint="f", settings={"by": tag}, run_id=f"{tag}-{i}-{j}",
                )
                runs.append(run_id)
                if batch == "batch":  # into the run "shared", which the test made beforehand
                    ledger.record_batch(
                        "shared", 1, content_hash="b", rows=1, status="staged", message=run_id
                    )
                owners.append(ledger.claim_job(target="t", job_id="job-1", run_id=run_id))
            ledger.close()
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")

    workers = [threading.Thread(target=race, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps({"runs": runs, "owners": owners, "errors": errors}), flush=True)
    """
)


def _race(
    url: str, go: Path, processes: int, threads: int, per_thread: int, batch: bool
) -> list[dict[str, list[str]]]:
    """Start racer processes, release them together, return what each reports."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    racers = [
        subprocess.Popen(
            [
                *(sys.executable, "-c", _RACER, url, str(go), f"p{n}"),
                *(str(threads), str(per_thread), "batch" if batch else "-"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for n in range(processes)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None
            assert racer.stdout.readline().strip() == "ready", racer.stderr
        go.touch()  # every racer is loaded and polling: they start within milliseconds
        reports = []
        for racer in racers:
            out, err = racer.communicate(timeout=120)
            assert racer.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()


def test_registration_is_race_free_across_threads_and_processes(url: str, tmp_path: Path) -> None:
    processes, threads, per_thread = 4, 6, 3
    ledger = Ledger(url)
    ledger.start_run(**SOURCE, target="t", fingerprint="f", settings={}, run_id="shared")
    # The threads of this process join the race too.
    barrier = threading.Barrier(threads)

    def local(i: int) -> list[str]:
        barrier.wait()
        return [
            ledger.start_run(
                source_uri="s3://inbox/same.csv",
                source_hash="a" * 64,
                target="t",
                fingerprint="f",
                settings={},
                run_id=f"local-{i}-{j}",
            )
            for j in range(per_thread)
        ]

    go = tmp_path / "go"
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(local, i) for i in range(threads)]
        reports = _race(url, go, processes, threads, per_thread, batch=True)
        local_runs = [run for future in futures for run in future.result()]

    assert [r["errors"] for r in reports] == [[]] * processes
    remote_runs = [run for r in reports for run in r["runs"]]
    assert len(remote_runs) == processes * threads * per_thread
    assert len(local_runs) == threads * per_thread
    assert _count(url, "sources") == 2  # SOURCE and the raced one, each exactly once
    assert _count(url, "runs") == 1 + len(remote_runs) + len(local_runs)
    assert {r.run_id for r in ledger.runs(limit=1000)} == {"shared", *remote_runs, *local_runs}
    found = ledger.run("shared")
    assert found is not None
    assert len(found[1]) == 1  # one batch row, written by many
    assert found[1][0].message in remote_runs
    owners = {owner for r in reports for owner in r["owners"]}
    assert len(owners) == 1  # every claimant read back the one winner
    assert owners <= set(remote_runs)
    ledger.close()


def test_first_opens_from_several_processes_at_once(
    new_url: Callable[[], str], tmp_path: Path
) -> None:
    """Fresh database, four processes opening it at the same moment: one migrates, none fails."""
    url = new_url()
    reports = _race(url, tmp_path / "go", processes=4, threads=2, per_thread=1, batch=False)
    assert [r["errors"] for r in reports] == [[]] * 4
    assert _version(url) == [HEAD]
    assert _count(url, "sources") == 1
    assert _count(url, "runs") == 8


# --- leases --------------------------------------------------------------------------------


def test_lease_one_holder_at_a_time(ledger: Ledger) -> None:
    name = "kindful:https://app.kindful.com:fp-1a2b3c"
    assert ledger.acquire_lease(name, "worker-a", ttl=30, wait=0)
    began = time.monotonic()
    assert not ledger.acquire_lease(name, "worker-b", ttl=30, wait=0.5)
    assert time.monotonic() - began >= 0.5  # it polled for the whole wait
    assert ledger.lease_holder(name) == "worker-a"
    assert ledger.acquire_lease(name, "worker-a", ttl=30, wait=0)  # the holder may re-take it

    assert not ledger.release_lease(name, "worker-b")  # not the holder: nothing changes
    assert ledger.lease_holder(name) == "worker-a"
    assert not ledger.renew_lease(name, "worker-b", ttl=30)
    assert ledger.lease_holder(name) == "worker-a"

    assert ledger.release_lease(name, "worker-a")
    assert ledger.lease_holder(name) is None
    assert ledger.acquire_lease(name, "worker-b", ttl=30, wait=0)
    assert ledger.lease_holder(name) == "worker-b"
    assert ledger.lease_holder("another-account") is None


def test_contending_holders_never_overlap(ledger: Ledger) -> None:
    """Four threads, each with its own ledger connection, take turns on one lease."""
    name, inside, peak, turns = "kindful:acct", [0], [0], []
    guard = threading.Lock()

    def contend(holder: str) -> None:
        for _ in range(3):
            assert ledger.acquire_lease(name, holder, ttl=30, wait=30)
            with guard:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            assert ledger.lease_holder(name) == holder
            time.sleep(0.05)
            with guard:
                inside[0] -= 1
                turns.append(holder)
            assert ledger.release_lease(name, holder)

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(contend, f"worker-{n}") for n in range(4)]:
            future.result()
    assert peak == [1]
    assert len(turns) == 12


def test_an_expired_lease_is_taken_over(ledger: Ledger) -> None:
    name = "kindful:acct"
    assert ledger.acquire_lease(name, "killed-worker", ttl=0.6, wait=0)
    assert ledger.renew_lease(name, "killed-worker", ttl=0.6)  # renewing works while held
    began = time.monotonic()
    assert ledger.acquire_lease(name, "next-worker", ttl=30, wait=10)
    waited = time.monotonic() - began
    assert 0.3 <= waited < 5  # it waited for the expiry, no longer
    assert ledger.lease_holder(name) == "next-worker"
    # The old holder lost it: it can neither renew nor release the new holder's lease.
    assert not ledger.renew_lease(name, "killed-worker", ttl=30)
    assert not ledger.release_lease(name, "killed-worker")
    assert ledger.lease_holder(name) == "next-worker"


def test_an_expired_lease_has_no_holder(ledger: Ledger) -> None:
    assert ledger.acquire_lease("kindful:acct", "worker-a", ttl=0.3, wait=0)
    time.sleep(0.5)
    assert ledger.lease_holder("kindful:acct") is None


@pytest.mark.parametrize("bad", ["kindful:café", "", "x" * 201, "tab\there"])
def test_lease_names_are_short_ascii_and_never_echoed(ledger: Ledger, bad: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII") as raised:
        ledger.acquire_lease(bad, "worker-a", ttl=1, wait=0)
    assert bad not in str(raised.value) or bad == ""
    with pytest.raises(ValueError, match="printable ASCII"):
        ledger.acquire_lease("kindful:acct", bad, ttl=1, wait=0)
    with pytest.raises(ValueError, match="ttl"):
        ledger.acquire_lease("kindful:acct", "worker-a", ttl=0, wait=0)

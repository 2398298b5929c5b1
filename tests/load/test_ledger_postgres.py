"""What only a PostgreSQL ledger does: its driver, its migration lock, its clock, its secrets.

The suite shared by both databases is tests/test_ledger.py; these run against the same kind of
throwaway server (tests/postgres.py), started once per test process.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from support.postgres import PostgresCluster, find_bindir, running_postgres

from pipelines.load import ledger as ledger_module
from pipelines.load.ledger import Ledger, database_url
from pipelines.load.preflight import check_ledger

pytestmark = pytest.mark.slow
PASSWORD = "s3cret-ledger-pw"  # trust auth ignores it; it must still never be shown


def test_a_bare_postgresql_url_gets_the_psycopg_driver(postgres_cluster: PostgresCluster) -> None:
    url = postgres_cluster.create_database()
    bare = url.replace("postgresql+psycopg://", "postgresql://")
    assert database_url(bare) == url
    assert database_url(bare.replace("postgresql://", "postgres://")) == url
    ledger = Ledger(bare)
    assert ledger.engine.dialect.driver == "psycopg"
    assert ledger.claim_job(target="t", job_id="j", run_id="r") == "r"
    ledger.close()


def test_claim_job_from_many_threads_has_one_winner(postgres_url: str) -> None:
    ledger = Ledger(postgres_url)
    barrier = threading.Barrier(16)

    def claim(n: int) -> str:
        barrier.wait()
        return ledger.claim_job(target="https://acct", job_id="job-race", run_id=f"run-{n}")

    with ThreadPoolExecutor(16) as pool:
        owners = set(pool.map(claim, range(16)))
    assert len(owners) == 1
    assert owners <= {f"run-{n}" for n in range(16)}
    ledger.close()


def test_migration_waits_for_the_advisory_lock(postgres_cluster: PostgresCluster) -> None:
    """A second worker's first open waits while another holds the migration lock."""
    url = postgres_cluster.create_database()
    opened = threading.Event()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (ledger_module._PG_MIGRATION_LOCK,))

        def open_ledger() -> None:
            Ledger(url).close()
            opened.set()

        opener = threading.Thread(target=open_ledger)
        opener.start()
        assert not opened.wait(0.7)  # blocked on the lock, not failing, not migrating around it
        other.execute("SELECT pg_advisory_unlock(%s)", (ledger_module._PG_MIGRATION_LOCK,))
        opener.join(30)
    assert opened.is_set()
    engine = sa.create_engine(url)
    with engine.connect() as db:
        assert "leases" in sa.inspect(db).get_table_names()
    engine.dispose()


def test_leases_keep_the_database_clock(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose clock runs an hour slow still holds its lease for the full ttl."""
    ledger = Ledger(postgres_url)
    real_now = ledger_module._now
    monkeypatch.setattr(ledger_module, "_now", lambda: real_now() - timedelta(hours=1))
    assert ledger.acquire_lease("kindful:clock", "slow-clock-worker", ttl=60, wait=0)
    monkeypatch.setattr(ledger_module, "_now", real_now)
    assert ledger.lease_holder("kindful:clock") == "slow-clock-worker"
    assert not ledger.acquire_lease("kindful:clock", "other-worker", ttl=60, wait=0)
    ledger.close()


def test_the_ledger_password_is_never_shown(
    postgres_cluster: PostgresCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = postgres_cluster.port
    missing = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/no_such_db"
    with pytest.raises(sa.exc.OperationalError) as raised:
        Ledger(missing)
    assert "no_such_db" in str(raised.value)
    assert PASSWORD not in str(raised.value)
    assert PASSWORD not in repr(raised.value)
    failed = check_ledger(missing)
    assert not failed.ok
    good = postgres_cluster.url("kindful_etl_pw").replace("postgres@", f"postgres:{PASSWORD}@")
    postgres_cluster.create_database("kindful_etl_pw")
    passed = check_ledger(good)
    assert passed.ok
    assert PASSWORD not in f"{failed} {passed}"
    assert PASSWORD not in caplog.text


def test_a_throwaway_cluster_starts_fast_and_leaves_nothing() -> None:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found")
    with running_postgres(bindir) as cluster:
        assert cluster.startup_seconds < 15
        assert cluster.process is not None
        postmaster = cluster.process.pid
        children = _children(postmaster)
        assert children  # checkpointer, walwriter, ...
        root = cluster.root
    assert cluster.process is None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in children):
        time.sleep(0.05)
    assert not [p for p in [postmaster, *children] if _alive(p)]
    assert not root.exists()


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie awaiting its parent's wait()."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"

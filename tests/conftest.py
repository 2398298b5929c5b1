"""Session-wide fixtures: one Prefect test server, one moto S3, one sandbox Kindful, and a
throwaway PostgreSQL server for the tests that ask for one."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from support.postgres import PostgresCluster

# CI runs the same examples every time: a property failure is reproducible, never luck.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Every process this test run starts inherits this mark, even one started in a session of its
# own or left behind by a parent that died: the end-of-run check finds them all by it.
RUN_MARK = "KINDFUL_ETL_TEST_RUN"
os.environ.setdefault(RUN_MARK, uuid.uuid4().hex)
# Seconds for servers stopped at the end to finish exiting.
LEFTOVER_GRACE = float(os.environ.get("KINDFUL_ETL_LEFTOVER_GRACE") or 20)

# Before Prefect is imported anywhere: a private home and no telemetry.
_PREFECT_HOME = tempfile.mkdtemp(prefix="kindful-etl-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One temporary Prefect server for every flow test (starting one takes 10-25 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[object]:
    from pipelines.embedded.s3 import running_moto

    with running_moto() as s3:
        yield s3


@pytest.fixture
def sandbox_db(tmp_path: Path) -> Path:
    return tmp_path / "sandbox.db"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL server (Debian's binaries), started when a test first asks for it.

    Each xdist worker that needs one starts its own (own folder, own free port); it stops at the
    end of the session whatever the tests did, and dies with the test process if that is killed.
    Missing binaries skip the test, except on CI, where `.ci/run` installs them: there they fail.
    """
    from support.postgres import find_bindir, running_postgres

    bindir = find_bindir()
    if bindir is None:
        reason = (
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
            "apt-get install postgresql, as .ci/run does"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with running_postgres(bindir) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A database in the throwaway server, shared by this session's tests (a SQLAlchemy URL)."""
    return postgres_cluster.create_database("kindful_etl")


def _leftovers() -> list[str]:
    """Processes of this test run still alive (not this one, not zombies), as `pid command`."""
    mark = f"{RUN_MARK}={os.environ[RUN_MARK]}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found.append(f"{entry.name} {command[:160]}")
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if anything it started is still running (an orphaned server, say)."""
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller checks
        return
    deadline = time.monotonic() + LEFTOVER_GRACE
    while (left := _leftovers()) and time.monotonic() < deadline:
        time.sleep(0.5)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("processes this test run started are still running:", red=True)
            for line in left:
                reporter.write_line(f"  {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

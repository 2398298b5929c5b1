"""The fixtures every test folder shares: one Prefect test server and one moto S3 per session,
a sandbox Kindful and import settings per test, and a throwaway PostgreSQL server on demand.

A test module may set `TOKEN` (the sandbox's token) and `DROP_BUCKETS` (the S3-drop allow-list)
to make its runs its own; the fixtures read them from the module."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings as hypothesis_settings
from pydantic import SecretStr

if TYPE_CHECKING:
    from support.postgres import PostgresCluster

    from pipelines.embedded.s3 import EmbeddedS3
    from pipelines.load.settings import ImportSettings
    from sandbox.serve import SandboxHandle

# CI runs the same examples every time: a property failure is reproducible, never luck.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("explore", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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


@pytest.fixture
def kindful(sandbox_db: Path, request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    """A sandbox Kindful of the test's own (own records, own jobs) on a loopback port."""
    from sandbox.serve import running_sandbox

    token = getattr(request.module, "TOKEN", "sandbox-test-token")
    with running_sandbox(token=token, db=str(sandbox_db)) as handle:
        yield handle


@pytest.fixture
def make_settings(
    kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path
) -> Callable[..., ImportSettings]:
    """Import settings aimed at the test's sandbox and a staging prefix of its own in moto."""
    from pipelines.kindful.settings import KindfulSettings
    from pipelines.load.settings import ImportSettings
    from pipelines.staging.s3 import ensure_bucket

    def make(bucket: str = "staging", **overrides: object) -> ImportSettings:
        staging = moto_s3.settings(bucket=bucket, prefix=f"{tmp_path.name}/")
        ensure_bucket(moto_s3.client(staging), staging)
        fields: dict[str, object] = {
            "kindful": KindfulSettings(token=SecretStr(kindful.token), base_url=kindful.base_url),
            "staging": staging,
            "ledger": str(tmp_path / "state" / "ledger.db"),
            "aws_credentials": moto_s3.credentials(),
            "poll_interval": 0.05,
            "poll_timeout": 60,
            "target_name": f"sandbox:{tmp_path.name}",
        }
        return ImportSettings(**(fields | overrides))  # type: ignore[arg-type]

    return make


@pytest.fixture
def settings(make_settings: Callable[..., ImportSettings]) -> Iterator[ImportSettings]:
    """Default import settings, in effect for every flow the test starts (as a worker's are)."""
    from flows.run_settings import use_settings

    with use_settings(settings := make_settings()):
        yield settings


@pytest.fixture
def aws_env(
    moto_s3: EmbeddedS3, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Flows read drops through the standard AWS chain, as a worker does: point it at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv(
        "KINDFUL_ETL_DROP_BUCKETS", ",".join(getattr(request.module, "DROP_BUCKETS", ()))
    )


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


def _stop_multiprocessing_helpers() -> None:
    """The transform's forkserver (and its resource tracker) live as long as the process that
    started them, for the next run's workers; here that is this test process, which is about to
    look for leftovers."""
    import multiprocessing.forkserver
    import multiprocessing.resource_tracker

    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
    multiprocessing.resource_tracker._resource_tracker._stop()  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if anything it started is still running (an orphaned server, say)."""
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller checks
        return
    _stop_multiprocessing_helpers()
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

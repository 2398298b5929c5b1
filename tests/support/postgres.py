"""A throwaway PostgreSQL cluster for tests: initdb in a temp folder, a free loopback port.

Debian's server binaries (`/usr/lib/postgresql/<version>/bin`, `.ci/run` installs them) run as
the `postgres` user when we are root (initdb refuses root). The postmaster runs in the
foreground as our child with a parent-death signal, so it cannot outlive the test process even
when that is SIGKILLed; `stop()` shuts it down fast (`pg_ctl stop -m fast`) and removes the folder.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PREFERRED_VERSION = "15"
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: preexec_fn only calls it


def find_bindir() -> Path | None:
    """`KINDFUL_ETL_PG_BINDIR`, else Debian's PostgreSQL 15, else its newest installed version."""
    wanted = os.environ.get("KINDFUL_ETL_PG_BINDIR")
    candidates = [Path(wanted)] if wanted else []
    root = Path("/usr/lib/postgresql")
    candidates.append(root / PREFERRED_VERSION / "bin")
    if root.is_dir():
        versions = sorted(
            (p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True
        )
        candidates += [p / "bin" for p in versions]
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child, after it became `postgres`: SIGQUIT (immediate shutdown) when we die."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


class PostgresCluster:
    """One postmaster on 127.0.0.1:<port>, trust auth for user `postgres`, data in a temp folder."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="kindful-etl-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self._as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / tool), *args],
            check=True,
            capture_output=True,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C"},
            **self._as_user,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, tries: int = 3) -> None:
        """initdb, then the postmaster on a free port (another port if one was taken meanwhile)."""
        began = time.monotonic()
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            "-U",
            "postgres",
            "--no-sync",
            "--locale=C",
            "--encoding=UTF8",
        )
        for attempt in range(tries):
            self.port = _free_port()
            if self._start_postmaster():
                self.startup_seconds = time.monotonic() - began
                atexit.register(self.stop)
                return
            if attempt == tries - 1:
                log = (self.root / "postgres.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"PostgreSQL did not start:\n{log}")

    def _start_postmaster(self) -> bool:
        with (self.root / "postgres.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    # A throwaway cluster: durability only costs time here.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                start_new_session=True,
                # Only a prctl call into libc loaded beforehand: safe in a threaded parent.
                preexec_fn=_die_with_parent,  # noqa: PLW1509
                env={**os.environ, "LC_ALL": "C"},
                **self._as_user,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # e.g. the port was taken between probe and bind
            if self._accepts_queries():
                return True
            time.sleep(0.05)
        self.process.kill()
        self.process.wait()
        return False

    def _accepts_queries(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url().replace("+psycopg", ""), connect_timeout=2):
                return True
        except psycopg.OperationalError:  # refused, or "the database system is starting up"
            return False

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown, then the folder goes. Safe to call twice."""
        atexit.unregister(self.stop)
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast"],
                    capture_output=True,
                    timeout=30,
                    check=False,
                    **self._as_user,
                )
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_postgres(bindir: Path) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()

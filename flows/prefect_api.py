"""A Prefect API for one command: the configured server, else a temporary one of our own.

Without PREFECT_API_URL, Prefect starts a temporary server in a child process that it stops only
from `atexit`: a SIGTERM (a container stop, a Prefect cancellation) or a SIGKILL left it running,
~225 MB each. This module starts that server itself, with the kernel told to end it when its
parent dies (PR_SET_PDEATHSIG), and stops it in a `finally` (see flows.cli.stopping for signals).
"""

from __future__ import annotations

import ctypes
import inspect
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import httpx

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: the kernel sends SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def prefect_api() -> Iterator[None]:
    """The configured Prefect API, else a private temporary server that dies with this process."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_HOME,
        get_current_settings,
        temporary_settings,
    )

    if PREFECT_API_URL.value():
        yield
        return
    PREFECT_HOME.value().mkdir(parents=True, exist_ok=True)  # where the server's database goes
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        **get_current_settings().to_environment_variables(exclude_unset=True),
        # As Prefect's own temporary server: no UI, the ephemeral server's settings.
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    parent = os.getpid()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "error"),
            *("--lifespan", "on"),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: _die_with_parent(parent),  # noqa: PLW1509 - only prctl, no locks
    )
    try:
        _wait_healthy(server, url)
        with temporary_settings({PREFECT_API_URL: url}):
            try:
                yield
            finally:
                _drain()
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _drain() -> None:
    """Send the logs and events still queued before the server goes (as Prefect's harness)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        with suppress(RuntimeError):  # a worker that never started
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        drained = EventsWorker.drain_all()
        if inspect.isawaitable(drained):
            await drained

    with suppress(Exception):
        run_coro_as_sync(drain())


def _wait_healthy(server: subprocess.Popen[bytes], url: str) -> None:
    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 120)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the temporary Prefect server exited ({server.returncode})")
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"the temporary Prefect server did not start in {timeout:.0f}s")

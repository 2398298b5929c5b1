"""Which Prefect API an ad-hoc command records its runs in, and `kindful-etl server`.

An analyst's `kindful-etl import` runs many times a day; starting a temporary Prefect server
for each cost ~20 s of a ~25 s run and recorded nothing anyone could look at afterwards. So a
command uses Prefect only where it gives something: the server PREFECT_API_URL names, else the
local one `kindful-etl server` runs on the state folder (its UI shows every later run there).
With neither, the import runs its steps as plain Python (pipelines.load.importing) and records
the run in the ledger and its run folder only.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

SERVER_FILE = "server.json"  # in <state folder>/prefect/: the local server's URL and pid


def local_server_file(home: Path) -> Path:
    return home / "prefect" / SERVER_FILE


def _healthy(url: str, timeout: float = 0.5) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _profile_api_url() -> str | None:
    """PREFECT_API_URL of the active Prefect profile (`prefect config set`), read without
    importing Prefect (~0.7 s): PREFECT_PROFILES_PATH, else <PREFECT_HOME>/profiles.toml."""
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or document.get("active")
    profile = document.get("profiles", {}).get(active) if isinstance(active, str) else None
    url = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return url if isinstance(url, str) and url else None


def configured_api(home: Path) -> str | None:
    """PREFECT_API_URL (environment, else the active Prefect profile), else the URL of a live
    `kindful-etl server` on this state folder."""
    if url := os.environ.get("PREFECT_API_URL") or _profile_api_url():
        return url
    try:
        recorded = json.loads(local_server_file(home).read_text())
        url = str(recorded["url"])
        os.kill(int(recorded["pid"]), 0)  # gone: the file is stale
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if _healthy(url) else None


@contextmanager
def prefect_api(url: str) -> Iterator[None]:
    """Runs in this block record in the Prefect API at `url`; queued logs are sent at the end."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: url}):
        try:
            yield
        finally:
            _drain()


def _drain() -> None:
    """Send the logs and events still queued before the command exits."""
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


@contextmanager
def serve(home: Path, port: int, started: float = 120) -> Iterator[str]:
    """Run `prefect server start` (with its UI) on 127.0.0.1:`port`, state in <home>/prefect/.

    Gives the UI's URL once the API answers, records the server for later commands, and
    stops it (and forgets it) when the block ends, however it ends.
    """
    prefect_home = home / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_API_URL": api,
    }
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "prefect", "server", "start"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    record = local_server_file(home)
    try:
        deadline = time.monotonic() + started
        while not _healthy(api, timeout=2):
            if server.poll() is not None:
                raise RuntimeError(f"prefect server start exited ({server.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start in {started:.0f}s")
            time.sleep(0.2)
        record.write_text(json.dumps({"url": api, "pid": server.pid}))
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(FileNotFoundError):
            record.unlink()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

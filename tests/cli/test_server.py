"""An ad-hoc import needs no Prefect server; `kindful-etl server` gives one, with its UI, that
the later imports of the same state folder record their runs in, and that Ctrl-C stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.prefect_stack import clean_env, free_port, wait_until

from flows.prefect_api import configured_api

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "kindful-etl")
CLASSY = ROOT / "data_samples" / "classy_transactions.csv"
MAPPING = ROOT / "data_samples" / "classy_transactions.mapping.yaml"


def run_import(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "import", str(CLASSY), "--mapping", str(MAPPING)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def flow_runs(api: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = httpx.post(f"{api}/flow_runs/filter", json={}).json()
    return found


def test_an_ad_hoc_import_starts_no_prefect_server_and_records_the_run_in_the_ledger(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    env = clean_env(
        drop=("PREFECT_", "AWS_", "KINDFUL_"),
        KINDFUL_ETL_HOME=str(home),
        PREFECT_HOME=str(tmp_path / "prefect-home"),  # no profile of the machine's
    )
    done = run_import(env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "status                                 complete" in done.stdout
    assert not (home / "prefect").exists()  # no Prefect server, no Prefect database
    runs = subprocess.run(
        [CLI, "runs"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "complete" in runs.stdout and "created     23" in runs.stdout
    (report,) = (home / "runs").glob("*/report.html")
    assert f"report: {report}" in done.stdout


def test_imports_record_their_runs_in_the_local_server_until_it_stops(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = clean_env(
        drop=("PREFECT_", "AWS_", "KINDFUL_"),
        KINDFUL_ETL_HOME=str(home),
        PREFECT_HOME=str(tmp_path / "prefect-home"),  # no profile of the machine's
    )
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server = subprocess.Popen(
        [CLI, "server", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    record = home / "prefect" / "server.json"
    try:
        wait_until(record.exists, 120, "the local server's record", server)  # type: ignore[arg-type]
        assert json.loads(record.read_text())["url"] == api
        done = run_import(env, tmp_path)
        assert done.returncode == 0, done.stderr
        (run,) = flow_runs(api)
        assert run["name"] == "import classy_transactions.csv"
        assert run["state_type"] == "COMPLETED"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 130, err
    assert "Prefect UI: http://127.0.0.1:" in out
    assert not record.exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{api}/health", timeout=2)
    # With the server gone, the next import runs without Prefect again.
    assert run_import(env, tmp_path).returncode == 0


def test_the_active_prefect_profiles_api_counts_as_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PREFECT_API_URL", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    assert configured_api(tmp_path / "state") is None  # no profiles file: none
    (tmp_path / "profiles.toml").write_text(
        'active = "team"\n'
        '[profiles.team]\nPREFECT_API_URL = "http://prefect.team:4200/api"\n'
        "[profiles.local]\n"
    )
    assert configured_api(tmp_path / "state") == "http://prefect.team:4200/api"
    monkeypatch.setenv("PREFECT_PROFILE", "local")
    assert configured_api(tmp_path / "state") is None
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert configured_api(tmp_path / "state") == "http://127.0.0.1:9/api"

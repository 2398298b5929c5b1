"""The end-of-run check (tests/conftest.py) fails a test run that leaves a process running."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

RUN_MARK = "KINDFUL_ETL_TEST_RUN"  # tests/conftest.py's (two conftest modules: not importable)

LEAKY = """
import subprocess, sys


def test_starts_a_server_and_forgets_it():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
"""


def test_a_test_run_that_leaves_a_process_running_fails(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).resolve().parents[1] / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    env = {k: v for k, v in os.environ.items() if k != RUN_MARK}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = f"{root}{os.pathsep}{root / 'tests'}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env | {"KINDFUL_ETL_LEFTOVER_GRACE": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    try:
        assert result.returncode == 1, result.stdout
        assert "1 passed" in result.stdout
        assert "still running" in result.stdout and "time.sleep(60)" in result.stdout
    finally:
        subprocess.run(["pkill", "-f", "time.sleep\\(60\\)"], check=False)

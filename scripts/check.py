"""The test command: set up `.venv/`, then ruff, mypy and the whole pytest suite.

Usage: python3 scripts/check.py [pytest args...]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, ensure_venv


def main() -> int:
    python = str(ensure_venv())
    steps = [
        [python, "-m", "ruff", "check", "."],
        [python, "-m", "ruff", "format", "--check", "."],
        [python, "-m", "mypy"],
        # Two workers: most of the suite waits on servers (Prefect, sandbox, moto), not the CPU.
        [python, "-m", "pytest", "-n", "2", "--dist", "loadfile", *sys.argv[1:]],
    ]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for step in steps:
        print(
            "$",
            " ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)),
            flush=True,
        )
        if subprocess.run(step, cwd=ROOT, env=env, check=False).returncode != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

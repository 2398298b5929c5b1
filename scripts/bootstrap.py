"""Create `.venv/` from the lock file, once; later calls return at once.

Needs only python3: everything else comes from the package registry.
The venv is rebuilt when `requirements.lock` or `pyproject.toml` change.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".kindful-etl-lock.sha256"


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> Path:
    """Return the venv's python, installing the locked dependencies if needed."""
    python = VENV / "bin" / "python"
    wanted = _lock_digest()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    if not python.exists():
        print("bootstrap: creating .venv/", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    print(
        "bootstrap: installing locked dependencies (first run takes a few minutes)", file=sys.stderr
    )
    subprocess.run([*pip, "--require-hashes", "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted + "\n")
    return python


if __name__ == "__main__":
    ensure_venv()

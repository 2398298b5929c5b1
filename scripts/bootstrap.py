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
# The venv's own pip first: pip before 23.3 ignores the lock's pin for a package that another
# package asks for with an extra (prefect's `sqlalchemy[asyncio]`) and refuses the lock.
PIP = "pip==25.3 --hash=sha256:9655943313a94722b7774661c21049070f6bbb0a1516bf02f7c8d5d9201514cd"


def _lock_digest() -> str:
    digest = hashlib.sha256(PIP.encode())
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
    pin = VENV / ".pip.lock"
    pin.write_text(PIP + "\n")
    subprocess.run([*pip, "--require-hashes", "-r", str(pin)], check=True)
    subprocess.run([*pip, "--require-hashes", "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted + "\n")
    return python


if __name__ == "__main__":
    ensure_venv()

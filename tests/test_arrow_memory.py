"""Arrow's pool during a run: jemalloc unless the operator picked one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_PROBE = (
    "import sys; from pipelines.arrow_memory import use_lean_pool; "
    "import pyarrow as pa; print(use_lean_pool(), pa.default_memory_pool().backend_name)"
)


@pytest.mark.parametrize(("chosen", "expected"), [(None, "jemalloc"), ("system", "system")])
def test_the_run_uses_jemalloc_unless_the_environment_chose(
    chosen: str | None, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == [expected, expected]

"""README's "In a notebook" example runs as written and prints what the README says it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> tuple[str, str]:
    """The section's python block and the text block that says what it prints."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## In a notebook\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    printed = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert code is not None and printed is not None, "README: In a notebook lost its blocks"
    return code.group(1), printed.group(1)


def test_the_readme_notebook_example_runs_and_prints_what_it_says(tmp_path: Path) -> None:
    code, printed = readme_example()
    assert "from pipelines.api import" in code
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KINDFUL_TOKEN", "KINDFUL_BASE_URL", "KINDFUL_ETL_LEDGER_URL")
    }
    env["KINDFUL_ETL_HOME"] = str(tmp_path / "home")  # the embedded default, fresh state

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == printed
    assert "embedded sandbox" in result.stderr  # it says where it imported to
    assert (tmp_path / "home" / "ledger.db").exists()

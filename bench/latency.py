"""The analyst's latency: `--help`, `validate` and `import` of the 25-row Classy sample.

Each command runs as its own process, `--runs` times after one warm-up, each import in a fresh
state folder on the embedded default (no Kindful account, no AWS); prints the median, minimum
and maximum wall seconds per command as a Markdown table. `--code DIR` runs the commands of
another checkout (e.g. a `git worktree` of an older commit) with this venv, for before/after.

    .venv/bin/python bench/latency.py --runs 7
    git worktree add /tmp/before <rev> && .venv/bin/python bench/latency.py --code /tmp/before
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data_samples" / "classy_transactions.csv"
MAPPING = REPO / "data_samples" / "classy_transactions.mapping.yaml"


def commands() -> dict[str, list[str]]:
    sample = ["--mapping", str(MAPPING)]
    return {
        "--help": ["--help"],
        "validate 25 rows": ["validate", str(SAMPLE), *sample, "--out", "{tmp}/out"],
        "import 25 rows": ["import", str(SAMPLE), *sample],
    }


def run_once(args: list[str], code: Path | None) -> float:
    with tempfile.TemporaryDirectory(prefix="kindful-latency-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KINDFUL_", "PREFECT_"))}
        env |= {"KINDFUL_ETL_HOME": f"{tmp}/home", "PREFECT_HOME": f"{tmp}/prefect"}
        env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        if code is None:
            argv = [str(Path(sys.executable).parent / "kindful-etl")]
        else:  # the other checkout's modules first on the path, its CLI's entry point
            env["PYTHONPATH"] = str(code)
            argv = [
                sys.executable,
                "-c",
                "import sys; from flows.cli import main; sys.exit(main())",
            ]
        argv += [a.replace("{tmp}", tmp) for a in args]
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=tmp, capture_output=True, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{args[0]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
        return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--code", type=Path, help="another checkout's root to time instead")
    ns = parser.parse_args()
    print("| command | median s | min s | max s |")
    print("| --- | ---: | ---: | ---: |")
    for name, args in commands().items():
        run_once(args, ns.code)  # warm-up: file caches, .pyc
        walls = [run_once(args, ns.code) for _ in range(ns.runs)]
        print(
            f"| `{name}` | {statistics.median(walls):.2f} | {min(walls):.2f} | {max(walls):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

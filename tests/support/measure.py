"""Run the CLI in its own process and measure what it cost: wall, CPU seconds and peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "kindful-etl")
CPU_SECONDS = 5.0
PEAK_MB = 300.0
WALL_CEILING = 60.0  # only a hang guard: the machine is shared, so the bound is on CPU time


@dataclass
class Cost:
    returncode: int
    wall: float
    cpu: float
    peak_mb: float
    stdout: str
    stderr: str


# Runs the CLI and reports its own cost. A separate small process: Linux carries the high-water
# RSS of the process that forks across exec, so a child forked from pytest would report pytest's
# size as its own peak.
_MEASURE = """
import json, os, signal, sys, time
argv, out, err, env, ceiling = json.loads(sys.argv[1])
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, env, file_actions=[
    (os.POSIX_SPAWN_OPEN, 1, out, flags, 0o600), (os.POSIX_SPAWN_OPEN, 2, err, flags, 0o600)])
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    if time.perf_counter() - started > ceiling:
        os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
        break
    time.sleep(0.01)
print(json.dumps([os.waitstatus_to_exitcode(status), time.perf_counter() - started,
                  usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024]))
"""


def run_measured(args: list[str], out: Path, env: dict[str, str] | None = None) -> Cost:
    """Run the CLI as a child of a small measuring process; its cost is its own (wait4)."""
    out.mkdir(parents=True, exist_ok=True)
    stdout, stderr = out / "stdout", out / "stderr"
    request = [[CLI, *args], str(stdout), str(stderr), {**os.environ, **(env or {})}, WALL_CEILING]
    report = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(request)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=WALL_CEILING + 30,
    )
    returncode, wall, cpu, peak_mb = json.loads(report.stdout)
    cost = Cost(
        returncode=returncode,
        wall=wall,
        cpu=cpu,
        peak_mb=peak_mb,  # ru_maxrss is in KiB on Linux
        stdout=stdout.read_text(errors="replace"),
        stderr=stderr.read_text(errors="replace"),
    )
    print(f"{args[1] if len(args) > 1 else args}: {cost}", file=sys.stderr)
    return cost

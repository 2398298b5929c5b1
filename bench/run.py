"""The kindful-etl benchmark: our validate and batch writing against pandas and polars floors.

    .venv/bin/python bench/run.py --rows 100000 1000000 10000000

For each size it generates a synthetic export (bench/generate.py) under --workdir and runs each
command in a session of its own, alternating, --repeat times (see `measure`: wall, CPU of every
process of the session, peak resident memory of the process tree and of the main process):

- ours: `kindful-etl validate` (normalized/rejects/warnings/summary), and the import flow's
  transform (bench/batches.py: the same files plus gzipped batches);
- pandas: `read_csv` + `to_csv` of the same file to plain CSV / gzipped CSV (pandas defaults);
- polars: `read_csv` + `write_csv` likewise (needs polars: in this venv, or --polars-python).

Sizes above --timed-max rows (default 1M) are run once, ours only, for peak memory. It also times
writing the batches alone against pandas' gzip writer on the same rows (in one process),
`kindful-etl validate` of a 6-column XLSX workbook (bench/xlsx.py: --xlsx-rows --repeat times,
--xlsx-memory-rows once), and the end-to-end load into the embedded sandbox (bench/e2e.py) at
--e2e-rows. Writes --out (bench/results.md), ending with issue 17's targets. Generated CSV exports
are deleted at the end unless --keep; workbooks are kept in --workdir and reused.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

MAPPING = BENCH / "export.mapping.yaml"
XLSX_MAPPING = BENCH / "xlsx.mapping.yaml"


def generate(rows: int, out: Path) -> None:
    """In a child process: this one must stay small, since a child's peak RSS as the OS reports
    it starts at its parent's size when it was forked."""
    subprocess.run(
        [sys.executable, str(BENCH / "generate.py"), "--rows", str(rows), "--out", str(out)],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip


def workbook(rows: int, workdir: Path) -> Path:
    """The bench/xlsx.py workbook of `rows` rows, generated once and kept in `workdir`."""
    path = workdir / f"workbook-{rows}.xlsx"
    if not path.exists():
        print(f"generating a {rows:,}-row workbook", flush=True)
        subprocess.run(
            [sys.executable, str(BENCH / "xlsx.py"), "--rows", str(rows), "--out", str(path)],
            cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
    return path


MB = 1e6  # memory is reported in MB (10^6 bytes), the unit of the targets
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_INTERVAL = 0.02  # seconds between two looks at the command's processes
_GRACE = 10.0  # seconds the command's other processes get to end after its main process


@dataclass(frozen=True)
class Run:
    """One finished command: wall seconds; CPU seconds (user + system) of all its processes and
    of the main one (with the children it waited for); peak resident memory in MB of the whole
    process tree (the largest sum over one look) and of the main process alone (its wait4
    ru_maxrss, which counts the children it waited for too); how many processes it had; the
    exit code."""

    wall: float
    cpu: float
    main_cpu: float
    tree_rss_mb: float
    main_rss_mb: float
    processes: int
    code: int

    @property
    def cores(self) -> float:
        """CPU / wall: how many cores the command kept busy on average."""
        return self.cpu / self.wall if self.wall > 0 else 0.0


@functools.cache
def _subreaper() -> bool:
    """Become the child subreaper of our descendants (Linux prctl PR_SET_CHILD_SUBREAPER): a
    process of the command whose parent ends before it (the transform's forkserver, whose
    parent never waits for it) is then reparented to us rather than to init, so we wait for it
    and get its exact CPU, with that of the processes it waited for (its workers)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(36, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


class _Session:
    """The processes of one session, from /proc: per process the last-seen CPU and parent, and
    the peak of the sum of their resident sets over one look."""

    def __init__(self, sid: int) -> None:
        self.sid = sid
        self.cpu: dict[int, float] = {}  # seconds, as last seen
        self.parent: dict[int, int] = {}
        self.peak = 0  # bytes
        self._outside: set[int] = set()  # pids seen in another session (they cannot join)

    def look(self) -> tuple[list[int], list[int]]:
        """One look at /proc: the session's (running, zombie) pids."""
        listed = {int(name) for name in os.listdir("/proc") if name.isdigit()}
        self._outside &= listed  # a pid that went away may come back as one of ours
        running: list[int] = []
        zombies: list[int] = []
        resident = 0
        for pid in listed - self._outside:
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    text = stat.read()
            except OSError:  # ended since the listing
                continue
            # after "pid (comm) ": state ppid pgrp session ... utime(14) stime(15) ... rss(24)
            fields = text[text.rindex(b")") + 2 :].split()
            if int(fields[3]) != self.sid:
                self._outside.add(pid)
                continue
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK
            self.parent[pid] = int(fields[1])
            if fields[0] == b"Z":
                zombies.append(pid)
            else:
                running.append(pid)
                resident += int(fields[21]) * _PAGE  # statm's resident, in pages
        self.peak = max(self.peak, resident)
        return running, zombies


def _reap_strays() -> None:
    """Wait for any ended child left over (an orphan of an earlier command reparented to us),
    so its CPU is not taken for the next command's."""
    while True:
        try:
            pid, _, _ = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def measure(command: list[str], log: Path) -> Run:
    """Run `command` to the end in a session of its own, looking at every process of that
    session every 20 ms (the transform's workers are children of a forkserver the command does
    not wait for, so the OS's accounting of the command's own process misses them).

    Wall: start to the main process's end. CPU: the exact wait4 figures of every process we
    waited for, the main one and those reparented to us as subreaper (each includes what it
    waited for); without a subreaper, the main process's wait4 figure plus the last-seen CPU of
    every other process of the session. Peak tree RSS: the largest sum of the session's
    resident sets at one look (pages shared between processes count once per process)."""
    exact = _subreaper()
    _reap_strays()
    me = os.getpid()
    with log.open("ab") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO, stdout=sink, stderr=sink, start_new_session=True
        )
    session = _Session(process.pid)
    usage: dict[int, Any] = {}
    status = 0
    wall = 0.0
    try:
        ended = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        ended = None
    try:
        while True:
            session.look()
            if ended is not None:
                if select.select([ended], [], [], _INTERVAL)[0]:
                    wall = time.perf_counter() - start
                    _, status, usage[process.pid] = os.wait4(process.pid, 0)
                    break
            else:
                pid, status, main_usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    wall = time.perf_counter() - start
                    usage[pid] = main_usage
                    break
                time.sleep(_INTERVAL)
        deadline = time.monotonic() + _GRACE
        while True:  # the rest of the session: wait for what comes to us, until none runs
            running, zombies = session.look()
            waiting = [pid for pid in zombies if session.parent.get(pid) == me]
            for pid in waiting:
                with contextlib.suppress(ChildProcessError):
                    found, _, used = os.wait4(pid, os.WNOHANG)
                    if found:
                        usage[pid] = used
            if not running and not waiting:
                break
            if time.monotonic() > deadline:
                if not running:  # zombies we cannot wait for: nothing more to count
                    break
                _kill(running)  # a process that outlives its command by far is a fault
                deadline = time.monotonic() + _GRACE
            time.sleep(_INTERVAL)
    except BaseException:
        _kill(session.look()[0])
        raise
    finally:
        if ended is not None:
            os.close(ended)
    process.returncode = os.waitstatus_to_exitcode(status)
    main = usage[process.pid]
    if exact:
        cpu = sum(u.ru_utime + u.ru_stime for u in usage.values())
    else:
        others = sum(seconds for pid, seconds in session.cpu.items() if pid != process.pid)
        cpu = main.ru_utime + main.ru_stime + others
    return Run(
        wall=wall,
        cpu=cpu,
        main_cpu=main.ru_utime + main.ru_stime,
        tree_rss_mb=session.peak / MB,
        main_rss_mb=main.ru_maxrss * 1024 / MB,
        processes=len(session.cpu),
        code=process.returncode,
    )


def polars_python(requested: str | None) -> str | None:
    """A Python with polars: --polars-python, else this one if it has polars, else none."""
    candidates = [requested] if requested else [sys.executable]
    for python in candidates:
        probe = subprocess.run([python, "-c", "import polars"], capture_output=True, check=False)
        if probe.returncode == 0:
            return python
    return None


def commands(source: Path, work: Path, polars: str | None) -> dict[str, tuple[list[str], ...]]:
    """The commands compared at one size, by name."""
    python = sys.executable
    table: dict[str, tuple[list[str], ...]] = {
        "ours validate": (
            [python, "-m", "flows.cli.main", "validate", str(source), "--mapping", str(MAPPING),
             "--out", str(work / "validate")],
        ),
        "pandas csv": ([python, str(BENCH / "baselines.py"), "pandas", "csv", str(source),
                        str(work / "pandas.csv")],),
        "ours batches": ([python, str(BENCH / "batches.py"), str(source), str(work / "batches")],),
        "pandas gzip": ([python, str(BENCH / "baselines.py"), "pandas", "gzip", str(source),
                         str(work / "pandas.csv.gz")],),
    }  # fmt: skip
    if polars:
        table["polars csv"] = (
            [polars, str(BENCH / "baselines.py"), "polars", "csv", str(source),
             str(work / "polars.csv")],
        )  # fmt: skip
        table["polars gzip"] = (
            [polars, str(BENCH / "baselines.py"), "polars", "gzip", str(source),
             str(work / "polars.csv.gz")],
        )  # fmt: skip
    return table


def median_run(runs: list[Run]) -> dict[str, float]:
    """A command's runs at one size: medians of time and cores, the largest memory."""
    return {
        "wall": statistics.median(r.wall for r in runs),
        "wall_min": min(r.wall for r in runs),
        "wall_max": max(r.wall for r in runs),
        "cpu": statistics.median(r.cpu for r in runs),
        "cores": statistics.median(r.cores for r in runs),
        "main_cores": statistics.median(r.main_cpu / r.wall for r in runs),
        "tree_rss_mb": max(r.tree_rss_mb for r in runs),
        "main_rss_mb": max(r.main_rss_mb for r in runs),
        "processes": max(r.processes for r in runs),
        "runs": len(runs),
        "failed": sum(r.code != 0 for r in runs),
    }


def ratio(runs: dict[str, list[Run]], a: str, b: str, field: str) -> float | None:
    """Median of the pairwise ratios a/b (pairs run back to back, so drift cancels)."""
    if a not in runs or b not in runs:
        return None
    pairs = zip(runs[a], runs[b], strict=False)
    return float(statistics.median(getattr(x, field) / getattr(y, field) for x, y in pairs))


def _show(rows: int, name: str, turn: int, run: Run) -> None:
    failed = f" EXIT {run.code}" if run.code else ""
    print(f"{rows:>10,} {name:<14} #{turn + 1}: {run.wall:7.2f} s wall {run.cpu:7.2f} s cpu "
          f"{run.cores:4.2f} cores {run.tree_rss_mb:6.0f} MB tree {run.main_rss_mb:6.0f} MB main "
          f"{run.processes} processes{failed}", flush=True)  # fmt: skip


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        total_kb = int(info.readline().split()[1])
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{total_kb / 1024**2:.1f} GiB",
        "python": platform.python_version(),
        "pandas": version("pandas"),
        "numpy": version("numpy"),
        "os": platform.platform(),
        "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--timed-max",
        type=int,
        default=1_000_000,
        help="larger sizes run once, ours only, for memory",
    )
    parser.add_argument(
        "--xlsx-rows", type=int, default=100_000, help="rows of the timed XLSX workbook (0: none)"
    )
    parser.add_argument(
        "--xlsx-memory-rows",
        type=int,
        default=1_000_000,
        help="rows of the XLSX workbook validated once for memory (0: none)",
    )
    parser.add_argument("--e2e-rows", type=int, default=100_000)
    parser.add_argument("--e2e-result", type=Path, help="reuse a bench/e2e.py JSON output")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--polars-python", help="a Python with polars, if this one has none")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kindful-bench"))
    parser.add_argument("--out", type=Path, default=BENCH / "results.md")
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV exports")
    parser.add_argument("--render", type=Path, help="only write --out from a results.json")
    args = parser.parse_args()  # fmt: skip
    if args.render:
        args.out.write_text(render(json.loads(args.render.read_text())))
        print(f"wrote {args.out}")
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    log = args.workdir / "bench.log"
    polars = polars_python(args.polars_python)
    report: dict[str, Any] = {
        "machine": machine(),
        "sizes": {},
        "polars": polars is not None,
        "timed_max": args.timed_max,
        "exact_cpu": _subreaper(),
        "xlsx": [],
    }
    results = args.workdir / "results.json"
    try:
        for rows in args.rows:
            report["sizes"][rows] = size_runs(rows, args, polars, log)
            results.write_text(json.dumps(report, indent=1, default=str))
        for rows, purpose in ((args.xlsx_rows, "timed"), (args.xlsx_memory_rows, "memory")):
            if rows > 0:
                repeat = args.repeat if purpose == "timed" else 1
                run = xlsx_runs(rows, repeat, args.workdir, log)
                report["xlsx"].append({"rows": rows, "purpose": purpose, **run})
                results.write_text(json.dumps(report, indent=1, default=str))
        if not args.skip_e2e:
            report["e2e"] = end_to_end(args)
            report["e2e_rows"] = args.e2e_rows
    finally:
        if not args.keep:
            for export in args.workdir.glob("export-*.csv"):
                export.unlink()
    report["machine"]["load after"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    results.write_text(json.dumps(report, indent=1, default=str))
    args.out.write_text(render(report))
    print(f"wrote {args.out}")


def size_runs(rows: int, args: argparse.Namespace, polars: str | None, log: Path) -> dict[str, Any]:
    """Ours and the floors on an export of `rows` rows, alternating, --repeat times (sizes above
    --timed-max: ours once); medians, pairwise ratios and at --timed-max the write-only figures."""
    source = args.workdir / f"export-{rows}.csv"
    if not source.exists():
        print(f"generating {rows:,} rows", flush=True)
        generate(rows, source)
    work = args.workdir / f"out-{rows}"
    table = commands(source, work, polars)
    timed = rows <= args.timed_max
    names = list(table) if timed else ["ours validate", "ours batches"]
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for turn in range(args.repeat if timed else 1):
        for name in names:
            run = measure(table[name][0], log)
            runs[name].append(run)
            _show(rows, name, turn, run)
    size: dict[str, Any] = {name: median_run(r) for name, r in runs.items()}
    pairs = (
        ("ours validate", "pandas csv"),
        ("ours validate", "polars csv"),
        ("ours batches", "pandas gzip"),
        ("ours batches", "polars gzip"),
    )
    for ours, theirs in pairs:
        for field in ("wall", "cpu"):
            value = ratio(runs, ours, theirs, field)
            if value is not None:
                size[f"{ours} / {theirs} {field}"] = value
    if timed and rows == args.timed_max:
        out = subprocess.run(
            [sys.executable, str(BENCH / "batches.py"), str(source), str(work / "write-only"),
             "--write-only", "--repeat", str(args.repeat)],
            cwd=REPO, capture_output=True, text=True, check=True,
        )  # fmt: skip
        size["write only"] = json.loads(out.stdout.strip().splitlines()[-1])
    shutil.rmtree(work, ignore_errors=True)
    return size


def xlsx_runs(rows: int, repeat: int, workdir: Path, log: Path) -> dict[str, Any]:
    """`kindful-etl validate` of the bench/xlsx.py workbook of `rows` rows, `repeat` times."""
    book = workbook(rows, workdir)
    out = workdir / f"out-xlsx-{rows}"
    command = [sys.executable, "-m", "flows.cli.main", "validate", str(book),
               "--mapping", str(XLSX_MAPPING), "--out", str(out)]  # fmt: skip
    runs = []
    for turn in range(repeat):
        runs.append(measure(command, log))
        _show(rows, "ours xlsx", turn, runs[-1])
    shutil.rmtree(out, ignore_errors=True)
    return median_run(runs)


def end_to_end(args: argparse.Namespace) -> Any:
    """bench/e2e.py at --e2e-rows, or its output in --e2e-result (waited for while empty)."""
    if args.e2e_result:
        deadline = time.monotonic() + 3600  # a run started beside this one may be busy
        while not args.e2e_result.read_text().strip() and time.monotonic() < deadline:
            time.sleep(10)
        return json.loads(args.e2e_result.read_text())
    source = args.workdir / f"export-{args.e2e_rows}.csv"
    if not source.exists():
        generate(args.e2e_rows, source)
    out = subprocess.run(
        [sys.executable, str(BENCH / "e2e.py"), str(source), str(args.workdir / "e2e")],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def _at(size: dict[str, Any], name: str, field: str) -> float | None:
    value = size.get(name, {}).get(field)
    return None if value is None else float(value)


def render(report: dict[str, Any]) -> str:
    """results.md: the machine, then one table per measure, then the targets."""
    m = report["machine"]
    cpu_note = (
        "CPU is exact: wait4 of every process, the benchmark being their subreaper"
        if report.get("exact_cpu", True)
        else "CPU: the main process's wait4 figure plus the last-seen CPU of the others"
    )
    lines = [
        "# kindful-etl benchmark results",
        "",
        "Produced by `bench/run.py` (see bench/README.md). Each command runs in a session of its",
        "own and counts with every process of it (the transform's workers, its forkserver):",
        "wall and CPU (user + system) seconds are medians over the runs; cores = CPU / wall;",
        "memory in MB (10^6 bytes), the largest run's: tree = peak of the summed resident sets",
        "of the command's processes (looked at every 20 ms; pages shared between processes count",
        "in each), main = the main process's own peak (wait4). Ratios are medians of",
        f"back-to-back pairs. {cpu_note}.",
        "",
        f"- machine: {m['cpu']}, {m['memory']} RAM, {m['os']}",
        f"- software: Python {m['python']}, pandas {m['pandas']}, numpy {m['numpy']}",
        f"- load average (1/5/15 min) before: {m['load']}; after: {m.get('load after', '-')}",
        "",
        "## validate vs read_csv + to_csv",
        "",
        "| rows | runs | ours wall s | ours cpu s | ours cores | ours tree MB | ours main MB "
        "| pandas wall s | pandas cores | polars wall s | polars cores | ours/pandas wall "
        "| ours/pandas cpu | ours/polars wall | ours/polars cpu |",
        "|" + " ---: |" * 15,
    ]
    sizes: dict[Any, dict[str, Any]] = report["sizes"]
    for rows, size in sizes.items():
        lines.append(
            f"| {int(rows):,} | {size.get('ours validate', {}).get('runs', 0)} "
            f"| {_fmt(_at(size, 'ours validate', 'wall'), digits=2)} "
            f"| {_fmt(_at(size, 'ours validate', 'cpu'), digits=2)} "
            f"| {_fmt(_at(size, 'ours validate', 'cores'), digits=2)} "
            f"| {_fmt(_at(size, 'ours validate', 'tree_rss_mb'), digits=0)} "
            f"| {_fmt(_at(size, 'ours validate', 'main_rss_mb'), digits=0)} "
            f"| {_fmt(_at(size, 'pandas csv', 'wall'), digits=2)} "
            f"| {_fmt(_at(size, 'pandas csv', 'cores'), digits=2)} "
            f"| {_fmt(_at(size, 'polars csv', 'wall'), digits=2)} "
            f"| {_fmt(_at(size, 'polars csv', 'cores'), digits=2)} "
            f"| {_fmt(size.get('ours validate / pandas csv wall'), 'x', 2)} "
            f"| {_fmt(size.get('ours validate / pandas csv cpu'), 'x', 2)} "
            f"| {_fmt(size.get('ours validate / polars csv wall'), 'x', 2)} "
            f"| {_fmt(size.get('ours validate / polars csv cpu'), 'x', 2)} |"
        )
    lines += [
        "",
        "## validation files + gzipped batches vs read_csv + to_csv(gzip)",
        "",
        "| rows | ours wall s | ours cpu s | ours cores | ours tree MB | ours main MB "
        "| pandas gzip wall s | pandas cores | polars gzip wall s | polars cores "
        "| ours/pandas wall | ours/pandas cpu | ours/polars wall |",
        "|" + " ---: |" * 13,
    ]
    for rows, size in sizes.items():
        lines.append(
            f"| {int(rows):,} | {_fmt(_at(size, 'ours batches', 'wall'), digits=2)} "
            f"| {_fmt(_at(size, 'ours batches', 'cpu'), digits=2)} "
            f"| {_fmt(_at(size, 'ours batches', 'cores'), digits=2)} "
            f"| {_fmt(_at(size, 'ours batches', 'tree_rss_mb'), digits=0)} "
            f"| {_fmt(_at(size, 'ours batches', 'main_rss_mb'), digits=0)} "
            f"| {_fmt(_at(size, 'pandas gzip', 'wall'), digits=2)} "
            f"| {_fmt(_at(size, 'pandas gzip', 'cores'), digits=2)} "
            f"| {_fmt(_at(size, 'polars gzip', 'wall'), digits=2)} "
            f"| {_fmt(_at(size, 'polars gzip', 'cores'), digits=2)} "
            f"| {_fmt(size.get('ours batches / pandas gzip wall'), 'x', 2)} "
            f"| {_fmt(size.get('ours batches / pandas gzip cpu'), 'x', 2)} "
            f"| {_fmt(size.get('ours batches / polars gzip wall'), 'x', 2)} |"
        )
    for size in sizes.values():
        if "write only" in size:
            w = size["write only"]
            lines += [
                "",
                f"## writing the batches alone, {int(w['rows']):,} accepted rows (one process)",
                "",
                '| ours (BatchWriter, gzip level 3) s | pandas to_csv(compression="gzip") s '
                "| ours/pandas | ours MB | pandas MB |",
                "| ---: | ---: | ---: | ---: | ---: |",
                f"| {w['ours_s']:.2f} | {w['pandas_gzip_s']:.2f} | {w['ratio']:.2f}x "
                f"| {w['ours_bytes'] / 1e6:.0f} | {w['pandas_bytes'] / 1e6:.0f} |",
            ]
    xlsx: list[dict[str, Any]] = report.get("xlsx") or []
    if xlsx:
        lines += [
            "",
            "## validate of an XLSX workbook (6 columns, bench/xlsx.py)",
            "",
            "| rows | for | runs | wall s | cpu s | cores | tree MB | main MB | processes |",
            "| ---: | --- |" + " ---: |" * 7,
        ]
        for run in xlsx:
            lines.append(
                f"| {run['rows']:,} | {run['purpose']} | {run['runs']} | {run['wall']:.2f} "
                f"| {run['cpu']:.2f} "
                f"| {run['cores']:.2f} | {run['tree_rss_mb']:.0f} | {run['main_rss_mb']:.0f} "
                f"| {run['processes']} |"
            )
    lines += [
        "",
        "## peak RSS (MB)",
        "",
        "| rows | validate tree | validate main | validate processes | batches tree "
        "| batches main | pandas csv | polars csv |",
        "|" + " ---: |" * 8,
    ]
    for rows, size in sizes.items():
        lines.append(
            f"| {int(rows):,} | {_fmt(_at(size, 'ours validate', 'tree_rss_mb'), digits=0)} "
            f"| {_fmt(_at(size, 'ours validate', 'main_rss_mb'), digits=0)} "
            f"| {_fmt(_at(size, 'ours validate', 'processes'), digits=0)} "
            f"| {_fmt(_at(size, 'ours batches', 'tree_rss_mb'), digits=0)} "
            f"| {_fmt(_at(size, 'ours batches', 'main_rss_mb'), digits=0)} "
            f"| {_fmt(_at(size, 'pandas csv', 'tree_rss_mb'), digits=0)} "
            f"| {_fmt(_at(size, 'polars csv', 'tree_rss_mb'), digits=0)} |"
        )
    e2e = report.get("e2e")
    if e2e:
        ours, naive = e2e["ours"], e2e["naive"]
        lines += [
            "",
            f"## end to end into the embedded sandbox, {report.get('e2e_rows', 0):,} rows",
            "",
            "| | rows | wall s | API calls | jobs |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| ours: transform + data_url batches | {ours['rows']:,} | {ours['seconds']:.1f} "
            f"(transform {ours['transform_seconds']:.1f}, load {ours['load_seconds']:.1f}) "
            f"| {ours['api_calls']} | {ours['batches']} |",
            f"| naive: inline JSON, 100 rows a call | {naive['rows']:,} | {naive['seconds']:.1f} "
            f"| {naive['api_calls']} | {naive['jobs']} |",
            f"| ratio naive/ours | | {e2e['speedup']:.1f}x | {e2e['fewer_calls']:.1f}x | |",
        ]
    lines += targets(report)
    return "\n".join(lines) + "\n"


def targets(report: dict[str, Any]) -> list[str]:
    """Issue 17's targets against this run's figures. The issue's sizes are 1M rows (the
    default --timed-max), 10M and a 100k-row workbook; a run at other sizes is judged at its
    largest timed size, its largest size and its timed workbook, and says so. A target without
    its figures is "-"."""
    sizes = {int(rows): size for rows, size in report["sizes"].items()}
    timed = [rows for rows in sizes if rows <= int(report.get("timed_max", 1_000_000))]
    base = max(timed) if timed else 1_000_000
    big = max(sizes) if sizes and max(sizes) > base else 10_000_000
    one = sizes.get(base, {})

    def rss(size: dict[str, Any]) -> float | None:
        found = [_at(size, n, "tree_rss_mb") for n in ("ours validate", "ours batches")]
        return max((v for v in found if v is not None), default=None)

    rss_base, rss_big = rss(one), rss(sizes.get(big, {}))
    xlsx = {run["purpose"]: run for run in report.get("xlsx") or []}
    book, memory_book = xlsx.get("timed", {}), xlsx.get("memory", {})
    at = f"{base:,} rows"
    rows: list[tuple[str, float | None, str, str]] = [
        (f"validate at {at}: ours / pandas read_csv + to_csv, wall",
         one.get("ours validate / pandas csv wall"), "x", "<= 1.0x"),
        (f"validate at {at}: ours / polars read_csv + write_csv, wall",
         one.get("ours validate / polars csv wall"), "x", "<= 3.0x"),
        (f"validation files + gzipped batches at {at}: ours / pandas read_csv + "
         'to_csv(compression="gzip"), wall', one.get("ours batches / pandas gzip wall"), "x",
         "<= 0.8x"),
        (f"peak RSS at {at}, whole process tree (the larger of validate and batches)",
         rss_base, " MB", "<= 500 MB"),
        (f"peak RSS at {big:,} rows / at {at}, whole process tree",
         rss_big / rss_base if rss_big and rss_base else None, "x", "<= 1.1x"),
        (f"XLSX validate, {book.get('rows', 100_000):,} rows x 6 columns, wall",
         book.get("wall"), " s", "<= 4 s"),
        (f"XLSX validate, {memory_book.get('rows', 1_000_000):,} rows x 6 columns, peak RSS, "
         "whole process tree", memory_book.get("tree_rss_mb"), " MB", "bounded"),
    ]  # fmt: skip
    commands = ("ours validate", "ours batches", "pandas csv", "pandas gzip", "polars csv",
                "polars gzip")  # fmt: skip
    for name in commands:
        main = _at(one, name, "main_cores")
        alone = f" (main process alone {main:.2f})" if name.startswith("ours") and main else ""
        rows.append((f"cores used (CPU / wall): {name} at {at}{alone}", _at(one, name, "cores"),
                     "", ""))  # fmt: skip
    book_rows = book.get("rows", 100_000)
    rows.append((f"cores used (CPU / wall): ours XLSX validate at {book_rows:,} rows",
                 book.get("cores"), "", ""))  # fmt: skip
    out = ["", "## targets (issue 17)", ""]
    if base != 1_000_000 or big != 10_000_000 or book.get("rows", 100_000) != 100_000:
        out += ["The issue's targets are at 1M and 10M rows and a 100k-row workbook; this run's",
                "figures are at the sizes named.", ""]  # fmt: skip
    out += ["| target | this run | limit | |", "| --- | ---: | ---: | --- |"]
    for name, value, unit, limit in rows:
        digits = 0 if unit == " MB" else 2
        shown = "-" if value is None else f"{value:.{digits}f}{unit}"
        if value is None:
            verdict = "-"
        elif limit.startswith("<="):
            bound = float(limit.split()[1].rstrip("x"))
            verdict = "met" if value <= bound else "missed"
        else:
            verdict = "figure only"
        out.append(f"| {name} | {shown} | {limit or '-'} | {verdict} |")
    return out


if __name__ == "__main__":
    main()

"""The kindful-etl benchmark: our validate and batch writing against pandas and polars floors.

    .venv/bin/python bench/run.py --rows 100000 1000000 3000000

For each size it generates a synthetic export (bench/generate.py) under --workdir and runs, each
as its own process (time and peak RSS from the OS, via wait4), alternating, --repeat times:

- ours: `kindful-etl validate` (normalized/rejects/warnings/summary), and the import flow's
  transform (bench/batches.py: the same files plus gzipped batches);
- pandas: `read_csv` + `to_csv` of the same file to plain CSV / gzipped CSV (pandas defaults);
- polars: `read_csv` + `write_csv` likewise (needs polars: in this venv, or --polars-python).

Sizes above --timed-max rows (default 1M) are run once, ours only, for peak memory. It also times
writing the batches alone against pandas' gzip writer on the same rows (in one process), and the
end-to-end load into the embedded sandbox (bench/e2e.py) at --e2e-rows. Writes --out
(bench/results.md). Generated files are deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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


def generate(rows: int, out: Path) -> None:
    """In a child process: this one must stay small, since a child's peak RSS as the OS reports
    it starts at its parent's size when it was forked."""
    subprocess.run(
        [sys.executable, str(BENCH / "generate.py"), "--rows", str(rows), "--out", str(out)],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip


@dataclass(frozen=True)
class Run:
    """One finished process: wall and CPU seconds, peak resident memory."""

    wall: float
    cpu: float
    rss_mb: float
    code: int


def measure(command: list[str], log: Path) -> Run:
    """Run `command` to the end; the OS's accounting of that one child process."""
    with log.open("ab") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode)


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
    return {
        "wall": statistics.median(r.wall for r in runs),
        "wall_min": min(r.wall for r in runs),
        "wall_max": max(r.wall for r in runs),
        "cpu": statistics.median(r.cpu for r in runs),
        "rss_mb": max(r.rss_mb for r in runs),
        "runs": len(runs),
        "failed": sum(r.code != 0 for r in runs),
    }


def ratio(runs: dict[str, list[Run]], a: str, b: str, field: str) -> float | None:
    """Median of the pairwise ratios a/b (pairs run back to back, so drift cancels)."""
    if a not in runs or b not in runs:
        return None
    pairs = zip(runs[a], runs[b], strict=False)
    return float(statistics.median(getattr(x, field) / getattr(y, field) for x, y in pairs))


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
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 3_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timed-max", type=int, default=1_000_000)
    parser.add_argument("--e2e-rows", type=int, default=100_000)
    parser.add_argument("--e2e-result", type=Path, help="reuse a bench/e2e.py JSON output")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--polars-python", help="a Python with polars, if this one has none")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kindful-bench"))
    parser.add_argument("--out", type=Path, default=BENCH / "results.md")
    parser.add_argument("--keep", action="store_true", help="keep the generated exports")
    parser.add_argument("--render", type=Path, help="only write --out from a results.json")
    args = parser.parse_args()
    if args.render:
        args.out.write_text(render(json.loads(args.render.read_text())))
        print(f"wrote {args.out}")
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    log = args.workdir / "bench.log"
    polars = polars_python(args.polars_python)
    report: dict[str, Any] = {"machine": machine(), "sizes": {}, "polars": polars is not None}
    try:
        for rows in args.rows:
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
                    print(f"{rows:>9,} {name:<14} #{turn + 1}: {run.wall:7.1f} s wall "
                          f"{run.cpu:7.1f} s cpu {run.rss_mb:7.0f} MiB", flush=True)  # fmt: skip
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
                    [sys.executable, str(BENCH / "batches.py"), str(source),
                     str(work / "write-only"), "--write-only", "--repeat", str(args.repeat)],
                    cwd=REPO, capture_output=True, text=True, check=True,
                )  # fmt: skip
                size["write only"] = json.loads(out.stdout.strip().splitlines()[-1])
            report["sizes"][rows] = size
            shutil.rmtree(work, ignore_errors=True)
            (args.workdir / "results.json").write_text(json.dumps(report, indent=1, default=str))
        if not args.skip_e2e:
            if args.e2e_result:
                deadline = time.monotonic() + 3600  # a run started beside this one may be busy
                while not args.e2e_result.read_text().strip() and time.monotonic() < deadline:
                    time.sleep(10)
                report["e2e"] = json.loads(args.e2e_result.read_text())
            else:
                source = args.workdir / f"export-{args.e2e_rows}.csv"
                if not source.exists():
                    generate(args.e2e_rows, source)
                out = subprocess.run(
                    [sys.executable, str(BENCH / "e2e.py"), str(source), str(args.workdir / "e2e")],
                    cwd=REPO, capture_output=True, text=True, check=True,
                )  # fmt: skip
                report["e2e"] = json.loads(out.stdout.strip().splitlines()[-1])
            report["e2e_rows"] = args.e2e_rows
    finally:
        if not args.keep:
            for export in args.workdir.glob("export-*.csv"):
                export.unlink()
    report["machine"]["load after"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    (args.workdir / "results.json").write_text(json.dumps(report, indent=1, default=str))
    args.out.write_text(render(report))
    print(f"wrote {args.out}")


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def render(report: dict[str, Any]) -> str:
    """results.md: the machine, then one table per measure."""
    m = report["machine"]
    lines = [
        "# kindful-etl benchmark results",
        "",
        "Produced by `bench/run.py` (see bench/README.md). Whole-process figures: wall and CPU",
        "(user + system) seconds as medians over the runs, peak RSS the largest run's; ratios are",
        "medians of back-to-back pairs.",
        "",
        f"- machine: {m['cpu']}, {m['memory']} RAM, {m['os']}",
        f"- software: Python {m['python']}, pandas {m['pandas']}, numpy {m['numpy']}",
        f"- load average (1/5/15 min) before: {m['load']}; after: {m.get('load after', '-')}",
        "",
        "## validate vs read_csv + to_csv",
        "",
        "| rows | runs | ours wall s | ours cpu s | ours RSS MiB | pandas wall s | pandas cpu s "
        "| polars wall s | ours/pandas wall | ours/pandas cpu | ours/polars wall "
        "| ours/polars cpu |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    sizes: dict[Any, dict[str, Any]] = report["sizes"]
    for rows, size in sizes.items():
        ours = size.get("ours validate", {})
        pandas = size.get("pandas csv", {})
        polars = size.get("polars csv", {})
        lines.append(
            f"| {int(rows):,} | {ours.get('runs', 0)} | {_fmt(ours.get('wall'))} "
            f"| {_fmt(ours.get('cpu'))} | {_fmt(ours.get('rss_mb'), digits=0)} "
            f"| {_fmt(pandas.get('wall'))} | {_fmt(pandas.get('cpu'))} "
            f"| {_fmt(polars.get('wall'))} "
            f"| {_fmt(size.get('ours validate / pandas csv wall'), 'x', 2)} "
            f"| {_fmt(size.get('ours validate / pandas csv cpu'), 'x', 2)} "
            f"| {_fmt(size.get('ours validate / polars csv wall'), 'x', 2)} "
            f"| {_fmt(size.get('ours validate / polars csv cpu'), 'x', 2)} |"
        )
    lines += [
        "",
        "## validation files + gzipped batches vs read_csv + to_csv(gzip)",
        "",
        "| rows | ours wall s | ours cpu s | ours RSS MiB | pandas gzip wall s "
        "| polars gzip wall s | ours/pandas wall | ours/pandas cpu | ours/polars wall |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rows, size in sizes.items():
        ours = size.get("ours batches", {})
        lines.append(
            f"| {int(rows):,} | {_fmt(ours.get('wall'))} | {_fmt(ours.get('cpu'))} "
            f"| {_fmt(ours.get('rss_mb'), digits=0)} "
            f"| {_fmt(size.get('pandas gzip', {}).get('wall'))} "
            f"| {_fmt(size.get('polars gzip', {}).get('wall'))} "
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
    lines += ["", "## peak RSS", "", "| rows | validate MiB | validate + batches MiB |",
              "| ---: | ---: | ---: |"]  # fmt: skip
    for rows, size in sizes.items():
        lines.append(
            f"| {int(rows):,} | {_fmt(size.get('ours validate', {}).get('rss_mb'), digits=0)} "
            f"| {_fmt(size.get('ours batches', {}).get('rss_mb'), digits=0)} |"
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


MIB = 1024**2 / 1e6  # MB per MiB: the OS reports peak RSS in KiB, the targets are in MB


def targets(report: dict[str, Any]) -> list[str]:
    """The issue's targets against this run's figures (a target without its figures is "-")."""
    sizes = {int(rows): size for rows, size in report["sizes"].items()}
    one, three = sizes.get(1_000_000, {}), sizes.get(3_000_000, {})

    def rss(size: dict[str, Any]) -> float | None:
        values = [size.get(n, {}).get("rss_mb") for n in ("ours validate", "ours batches")]
        found = [v * MIB for v in values if v is not None]
        return max(found) if found else None

    rss1, rss3 = rss(one), rss(three)
    e2e = report.get("e2e") or {}
    rows: list[tuple[str, float | None, str]] = [
        ("validate at 1M: ours / pandas wall", one.get("ours validate / pandas csv wall"),
         "<= 2.0x"),
        ("gzipped batches for 1M: ours / pandas to_csv(gzip)",
         one.get("write only", {}).get("ratio"), "<= 1.0x"),
        ("peak RSS at 1M (MB)", rss1, "<= 500"),
        ("peak RSS at 3M / at 1M", rss3 / rss1 if rss1 and rss3 else None, "<= 1.10x"),
        ("end to end at 100k: naive / ours wall", e2e.get("speedup"), ">= 20x"),
        ("end to end at 100k: naive / ours API calls", e2e.get("fewer_calls"), ">= 50x"),
    ]  # fmt: skip
    out = ["", "## targets", "", "| target | this run | limit | met |"]
    out.append("| --- | ---: | ---: | --- |")
    for name, value, limit in rows:
        bound = float(limit.split()[1].rstrip("x"))
        met = "-" if value is None else ("yes" if
              (value <= bound if limit.startswith("<=") else value >= bound) else "NO")  # fmt: skip
        shown = "-" if value is None else f"{value:.0f}" if "MB" in name else f"{value:.2f}x"
        out.append(f"| {name} | {shown} | {limit} | {met} |")
    return out


if __name__ == "__main__":
    main()

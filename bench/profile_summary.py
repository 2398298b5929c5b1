"""Where a run's time goes, by pipeline stage, from py-spy's raw (collapsed-stack) profiles.

    py-spy record --subprocesses --format raw -r 100 -o /tmp/validate.txt -- \\
        .venv/bin/python -m flows.cli.main validate EXPORT --mapping MAPPING --out DIR
    .venv/bin/python bench/profile_summary.py /tmp/validate.txt [MORE.txt ...] [--rate 100]

(Not bench/profile.py: that name would shadow the standard library's `profile`, which cProfile
imports, in every process started as `python bench/...`.)

Each line of a raw profile is a stack, outermost frame first, `;`-separated, and a sample count;
frames read `function (path/file.py:line)`. With `--subprocesses` a stack starts with one
`process PID:"command line"` frame per process from the profiled one down (the command line may
itself hold `;`). A sample goes to the stage of its innermost frame that belongs to one:

- reading: pipelines/read, pandas' CSV parser (pandas/io/parsers), openpyxl, python_calamine;
- mapping: pipelines/mapping; normalizing: pipelines/normalize;
- derived ids: pipelines/transform/ids.py and seen_ids.py; validation: .../validation.py;
- writing run files: pipelines/outputs/validation_files.py and csv_text.py;
- batches: pipelines/outputs/batches.py and batch_index.py;
- worker transfer: multiprocessing, concurrent.futures, pickle/copyreg, `__reduce__`-style
  methods, pipelines/transform/parallel.py (handing chunks out and results back);
- imports: importlib's `_find_and_load` (module bodies, `<module>` frames, belong to no stage,
  so the code an import runs counts as the import);
- other: the rest, including the transform's glue (pipelines/transform/chunk.py, prepare.py,
  job.py: their own time, not the stages they call) and the CLI.

Prints markdown: per file the samples per stage, and with process frames the same per process
(shares of all the file's samples, so a row adds up across processes); with several files, a
table of the stage shares side by side. py-spy leaves idle threads out unless `--idle`, so a
sample is a moment a thread was running: with `--rate` (py-spy's `-r`, default 100 Hz) the
samples also read as CPU seconds.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# (stage, path fragments, function names); a frame's path is matched as "/" + path, so a
# fragment "/pickle.py" is that file and "/multiprocessing/" that package.
_STAGES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("imports", (), ("_find_and_load",)),
    ("reading", ("/pipelines/read/", "/pandas/io/parsers/", "/openpyxl/", "python_calamine"), ()),
    ("mapping", ("/pipelines/mapping/",), ()),
    ("normalizing", ("/pipelines/normalize/",), ()),
    ("derived ids", ("/pipelines/transform/ids.py", "/pipelines/transform/seen_ids.py"), ()),
    ("validation", ("/pipelines/transform/validation.py",), ()),
    ("writing run files", ("/pipelines/outputs/validation_files.py",
                           "/pipelines/outputs/csv_text.py"), ()),
    ("batches", ("/pipelines/outputs/batches.py", "/pipelines/outputs/batch_index.py"), ()),
    ("worker transfer", ("/multiprocessing/", "/concurrent/futures/", "/pickle.py", "/copyreg.py",
                         "/pipelines/transform/parallel.py"),
     ("__reduce__", "__reduce_ex__", "__getstate__", "__setstate__")),
    ("other", ("/pipelines/transform/chunk.py", "/pipelines/transform/prepare.py",
               "/pipelines/transform/job.py"), ()),
)  # fmt: skip
STAGES: tuple[str, ...] = tuple(dict.fromkeys([s for s, _, _ in _STAGES] + ["other"]))
_PROCESS = re.compile(r'process (\d+):"(.*?)"(?:;|$)', re.DOTALL)


def stage_of(frames: list[str]) -> str:
    """The stage of the innermost frame that belongs to one, else "other"."""
    for frame in reversed(frames):
        function, _, where = frame.rpartition(" (")
        if function == "<module>":
            continue
        path = "/" + where.rsplit(":", 1)[0]
        for stage, fragments, functions in _STAGES:
            if function.rsplit(".", 1)[-1] in functions or any(f in path for f in fragments):
                return stage
    return "other"


def role(chain: list[tuple[int, str]]) -> str:
    """A process by its place: the profiled one, the forkserver, its children (the workers)."""
    pid, command = chain[-1]
    if len(chain) == 1:
        name = "main"
    elif "multiprocessing.forkserver" in command:
        name = "forkserver" if len(chain) == 2 else "worker"
    elif "resource_tracker" in command:
        name = "resource tracker"
    else:
        name = "child"
    return f"{name} {pid}"


@dataclass
class Profile:
    """The samples of one raw file per stage, overall and per process."""

    name: str
    stages: Counter[str] = field(default_factory=Counter)
    processes: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.stages.values())


def read(path: Path) -> Profile:
    profile = Profile(path.name)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not count_text.isdigit():  # a stack without frames (" 23") is "other"
            continue
        chain: list[tuple[int, str]] = []
        while match := _PROCESS.match(stack):
            chain.append((int(match.group(1)), match.group(2)))
            stack = stack[match.end() :]
        stage = stage_of(stack.split(";") if stack else [])
        count = int(count_text)
        profile.stages[stage] += count
        if chain:
            profile.processes.setdefault(role(chain), Counter())[stage] += count
    return profile


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def render(profiles: list[Profile], rate: float | None) -> str:
    lines: list[str] = []
    for profile in profiles:
        total = profile.total
        lines += [f"## {profile.name}: {total:,} samples", ""]
        head = "| stage | samples | share |" + (" CPU s |" if rate else "")
        lines += [head, "| --- | ---: | ---: |" + (" ---: |" if rate else "")]
        for stage in STAGES:
            n = profile.stages[stage]
            seconds = f" {n / rate:.1f} |" if rate else ""
            lines.append(f"| {stage} | {n:,} | {_share(n, total)} |{seconds}")
        lines.append("")
        if profile.processes:
            weight = {p: sum(stages.values()) for p, stages in profile.processes.items()}
            order = sorted(weight, key=lambda p: (not p.startswith("main"), -weight[p]))
            lines += [
                "Per process, as shares of all the file's samples:",
                "",
                "| stage | " + " | ".join(order) + " |",
                "| --- |" + " ---: |" * len(order),
            ]
            for stage in STAGES:
                cells = [_share(profile.processes[p][stage], total) for p in order]
                lines.append(f"| {stage} | " + " | ".join(cells) + " |")
            sums = [_share(sum(profile.processes[p].values()), total) for p in order]
            lines += ["| all stages | " + " | ".join(sums) + " |", ""]
    if len(profiles) > 1:
        lines += [
            "## side by side (share of each file's samples)",
            "",
            "| stage | " + " | ".join(p.name for p in profiles) + " |",
            "| --- |" + " ---: |" * len(profiles),
        ]
        for stage in STAGES:
            cells = [_share(p.stages[stage], p.total) for p in profiles]
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, nargs="+", help="py-spy record --format raw outputs")
    parser.add_argument("--rate", type=float, help="py-spy's sampling rate (-r), for CPU seconds")
    args = parser.parse_args()
    print(render([read(path) for path in args.raw], args.rate), end="")


if __name__ == "__main__":
    main()

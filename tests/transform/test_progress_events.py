"""Progress events from validate, prepare, the load and preview: per chunk or batch, counts only."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.models import ImportResult
from pipelines.kindful.pacing import PollPlan
from pipelines.kindful.settings import KindfulSettings
from pipelines.load.ledger import Ledger
from pipelines.load.run import LoadSteps, ledger_key, load_prepared
from pipelines.load.settings import ImportSettings
from pipelines.outputs.batches import Batch
from pipelines.outputs.run_folder import RunFolder
from pipelines.preview.plan import preview_export
from pipelines.progress import Progress
from pipelines.read.export import iter_export
from pipelines.read.meter import metered
from pipelines.staging.s3 import StagedObject, StagingSettings
from pipelines.transform.job import prepare_run, validate_export
from pipelines.transform.options import RunOptions, resolve_run
from pipelines.transform.parallel import PROCESSES_ENV
from sandbox.serve import running_sandbox

ROWS = 1_000
CHUNK = 100
SECRET = "Zyxwvut"  # a value in every row: no event may carry it


class Recorder(Progress):
    """Every event as (name, args); `done` too, which no pipeline may send."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def reading(
        self, bytes_read: int, bytes_total: int | None, rows_read: int, rows_rejected: int
    ) -> None:
        self.events.append(("reading", (bytes_read, bytes_total, rows_read, rows_rejected)))

    def batches(
        self,
        *,
        written: int = 0,
        staged: int = 0,
        submitted: int = 0,
        complete: int = 0,
        total: int | None = None,
    ) -> None:
        self.events.append(("batches", (written, staged, submitted, complete, total)))

    def waiting(self, batch_name: str, job_id: str) -> None:
        self.events.append(("waiting", (batch_name, job_id)))

    def judging(self, rows_judged: int, rows_total: int) -> None:
        self.events.append(("judging", (rows_judged, rows_total)))

    def done(self) -> None:
        self.events.append(("done", ()))

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for event, args in self.events if event == name]


def contacts(path: Path, rows: int = ROWS, bad_every: int = 10) -> Path:
    """A contact export; every `bad_every`-th row has no last name (rejected)."""
    lines = ["first_name,last_name,email"]
    for n in range(rows):
        last = "" if n % bad_every == 0 else f"{SECRET}{n}"
        lines.append(f"Ada{n},{last},ada{n}.{SECRET.lower()}@example.org")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assert_counts_only(recorder: Recorder, names: set[str]) -> None:
    """Ints and None only, except batch names and job ids in `waiting`; never a data value."""
    for event, args in recorder.events:
        for value in args:
            if event == "waiting":
                assert isinstance(value, str) and value in names, (event, args)
            else:
                assert value is None or type(value) is int, (event, args)
        assert SECRET.lower() not in repr(args).lower()


def assert_non_decreasing(rows: list[tuple[Any, ...]]) -> None:
    for earlier, later in itertools.pairwise(rows):
        for a, b in zip(earlier, later, strict=True):
            if isinstance(a, int) and isinstance(b, int):
                assert b >= a, (earlier, later)


@pytest.fixture
def options() -> RunOptions:
    return resolve_run("contact")


def test_validate_reports_each_chunk_and_reads_to_the_file_size(
    tmp_path: Path, options: RunOptions
) -> None:
    source = contacts(tmp_path / "contacts.csv")
    recorder = Recorder()
    summary = validate_export(
        str(source), options=options, out_dir=tmp_path / "out", chunk_rows=CHUNK, progress=recorder
    )
    reading = recorder.of("reading")
    assert [name for name, _ in recorder.events] == ["reading"] * (ROWS // CHUNK)
    assert [r[2] for r in reading] == list(range(CHUNK, ROWS + 1, CHUNK))
    assert_non_decreasing(reading)
    size = source.stat().st_size
    assert {r[1] for r in reading} == {size}
    assert reading[-1] == (size, size, ROWS, summary["rows_rejected"])
    assert summary["rows_rejected"] == ROWS // 10
    assert_counts_only(recorder, set())


def test_validate_without_progress_is_unchanged(tmp_path: Path, options: RunOptions) -> None:
    source = contacts(tmp_path / "contacts.csv")
    quiet = validate_export(str(source), options=options, out_dir=tmp_path / "a", chunk_rows=CHUNK)
    heard = validate_export(
        str(source), options=options, out_dir=tmp_path / "b", chunk_rows=CHUNK, progress=Recorder()
    )
    assert quiet == heard
    for name in ("normalized.csv", "rejects.csv", "warnings.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_gzip_counts_compressed_bytes(tmp_path: Path, options: RunOptions) -> None:
    plain = contacts(tmp_path / "contacts.csv")
    source = tmp_path / "contacts.csv.gz"
    source.write_bytes(gzip.compress(plain.read_bytes()))
    recorder = Recorder()
    validate_export(
        str(source), options=options, out_dir=tmp_path / "out", chunk_rows=CHUNK, progress=recorder
    )
    size = source.stat().st_size
    assert recorder.of("reading")[-1][:3] == (size, size, ROWS)


def test_json_lines_count_both_passes(tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(f'{{"a": "{n}"}}\n' for n in range(500)), encoding="utf-8")
    with metered() as meter:
        seen = [
            (meter.bytes_read, meter.bytes_total) for _ in iter_export(str(source), chunk_rows=50)
        ]
    size = source.stat().st_size
    assert seen[-1] == (2 * size, 2 * size)
    assert seen[0][0] > size  # the keys' pass is over before the first chunk


def test_a_meter_outside_its_block_measures_nothing(tmp_path: Path) -> None:
    source = contacts(tmp_path / "contacts.csv", rows=10)
    with metered() as meter:
        pass
    list(iter_export(str(source)))
    assert (meter.bytes_read, meter.bytes_total) == (0, None)


def test_prepare_reports_batches_written_and_no_log_lines(
    tmp_path: Path,
    options: RunOptions,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PROCESSES_ENV, "1")  # 50k-row chunks (workers take 25k-row ones)
    source = contacts(tmp_path / "contacts.csv", rows=250_002, bad_every=1_000_000)
    recorder = Recorder()
    with caplog.at_level(logging.INFO):
        prepared = prepare_run(
            str(source), options, tmp_path / "out", 50_000, progress=recorder, chunk_rows=50_000
        )
    assert len(prepared.batches) == 6
    names = [name for name, _ in recorder.events]
    assert names == ["batches", "reading"] * 6 + ["batches"]  # 50k-row chunks, then the last
    written = [b[0] for b in recorder.of("batches")]
    assert written == sorted(written) and written[-1] == 6
    assert recorder.of("reading")[-1][2] == 250_002
    assert not [r for r in caplog.records if r.getMessage().startswith("progress:")]
    assert_counts_only(recorder, set())


def test_prepare_logs_plain_progress_lines_by_default(
    tmp_path: Path, options: RunOptions, caplog: pytest.LogCaptureFixture
) -> None:
    source = contacts(tmp_path / "contacts.csv")
    with caplog.at_level(logging.INFO, logger="pipelines.transform.job"):
        prepare_run(str(source), options, tmp_path / "out", 400)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress:")]
    # one line: the run is shorter than the interval, so only the last one
    assert lines == ["progress: 1,000 rows read (100%), 100 rejected, 3 batches written"]


@dataclasses.dataclass
class FakeKindful:
    jobs: int = 0

    def stage(self, settings: ImportSettings, run_id: str, batch: Batch) -> StagedObject:
        return StagedObject("bucket", f"{run_id}/{batch.name}", batch.path.stat().st_size)

    def submit(self, settings: ImportSettings, options: RunOptions, staged: StagedObject) -> str:
        self.jobs += 1
        return f"job-{self.jobs}"

    def await_job(
        self, settings: ImportSettings, job_id: str, plan: PollPlan | None
    ) -> ImportResult:
        return ImportResult(id=job_id, status="complete", stats={"Contact": 2})

    def cleanup(self, settings: ImportSettings, staged: StagedObject) -> None:
        pass

    @contextlib.contextmanager
    def lock(
        self, settings: ImportSettings, ledger: Ledger, holder: str, wait: float
    ) -> Iterator[None]:
        yield


def test_the_load_reports_each_batch_and_the_job_it_waits_on(
    tmp_path: Path, options: RunOptions
) -> None:
    settings = ImportSettings(
        kindful=KindfulSettings(token=SecretStr("unit-token"), base_url="https://kindful.invalid"),
        staging=StagingSettings(uri="s3://bucket/prefix/"),
        ledger=str(tmp_path / "ledger.db"),
        batch_rows=2,
        target_name="unit-kindful",
    )
    source = str(contacts(tmp_path / "contacts.csv", rows=6, bad_every=100))
    out = tmp_path / "run"
    prepared = prepare_run(source, options, out, settings.batch_rows)
    fake = FakeKindful()
    recorder = Recorder()
    result = load_prepared(
        key=ledger_key(source, options, settings),
        prepared=prepared,
        options=options,
        settings=settings,
        run_id="run-1",
        folder=RunFolder(out, str(out)),
        steps=LoadSteps(fake.stage, fake.submit, fake.await_job, fake.cleanup, fake.lock),
        progress=recorder,
    )
    assert result.failure is None
    names = [b.name for b in prepared.batches]
    assert len(names) == 3
    expected: list[tuple[str, tuple[Any, ...]]] = [("batches", (3, 0, 0, 0, 3))]
    for n, name in enumerate(names, start=1):
        expected += [
            ("batches", (3, n, n - 1, n - 1, 3)),
            ("batches", (3, n, n, n - 1, 3)),
            ("waiting", (name, f"job-{n}")),
            ("batches", (3, n, n, n, 3)),
        ]
    assert recorder.events == expected
    assert_counts_only(recorder, {*names, "job-1", "job-2", "job-3"})


def test_preview_reports_rows_read_then_judged(tmp_path: Path, options: RunOptions) -> None:
    source = contacts(tmp_path / "contacts.csv")
    recorder = Recorder()
    with running_sandbox(token="progress-token") as kindful:
        settings = KindfulSettings(token=SecretStr("progress-token"), base_url=kindful.base_url)
        with KindfulClient(settings) as client:
            result = preview_export(
                str(source), client, options, chunk_rows=CHUNK, progress=recorder
            )
    assert result.rows_read == ROWS
    names = [name for name, _ in recorder.events]
    assert names == ["reading"] * (ROWS // CHUNK) + ["judging", "judging"]
    size = source.stat().st_size
    assert recorder.of("reading")[-1] == (size, size, ROWS, ROWS // 10)
    assert recorder.of("judging") == [(0, ROWS), (ROWS, ROWS)]
    assert_non_decreasing(recorder.of("reading"))
    assert_counts_only(recorder, set())

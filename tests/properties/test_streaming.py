"""A chunked run writes exactly what a whole-file run writes, whatever the chunk size.

Row numbers, rejects, warnings, derived ids (with their `-2` repeat suffixes) and the batch files
must not depend on where chunk boundaries fall, so a 3M-row export processed 100k rows at a time
is the same import as if it had been read at once.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.mapping.spec import load_mapping, resolve_format
from pipelines.outputs.batches import BatchWriter
from pipelines.outputs.validation_files import OutputWriter
from pipelines.transform import seen_ids
from pipelines.transform.options import resolve_options
from pipelines.transform.prepare import prepare_export
from pipelines.transform.seen_ids import SeenIds

pytestmark = pytest.mark.slow

ROWS = 1_500
WHOLE = 1_000_000
CHUNKS = (7, 333)
# chunk sizes run on two worker processes (each chunk is a round trip: not 200 of them)
WORKER_CHUNKS = (50, 333)
MAPPING = """\
data_format: contact_with_transaction
source_system: streaming-test
columns:
  donor_id: id
  first: first_name
  last: last_name
  email: email
  state: state
  country: country
  gift_id: transaction_id
  amount: {to: amount_in_cents, unit: dollars}
  currency: currency
  date: transaction_time
  fund: fund
  kind: transaction_type
  ack: acknowledged
  note: transaction_note
"""
SETTINGS = ("source", "data_format", "action", "match_by", "source_timezone", "custom_fields")


def _export_rows(rows: int = ROWS, seed: int = 3) -> list[dict[str, str]]:
    """Dirty gifts: mixed dates, $ amounts, booleans, repeat donors, ~5% bad rows."""
    rng = random.Random(seed)
    dates = [
        "2024-03-0{d}T1{h}:05:00-05:00",
        "2024-03-0{d} 1{h}:05:00 UTC",
        "3/{d}/2024 {h}:05 PM",
        "171000{d}{h}00",
        "2024-03-0{d}",
    ]
    out: list[dict[str, str]] = []
    for i in range(rows):
        donor = int(rows / 4 * rng.random() ** 2)  # repeat donors, most often the first ones
        day, hour = rng.randint(1, 9), rng.randint(0, 9)
        row = {
            "donor_id": f"D-{donor}" if donor % 3 else "",  # a third derive their contact id
            "first": ["Ada", "Zoë", "José", "Grace"][donor % 4],
            "last": ["Tester", "Müller", "O'Demo"][donor % 3],
            "email": [f"donor{donor}@example.org", f" DONOR{donor}@Example.org ", ""][donor % 3],
            "state": rng.choice(["TN", "tennessee", "Tenn.", "ny", "Ontario", ""]),
            "country": rng.choice(["USA", "U.S.", "us", "United States", "Canada", "Narnia", ""]),
            "gift_id": f"G-{i}" if rng.random() < 0.6 else "",  # the rest derive theirs
            "amount": rng.choice(["25.00", "$1,000.00", "100", "$75", "37.5", "1,250.50"]),
            "currency": rng.choice(["USD", "usd", "Usd", ""]),
            "date": rng.choice(dates).format(d=day, h=hour),
            "fund": rng.choice(["General", "Scholarships", ""]),
            "kind": rng.choice(["cash", "Check", "CREDIT", "paypal", ""]),
            "ack": rng.choice(["Y", "n", "yes", "0", "TRUE", "f", ""]),
            "note": rng.choice(["", "", "", 'said "thanks", twice', "line one\nline two"]),
        }
        if rng.random() < 0.05:  # bad rows, each in one way
            spoil = rng.randrange(5)
            if spoil == 0:
                row["amount"] = rng.choice(["12.345", "N/A", "0", "(12.00)"])
            elif spoil == 4:
                row["kind"] = "barter"
            elif spoil == 1:
                row["date"] = rng.choice(["not a date", "13/45/2024"])
            elif spoil == 2:
                row["last"] = ""
            else:
                row["first"] = "X" * 300
        if out and rng.random() < 0.02 and not out[-1]["gift_id"]:
            row = dict(out[-1])  # an exact repeat: its derived id gets a -2 suffix
        out.append(row)
    return out


def _write(kind: str, rows: list[dict[str, str]], path: Path) -> Path:
    frame = pd.DataFrame(rows)
    if kind == "csv":
        frame.to_csv(path, index=False)
    elif kind == "xlsx":
        frame.replace("", None).to_excel(path, index=False)
    else:
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _run(
    source: Path, mapping_path: Path, out: Path, chunk_rows: int, workers: int = 1
) -> dict[str, Any]:
    """What the import flow's transform does: run files plus 40-row gzipped batches."""
    mapping = load_mapping(mapping_path)
    options = resolve_options(resolve_format(None, mapping).name, mapping)
    writer = OutputWriter(out)
    batches = BatchWriter(out / "batches", batch_rows=40)
    for chunk in prepare_export(
        str(source), mapping, options, chunk_rows=chunk_rows, workers=workers
    ):
        writer.write(chunk)
        batches.add(chunk.accepted)
    batches.close()
    summary = writer.close(source=str(source))
    files = {
        name: (out / name).read_bytes()
        for name in ("normalized.csv", "rejects.csv", "warnings.csv")
    }
    return {
        "files": files,
        "summary": {k: v for k, v in summary.items() if k not in SETTINGS},
        "batches": [
            (b.name, b.rows, b.content_hash, b.path.read_bytes(), list(b.source_rows))
            for b in batches.batches
        ],
    }


@pytest.fixture(scope="module")
def mapping_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mapping") / "gifts.mapping.yaml"
    path.write_text(MAPPING)
    return path


@pytest.mark.parametrize("kind", ["csv", "xlsx", "jsonl"])
def test_chunked_runs_equal_the_whole_file_run(
    kind: str, mapping_file: Path, tmp_path: Path
) -> None:
    source = _write(kind, _export_rows(), tmp_path / f"gifts.{kind}")
    whole = _run(source, mapping_file, tmp_path / "whole", WHOLE)
    summary = whole["summary"]
    # the file is as dirty as it should be: rejects, warnings, derived ids, repeats, batches
    assert summary["rows_read"] == ROWS
    assert 0 < summary["rows_rejected"] < ROWS // 5
    assert summary["warnings"] > 0
    normalized = pd.read_csv(
        tmp_path / "whole" / "normalized.csv", dtype=str, keep_default_na=False
    )
    assert normalized["id"].str.startswith("ke-").any()
    assert normalized["transaction_id"].str.fullmatch(r"ke-[0-9a-f]{24}-2").any()
    assert len(whole["batches"]) > 10
    # one process, and worker processes (whose repeat suffixes are settled across chunks)
    for chunk_rows, workers in [*((n, 1) for n in CHUNKS), *((n, 2) for n in WORKER_CHUNKS)]:
        out = tmp_path / f"chunks{chunk_rows}-{workers}"
        chunked = _run(source, mapping_file, out, chunk_rows, workers)
        case = (chunk_rows, workers)
        assert chunked["summary"] == summary, case
        for name, data in whole["files"].items():
            assert chunked["files"][name] == data, (*case, name)
        assert chunked["batches"] == whole["batches"], case


def test_json_lines_key_first_seen_in_a_later_chunk(mapping_file: Path, tmp_path: Path) -> None:
    rows = _export_rows(200)
    lines = [{k: v for k, v in row.items() if k != "note"} for row in rows]
    lines[150]["note"] = "a note, late"
    source = _write("jsonl", lines, tmp_path / "late.jsonl")
    whole = _run(source, mapping_file, tmp_path / "whole", WHOLE)
    chunked = _run(source, mapping_file, tmp_path / "chunked", 50)
    assert chunked["files"] == whole["files"]


def _seen_like_a_counter(seen: SeenIds, counter: Counter[bytes], chunk: list[bytes]) -> None:
    """One chunk's digests through SeenIds, checked against a Counter of the chunks before."""
    distinct = list(dict.fromkeys(chunk))
    digests = np.array(distinct, dtype="S12")
    before = seen.get(digests)
    assert before.tolist() == [counter[d] for d in distinct]
    counts = Counter(chunk)
    seen.add(digests, before, np.array([counts[d] for d in distinct], dtype=np.int64))
    counter.update(chunk)


@pytest.mark.parametrize("run_ids", [1_000_000, 4, 9])
def test_seen_ids_number_repeats_like_a_counter_across_chunks(
    run_ids: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 and 9: the digests spread over many arrays, all but the newest in the spill file, in
    # blocks of 2 (many digests share their first 8 bytes here: equal highs straddle blocks)
    monkeypatch.setattr(seen_ids, "RUN_IDS", run_ids)
    monkeypatch.setattr(seen_ids, "BLOCK", 2)
    rng = np.random.default_rng(11)
    seen, counter = SeenIds(), Counter[bytes]()
    for _ in range(40):
        # 12-byte digests, many repeating, some with trailing zero bytes
        pool = [bytes([i % 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, i % 3, 0]) for i in range(30)]
        chunk = [pool[i] for i in rng.integers(0, len(pool), rng.integers(0, 25))]
        _seen_like_a_counter(seen, counter, chunk)
    assert len(seen) == len(counter)
    assert len(seen.runs) == 1
    assert bool(seen.spilled) == (run_ids < len(counter))


def test_seen_ids_find_spilled_digests_and_keep_memory_small(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(seen_ids, "RUN_IDS", 5_000)
    rng = np.random.default_rng(5)
    seen, counter = SeenIds(), Counter[bytes]()
    universe = np.array(
        [hashlib.sha256(str(i).encode()).digest()[:12] for i in range(60_000)], dtype="S12"
    )
    for _ in range(30):  # chunks of 3,000 draws: most new, some seen in any earlier array
        chunk = universe[rng.integers(0, len(universe), 3_000)].tolist()
        _seen_like_a_counter(seen, counter, chunk)
    assert len(seen) == len(counter) and len(seen.spilled) >= 5
    held = sum(high.nbytes + low.nbytes for high, low in seen.runs)
    assert seen.nbytes - held < 2.1 * sum(s.count for s in seen.spilled)  # vs 12 bytes each


def test_seen_ids_stay_small() -> None:
    seen = SeenIds()
    digests = np.array(
        [hashlib.sha256(str(i).encode()).digest()[:12] for i in range(100_000)], dtype="S12"
    )
    seen.add(digests, np.zeros(len(digests), dtype=np.int64), np.ones(len(digests), np.int64))
    assert seen.nbytes == 12 * 100_000
    assert not seen.repeats

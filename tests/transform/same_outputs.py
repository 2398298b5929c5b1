"""What a run writes for the samples and a generated multi-chunk export, as sha256 digests.

    python tests/transform/same_outputs.py OUT.json

writes the digests of the code it runs with; `tests/transform/expected/outputs.json` holds the
digests of the code before issue 17 (commit be76a44: pandas object strings, one process, the csv
module's writer), and `test_same_outputs.py` requires the code of today to write the same bytes.
Batches are compared unzipped (the gzip stream is ours to tune), everything else as written.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import tempfile
from inspect import signature
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
GENERATED = Path(__file__).resolve().parent / "expected" / "generated_6000.csv.gz"
BENCH_MAPPING = ROOT / "bench" / "export.mapping.yaml"

# case: (source, resolve_run keywords, chunk rows)
CASES: dict[str, tuple[Path, dict[str, Any], int]] = {
    "contacts": (SAMPLES / "contacts.csv", {"data_format": "contact"}, 100_000),
    "contact_with_transaction": (
        SAMPLES / "contact_with_transaction.csv",
        {"data_format": "contact_with_transaction"},
        100_000,
    ),
    "split_transaction": (
        SAMPLES / "split_transaction.csv",
        {"data_format": "split_transaction"},
        100_000,
    ),
    "contact_with_note": (
        SAMPLES / "contact_with_note.jsonl",
        {"data_format": "contact_with_note"},
        100_000,
    ),
    "spreadsheet_contacts": (
        SAMPLES / "spreadsheet_contacts.xlsx",
        {"data_format": "contact"},
        100_000,
    ),
    "classy": (
        SAMPLES / "classy_transactions.csv",
        {"mapping": str(SAMPLES / "classy_transactions.mapping.yaml")},
        100_000,
    ),
    "stripe": (
        SAMPLES / "stripe_payments.csv",
        {"mapping": str(SAMPLES / "stripe_payments.mapping.yaml")},
        100_000,
    ),
    "paypal": (
        SAMPLES / "paypal_activity.csv",
        {"mapping": str(SAMPLES / "paypal_activity.mapping.yaml")},
        100_000,
    ),
    # bench/generate.py's dirty export (seed 11), 6 chunks: repeats and rejects across chunks
    "generated_6000": (GENERATED, {"mapping": str(BENCH_MAPPING)}, 1_000),
}
FILES = ("normalized.csv", "rejects.csv", "warnings.csv", "summary.json")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _comparable(path: Path) -> bytes:
    """The file's bytes; summary.json's source path as its file name (checkouts differ)."""
    if path.name != "summary.json":
        return path.read_bytes()
    summary = json.loads(path.read_text())
    summary["source"] = Path(summary["source"]).name
    return (json.dumps(summary, indent=2) + "\n").encode()


def outputs_of(case: str, folder: Path) -> dict[str, str]:
    """Digests of the run files (`validate`) and of the batches (the import's transform)."""
    from pipelines.transform.job import prepare_run, validate_export
    from pipelines.transform.options import resolve_run

    source, asked, chunk_rows = CASES[case]
    options = resolve_run(**asked)
    validate_export(
        str(source), out_dir=folder / "validate", options=options, chunk_rows=chunk_rows
    )
    digests = {name: _digest(_comparable(folder / "validate" / name)) for name in FILES}
    # (before issue 17 the import's transform took no chunk size: it wrote the same bytes)
    chunked = (
        {"chunk_rows": chunk_rows} if "chunk_rows" in signature(prepare_run).parameters else {}
    )
    prepared = prepare_run(str(source), options, folder / "import", batch_rows=400, **chunked)
    for batch in prepared.batches:
        digests[f"batches/{batch.path.name}"] = _digest(gzip.decompress(batch.path.read_bytes()))
    for index in sorted((folder / "import" / "batches").glob("*.ids.gz")):
        digests[f"batches/{index.name}"] = _digest(gzip.decompress(index.read_bytes()))
    return digests


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as temp:
        found = {case: outputs_of(case, Path(temp) / case) for case in CASES}
    out.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""Synthetic 6-column XLSX gift exports for the benchmark, read through bench/xlsx.mapping.yaml.

    python bench/xlsx.py --rows 100000 --out /tmp/kindful-bench/workbook-100000.xlsx

One worksheet, a header and `--rows` rows written with openpyxl's write-only mode (rows stream to
the file, so a 1M-row workbook is written in bounded memory): `gift_id` a whole number or an
empty cell (about 30%: those gifts get derived ids), `gift_date` a date-and-time cell,
`first_name` and `last_name` text, `email` text, `amount` a number of dollars (about 1% zero,
which validate rejects). Donors repeat across rows (a third as many donors as rows), which keeps
the shared strings well under the reader's limit at 1M rows. The same arguments always give the
same cells.
"""

from __future__ import annotations

import argparse
import datetime as dt
import unicodedata
from pathlib import Path

import numpy as np

MAPPING = Path(__file__).resolve().parent / "xlsx.mapping.yaml"
HEADER = ["gift_id", "gift_date", "first_name", "last_name", "email", "amount"]
FIRST = ["Ada", "Alan", "Grace", "Linus", "Zoë", "José", "Renée", "Claude", "Mary", "Vint"]
LAST = ["Tester", "Demo", "Sample", "Mockley", "Stubbs", "Fixture", "O'Placeholder", "Müller"]
BLOCK_ROWS = 50_000
START = dt.datetime(2015, 1, 1)
SPAN_SECONDS = 10 * 365 * 86_400


def ascii_text(text: str) -> str:
    """Addresses are ASCII even when names are not (Zoë Müller -> zoe.muller)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def rows_of_block(rng: np.random.Generator, start: int, n: int, donors: int) -> list[list[object]]:
    """Rows [start, start + n) as openpyxl cell values."""
    donor = (donors * rng.random(n) ** 2).astype(np.int64)
    first = np.asarray(FIRST, dtype=object)[donor % len(FIRST)].tolist()
    last = np.asarray(LAST, dtype=object)[(donor // len(FIRST)) % len(LAST)].tolist()
    email = [
        ascii_text(f"{a}.{b}{d}@example.org".lower().replace("'", ""))
        for a, b, d in zip(first, last, donor.tolist(), strict=True)
    ]
    gift_id: list[int | None] = list((4_100_000 + start + np.arange(n)).tolist())
    for k in np.flatnonzero(rng.random(n) < 0.3).tolist():
        gift_id[k] = None
    seconds = rng.integers(0, SPAN_SECONDS, n).tolist()
    dollars = rng.choice([5, 10, 20, 25, 50, 75, 100, 250, 1000], n)
    cents = rng.choice([0, 0, 0, 50, 99, 25], n)
    amount = (dollars + cents / 100).round(2)
    amount[rng.random(n) < 0.01] = 0.0
    amounts = amount.tolist()
    return [
        [gift_id[k], START + dt.timedelta(seconds=seconds[k]), first[k], last[k], email[k],
         amounts[k]]
        for k in range(n)
    ]  # fmt: skip


def write(rows: int, out: Path, *, seed: int = 7) -> Path:
    """Write a workbook of `rows` rows to `out` (through a temporary name, so a stopped run
    leaves no half workbook where a later run would take it as cached)."""
    import openpyxl  # type: ignore[import-untyped,unused-ignore]

    out.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Gifts")
    sheet.append(HEADER)
    donors = max(1_000, rows // 3)
    for start in range(0, rows, BLOCK_ROWS):
        rng = np.random.default_rng([seed, start])
        for row in rows_of_block(rng, start, min(BLOCK_ROWS, rows - start), donors):
            sheet.append(row)
    partial = out.with_name(out.name + ".partial")
    book.save(partial)
    partial.replace(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write(args.rows, args.out, seed=args.seed)
    print(args.out)


if __name__ == "__main__":
    main()

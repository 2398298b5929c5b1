"""Synthetic contact_with_transaction exports of N rows, dirty the way real donor exports are.

The file is a generic CRM/payment export read through `bench/export.mapping.yaml`: amounts in
dollars (`$1,000.00`, `25.00`, `100`, `(12.00)` refunds are bad rows), five timestamp spellings
mixed in one column, booleans as Y/N/yes/1/TRUE/0/false, states as names and codes in any case,
countries as USA/U.S./United States/us, padded mixed-case emails, blank funds (defaulted to
General with a warning), repeat donors (some without a donor id, so contact ids are derived from
the email, or the name and address), gifts without a gift id (derived ids; exact repeats get
`-2` suffixes), quoted delimiters and line breaks in notes, and about 5% bad rows (bad or zero
amounts, unparseable dates, no name, an over-long name) that must be rejected.

Rows are generated in blocks with numpy, each block seeded from (seed, block), so the same
arguments always give byte-identical files whatever the machine.

    python bench/generate.py --rows 1000000 --out /tmp/gifts-1m.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

BLOCK_ROWS = 250_000
BAD_SHARE = 0.05
COLUMNS = [
    "donor_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "city",
    "state",
    "zip",
    "country",
    "gift_id",
    "amount",
    "currency",
    "gift_date",
    "campaign",
    "fund",
    "payment_type",
    "acknowledged",
    "refunded",
    "tax_deductible",
    "note",
    "status",
]
FIRST = [
    "Ada", "Alan", "Grace", "Linus", "Ken", "Barbara", "Edsger", "Frances", "John", "Margaret",
    "Dennis", "Radia", "Tim", "Katherine", "Donald", "Hedy", "Niklaus", "Annie", "Guido", "Zoë",
    "José", "Renée", "Bjarne", "Sophie", "Claude", "Mary", "Vint", "Shafi", "Leslie", "Carol",
]  # fmt: skip
LAST = [
    "Tester", "Demo", "Sample", "Mockley", "Dummy", "Specimen", "Example", "Stubbs", "Fixture",
    "Placeholder", "O'Placeholder", "Prototype", "Pilot", "Trial", "Draft", "Model", "Pattern",
    "Template", "Mock", "Proxy", "Stand-In", "Doe", "Roe", "Smith", "Nguyen", "García", "Müller",
    "Okafor", "Kowalski", "Haddad", "Ivanova", "Tanaka", "Silva", "Cohen", "Larsen", "Moreau",
]  # fmt: skip
STREETS = ["Sample Ave", "Demo Ln", "Specimen Blvd", "Example St", "Mock Rd", "Test Ct"]
PLACES = [
    ("Nashville", ["TN", "tn", "Tennessee", "tennessee", "Tenn."], "37206"),
    ("Brooklyn", ["NY", "New York", "ny", "new york"], "11245"),
    ("Austin", ["TX", "tx", "Texas"], "78758"),
    ("Portland", ["OR", "oregon", "Oregon"], "97203"),
    ("Columbus", ["OH", "oh", "Ohio"], "43216"),
    ("Chicago", ["IL", "Illinois", "il"], "60601"),
    ("Denver", ["CO", "Colorado"], "80202"),
    ("Seattle", ["WA", "Washington", "wa"], "98101"),
]
COUNTRIES = ["US", "USA", "U.S.", "United States", "United States of America", "us", ""]
CAMPAIGNS = ["Year-End Appeal", "Spring Gala", "Giving Tuesday", "Scholarships; 2024", ""]
FUNDS = ["General", "Scholarships", "Building", "Restricted", ""]
PAYMENT_TYPES = ["cash", "Check", "CREDIT", "credit", "Paypal", "EFT", "stock"]
TRUE_FALSE = ["Y", "N", "yes", "no", "1", "0", "TRUE", "false", "T", "f", ""]
NOTES = [
    'Donor\'s note: "in memory of Grandma"; no receipt',
    "Matched by employer, see letter",
    "Line one\nline two",
    "=SUM(A1:A2) looked like a formula",
]
# amount spellings: 0 "25.00", 1 "$1,000.00", 2 "100", 3 "$75", 4 "37.5"
BAD_AMOUNTS = ["12.345", "N/A", "0", "0.00", "(12.00)", "USD 10"]
BAD_DATES = ["not a date", "13/45/2015", "2015-02-30", "soon", "31/12/2024"]
START = 1_420_070_400  # 2015-01-01
SPAN = 10 * 365 * 86_400


def _pick(rng: np.random.Generator, pool: list[str], n: int) -> np.ndarray:
    return np.asarray(pool, dtype=object)[rng.integers(0, len(pool), n)]


def _zfill(values: np.ndarray | pd.Series, width: int) -> pd.Series:
    return pd.Series(values).astype(str).str.zfill(width)


def _dates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Timestamps in five spellings: ISO offset, `... UTC`, US with AM/PM, unix, bare date."""
    seconds = START + rng.integers(0, SPAN, n)
    stamps = pd.Series(pd.to_datetime(seconds, unit="s"))
    y, mo, d = stamps.dt.year, stamps.dt.month, stamps.dt.day
    h, mi, s = stamps.dt.hour, stamps.dt.minute, stamps.dt.second
    ymd = y.astype(str) + "-" + _zfill(mo, 2) + "-" + _zfill(d, 2)
    hms = _zfill(h, 2) + ":" + _zfill(mi, 2) + ":" + _zfill(s, 2)
    twelve: pd.Series = ((h + 11) % 12 + 1).astype(str)
    ampm: pd.Series = pd.Series(np.where(h < 12, "AM", "PM"), dtype=str)
    spellings = [
        ymd + "T" + hms + "-05:00",
        ymd + " " + hms + " UTC",
        mo.astype(str) + "/" + d.astype(str) + "/" + y.astype(str)
        + " " + twelve + ":" + _zfill(mi, 2) + " " + ampm,
        pd.Series(seconds).astype(str),
        ymd,
    ]  # fmt: skip
    which = rng.choice(len(spellings), n, p=[0.35, 0.25, 0.2, 0.1, 0.1])
    out = spellings[0].to_numpy(dtype=object).copy()
    for k in range(1, len(spellings)):
        chosen = which == k
        out[chosen] = spellings[k].to_numpy(dtype=object)[chosen]
    return np.asarray(out)


def _amounts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Dollar amounts in five spellings, from a pool of typical gift sizes."""
    dollars = rng.choice([5, 10, 20, 25, 50, 75, 100, 150, 250, 500, 1000, 2500], n)
    dollars = dollars + np.where(rng.random(n) < 0.2, rng.integers(0, 500, n), 0)
    cents = np.where(rng.random(n) < 0.15, rng.choice([50, 99, 25], n), 0)
    whole = pd.Series(dollars).astype(str)
    grouped = pd.Series(dollars).map("{:,}".format)
    frac = _zfill(cents, 2)
    spellings = [
        whole + "." + frac,
        "$" + grouped + "." + frac,
        whole,
        "$" + whole,
        grouped + "." + frac.str.rstrip("0").replace("", "0"),
    ]
    which = rng.integers(0, len(spellings), n)
    out = spellings[0].to_numpy(dtype=object).copy()
    for k in range(1, len(spellings)):
        chosen = which == k
        out[chosen] = spellings[k].to_numpy(dtype=object)[chosen]
    return out


def block(rows: int, start: int, donors: int, seed: int) -> pd.DataFrame:
    """Rows [start, start + rows) of the export."""
    rng = np.random.default_rng([seed, start])
    n = rows
    # Repeat donors: low donor numbers give far more often (a squared uniform).
    donor = (donors * rng.random(n) ** 2).astype(np.int64)
    first = np.asarray(FIRST, dtype=object)[donor % len(FIRST)]
    last = np.asarray(LAST, dtype=object)[(donor // len(FIRST)) % len(LAST)]
    number = pd.Series(donor).astype(str).to_numpy(dtype=object)
    # Addresses are ASCII even when names are not (Zoë Müller -> zoe.muller).
    local = (
        (pd.Series(first) + "." + pd.Series(last).str.replace("'", ""))
        .str.lower()
        .str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
    ).to_numpy(dtype=object)
    email = local + number + "@example.org"
    shout = rng.random(n) < 0.05
    email[shout] = pd.Series(email[shout]).str.upper().to_numpy(dtype=object)
    padded = rng.random(n) < 0.05
    email[padded] = " " + email[padded] + " "
    no_email = donor % 20 == 7  # these donors are known by name and address only
    email[no_email] = ""
    invalid = (donor % 97 == 3) & ~no_email  # a warning: cleared, the row is still accepted
    email[invalid] = "not-an-email"
    donor_id = np.where(donor % 5 < 3, "D-" + number, "")

    place = donor % len(PLACES)
    city = np.asarray([p[0] for p in PLACES], dtype=object)[place]
    state = np.empty(n, dtype=object)
    for k, (_, spellings, _) in enumerate(PLACES):
        chosen = place == k
        state[chosen] = _pick(rng, spellings, int(chosen.sum()))
    zip_code = np.asarray([p[2] for p in PLACES], dtype=object)[place]
    street = np.asarray(STREETS, dtype=object)[donor % len(STREETS)]
    address = pd.Series(donor % 9000 + 10).astype(str).to_numpy(dtype=object) + " " + street
    phone = "615-555-" + _zfill(donor % 10_000, 4).to_numpy(dtype=object)
    phone[donor % 3 == 0] = ""

    gift_number = pd.Series(np.arange(start, start + n) + 4_100_000).astype(str)
    gift_id = np.where(rng.random(n) < 0.7, "G-" + gift_number.to_numpy(dtype=object), "")
    amount = _amounts(rng, n)
    gift_date = _dates(rng, n)
    # exact repeats without ids: the same donor giving the same amount at the same time
    repeat = (rng.random(n) < 0.005) & (gift_id == "")
    repeat[0] = False
    gift_date[repeat] = gift_date[np.flatnonzero(repeat) - 1]
    amount[repeat] = amount[np.flatnonzero(repeat) - 1]
    donor_id[repeat] = donor_id[np.flatnonzero(repeat) - 1]
    email[repeat] = email[np.flatnonzero(repeat) - 1]

    note = np.full(n, "", dtype=object)
    noted = rng.random(n) < 0.03
    note[noted] = _pick(rng, NOTES, int(noted.sum()))

    frame = pd.DataFrame(
        {
            "donor_id": donor_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
            "address": address,
            "city": city,
            "state": state,
            "zip": zip_code,
            "country": _pick(rng, COUNTRIES, n),
            "gift_id": gift_id,
            "amount": amount,
            "currency": _pick(rng, ["USD", "usd", "Usd", ""], n),
            "gift_date": gift_date,
            "campaign": _pick(rng, CAMPAIGNS, n),
            "fund": _pick(rng, FUNDS, n),
            "payment_type": _pick(rng, PAYMENT_TYPES, n),
            "acknowledged": _pick(rng, TRUE_FALSE, n),
            "refunded": _pick(rng, TRUE_FALSE, n),
            "tax_deductible": _pick(rng, TRUE_FALSE, n),
            "note": note,
            "status": _pick(rng, ["success", "success", "success", "refunded"], n),
        },
        columns=COLUMNS,
    )
    _spoil(frame, rng)
    return frame


def _spoil(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """Make about BAD_SHARE of the rows invalid, each in one of four ways."""
    n = len(frame)
    bad = np.flatnonzero(rng.random(n) < BAD_SHARE)
    how = rng.integers(0, 4, len(bad))
    amounts = bad[how == 0]
    frame.loc[amounts, "amount"] = _pick(rng, BAD_AMOUNTS, len(amounts))
    dates = bad[how == 1]
    frame.loc[dates, "gift_date"] = _pick(rng, BAD_DATES, len(dates))
    nameless = bad[how == 2]
    frame.loc[nameless, "last_name"] = ""
    long_names = bad[how == 3]
    frame.loc[long_names, "first_name"] = "X" * 300


def write(rows: int, out: Path, *, seed: int = 7, donors: int | None = None) -> Path:
    """Write an export of `rows` rows to `out` (plain CSV), block by block."""
    donors = donors or max(1_000, rows // 3)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        for start in range(0, rows, BLOCK_ROWS):
            frame = block(min(BLOCK_ROWS, rows - start), start, donors, seed)
            frame.index = pd.RangeIndex(start, start + len(frame))
            frame.to_csv(handle, index=False, header=start == 0, lineterminator="\n")
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

"""Write the synthetic, deliberately messy exports in `data_samples/` (and their README).

The samples exercise the reader and the normalizers the way real exports do: a BOM, a
semicolon-delimited Windows-1252 file, JSON lines, a real spreadsheet, and Classy, Stripe and
PayPal exports with their mappings (Stripe's and PayPal's are the shipped presets, copied).
Every person, address and email is invented (example.org / example.com, 555-01xx phone
numbers). Output is byte-for-byte deterministic (seeded RNG, fixed zip timestamps), so
re-running the script after a change shows a reviewable diff.

Usage: python scripts/make_samples.py [OUT_DIR]   (default: data_samples/ beside scripts/)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import sys
import zipfile
import zoneinfo
from collections.abc import Callable, Sequence
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240301
UTC = dt.UTC
EASTERN = dt.timezone(dt.timedelta(hours=-5))
CENTRAL = dt.timezone(dt.timedelta(hours=-6))
ZIP_TIME = (2024, 3, 1, 0, 0, 0)

FIRST = [
    "Ada", "Grace", "Alan", "Katherine", "Linus", "Barbara", "Edsger", "Margaret", "Dennis",
    "Frances", "Radia", "Hedy", "Claude", "Annie", "Evelyn", "Mary", "Tim", "Ken",
]  # fmt: skip
LAST = [
    "Example", "Sample", "Specimen", "Tester", "Placeholder", "Demo", "Fixture", "Mockley",
    "Stubbs", "Dummy",
]  # fmt: skip
# (city, state spellings to cycle through, postal prefix, country spellings)
US_PLACES = [
    ("Nashville", ["Tennessee", "TN", "tn"], "372"),
    ("Brooklyn", ["New York", "NY", "new york"], "112"),
    ("Austin", ["Texas", "tx", "TX"], "787"),
    ("Portland", ["oregon", "OR", "Or"], "972"),
    ("Columbus", ["OHIO", "oh", "Ohio"], "432"),
    ("Denver", ["Colorado", "CO", "co"], "802"),
]
US_COUNTRIES = ["USA", "U.S.", "United States of America", "United States", "us", ""]
STREETS = ["Example St", "Sample Ave", "Placeholder Rd", "Specimen Blvd", "Demo Ln"]


def _rng(name: str) -> random.Random:
    """One RNG per file, so editing one sample never reshuffles the others."""
    return random.Random(f"{SEED}:{name}")


def _when(rng: random.Random, start_year: int = 2015, end_year: int = 2023) -> dt.datetime:
    start = dt.datetime(start_year, 1, 1, tzinfo=UTC)
    span = dt.datetime(end_year, 12, 31, tzinfo=UTC) - start
    return start + dt.timedelta(seconds=rng.randrange(int(span.total_seconds())))


def _stamp(moment: dt.datetime, style: int) -> str:
    """The timestamp spellings Kindful exports meet in the wild."""
    style %= 5
    if style == 0:
        return str(int(moment.timestamp()))  # unix seconds
    if style == 1:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if style == 2:
        return moment.astimezone(EASTERN).isoformat()  # ISO 8601 with an offset
    if style == 3:  # US spreadsheet style, no zone (= the run's source timezone)
        local = moment.astimezone(UTC)
        hour = local.hour % 12 or 12
        ampm = "AM" if local.hour < 12 else "PM"
        return f"{local.month}/{local.day}/{local.year} {hour}:{local.minute:02d} {ampm}"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _birthday(day: dt.date, style: int) -> str:
    style %= 4
    if style == 0:
        return day.strftime("%Y/%m/%d")
    if style == 1:
        return day.strftime("%m/%d/%Y")
    if style == 2:
        return day.isoformat()
    return f"{day.month}-{day.day}-{day.year}"  # mm-dd-yyyy without leading zeros


def _email(first: str, last: str, n: int, domain: str = "example.org") -> str:
    return f"{first.lower()}.{last.lower()}{n}@{domain}"


def _csv_text(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    sep: str,
    eol: str,
    *,
    quote_all: bool = False,
) -> str:
    buffer = io.StringIO()
    if quote_all:
        writer = csv.writer(buffer, delimiter=sep, lineterminator=eol, quoting=csv.QUOTE_ALL)
    else:
        writer = csv.writer(buffer, delimiter=sep, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# contacts.csv
# --------------------------------------------------------------------------------------------

CONTACT_COLUMNS = [
    "id", "first_name", "last_name", "company_name", "email", "addr1", "addr2", "city",
    "state", "postal", "country", "birthday", "gender", "primary_phone", "created_at",
    "updated_at", "email_opt_in", "retired_or_not_employed",
]  # fmt: skip
CONTACTS_NO_NAME = 6  # 1-based source rows of the planted problems
CONTACTS_COMPANY_ONLY = 9
CONTACTS_BAD_EMAIL = 12
CONTACTS_LONG_NAME = 19
CONTACTS_ROWS = 24


def contacts() -> bytes:
    """Format `contact`: UTF-8 with a BOM, CRLF, every column spelled several ways."""
    rng = _rng("contacts")
    genders = ["Male", "f", "U", "F", "M", "", "female", "m"]
    opt_in = ["Y", "N", "yes", "1", "TRUE", "", "no", "0", "false"]
    retired = ["No", "TRUE", "", "0", "Yes", "N"]
    phones = ["(615) 555-01{:02d}", "615-555-01{:02d}", "61555501{:02d}", ""]
    rows: list[list[str]] = []
    for n in range(1, CONTACTS_ROWS + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, states, prefix = US_PLACES[n % len(US_PLACES)]
        created = _when(rng)
        updated = created + dt.timedelta(days=rng.randrange(1, 900), seconds=rng.randrange(86400))
        row = {
            "id": f"C-{1000 + n}",
            "first_name": first,
            "last_name": last,
            "company_name": "",
            "email": _email(first, last, n),
            "addr1": f"{rng.randrange(10, 9999)} {rng.choice(STREETS)}",
            "addr2": "Apt 2B" if n % 5 == 0 else "",
            "city": city,
            "state": states[n % len(states)],
            "postal": f"{prefix}{rng.randrange(0, 100):02d}",
            "country": US_COUNTRIES[n % len(US_COUNTRIES)],
            "birthday": _birthday(dt.date(1940 + rng.randrange(60), 1 + n % 12, 1 + n % 28), n)
            if n % 6
            else "",
            "gender": genders[n % len(genders)],
            "primary_phone": phones[n % len(phones)].format(n),
            "created_at": _stamp(created, n),
            "updated_at": _stamp(updated, n + 2),
            "email_opt_in": opt_in[n % len(opt_in)],
            "retired_or_not_employed": retired[n % len(retired)],
        }
        if n == 3:
            row["email"] = f"  {row['email'].upper()} "  # padded, upper case: cleaned, not bad
        if n == 4:
            row.update(city="London", state="", postal="SW1A 1AA", country="UK")
        if n == 14:
            row.update(city="Toronto", state="ON", postal="M5V 2T6", country="ca")
        if n == 7:
            row.update(first_name=f"  {first} ", last_name=last.upper())
        if n == CONTACTS_NO_NAME:
            row.update(first_name="", last_name="", company_name="")
        if n == CONTACTS_COMPANY_ONLY:
            row.update(
                first_name="",
                last_name="",
                company_name="Example Community Foundation",
                email="grants@example.org",
                gender="",
                birthday="",
            )
        if n == 15:  # organization with a primary contact name
            row.update(company_name="Sample Hardware & Co.")
        if n == CONTACTS_BAD_EMAIL:
            row["email"] = "not-an-email"
        if n == CONTACTS_LONG_NAME:  # a note pasted into the name cell
            row["first_name"] = ("Please call before visiting; prefers mornings. " * 7).strip()
        rows.append([row[c] for c in CONTACT_COLUMNS])
    return b"\xef\xbb\xbf" + _csv_text(CONTACT_COLUMNS, rows, ",", "\r\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# contact_with_transaction.csv
# --------------------------------------------------------------------------------------------

TRANSACTION_COLUMNS = [
    "id", "first_name", "last_name", "email", "addr1", "city", "state", "postal", "country",
    "transaction_id", "amount_in_cents", "currency", "transaction_time", "campaign", "fund",
    "transaction_type", "was_refunded", "acknowledged", "is_donation", "transaction_note",
]  # fmt: skip
TX_BAD_FRACTION = 5
TX_BAD_ZERO = 11
TX_BAD_TIME = 16
TX_ROWS = 20
TX_DONORS = [
    ("José", "Example"),
    ("Zoë", "Sample"),
    ("Seán", "O’Placeholder"),
    ("Ada", "Tester"),
    ("Grace", "Demo"),
    ("Renée", "Fixture"),
    ("Linus", "Stubbs"),
]


def transaction_amounts() -> dict[str, int]:
    """transaction_id -> amount in cents of every valid transaction (splits must add up)."""
    return {tx_id: cents for tx_id, cents, _ in _transactions() if cents is not None}


def _transactions() -> list[tuple[str, int | None, list[str]]]:
    rng = _rng("contact_with_transaction")
    currencies = ["USD", "usd", "", "Usd"]
    campaigns = ["Spring Gala", "Year-End Appeal", "", "Gala; Silent Auction"]
    funds = ["General", "", "Scholarships", "Building Fund", ""]
    types = ["cash", "Check", "CREDIT", "", "credit", "check"]
    refunded = ["N", "0", "false", "", "no", "Y"]
    acknowledged = ["1", "0", "TRUE", "no", "", "yes"]
    donation = ["Y", "yes", "", "1", "TRUE"]
    out: list[tuple[str, int | None, list[str]]] = []
    for n in range(1, TX_ROWS + 1):
        donor = (n * 3) % len(TX_DONORS)  # donors give more than once
        first, last = TX_DONORS[donor]
        city, states, prefix = US_PLACES[donor % len(US_PLACES)]
        cents: int | None = rng.choice([2500, 5000, 10000, 7500, 25000, 1000, 15000])
        amount = str(cents)
        if n == 8:
            amount = f"{cents}.0"  # spreadsheet float: still whole cents
        if n == TX_BAD_FRACTION:
            amount, cents = "50.5", None
        if n == TX_BAD_ZERO:
            amount, cents = "0", None
        when = _when(rng, 2022, 2024)
        time = "not a date" if n == TX_BAD_TIME else _stamp(when, n)
        if n == TX_BAD_TIME:
            cents = None
        note = ""
        if n == 2:
            note = "Donor’s note: “in memory of Grandma”; no receipt needed"
        if n == 9:
            note = "Check #1042\r\nreceived at the gala"
        tx_id = f"T-{3000 + n}"
        row = [
            f"D-{500 + donor}",
            first,
            last,
            _email(_ascii(first), _ascii(last), donor, "example.com"),
            f"{10 + donor * 7} {STREETS[donor % len(STREETS)]}",
            city,
            states[n % len(states)],
            f"{prefix}{donor:02d}",
            US_COUNTRIES[n % 4],
            tx_id,
            amount,
            currencies[n % len(currencies)],
            time,
            campaigns[n % len(campaigns)],
            funds[n % len(funds)],
            types[n % len(types)],
            refunded[n % len(refunded)],
            acknowledged[n % len(acknowledged)],
            donation[n % len(donation)],
            note,
        ]
        out.append((tx_id, cents, row))
    return out


def _ascii(text: str) -> str:
    """Email-safe spelling of an accented name."""
    table = str.maketrans({"é": "e", "ë": "e", "á": "a", "’": ""})
    return text.translate(table).replace("'", "")


def contact_with_transaction() -> bytes:
    """Format `contact_with_transaction` as European Excel saves it: `;`, cp1252, CRLF."""
    rows = [row for _, _, row in _transactions()]
    return _csv_text(TRANSACTION_COLUMNS, rows, ";", "\r\n").encode("cp1252")


# --------------------------------------------------------------------------------------------
# split_transaction.csv
# --------------------------------------------------------------------------------------------

SPLIT_COLUMNS = [
    "id", "transaction_id", "unit_amount_in_cents", "quantity", "campaign", "campaign_id",
    "fund", "fund_id", "deleted_at",
]  # fmt: skip
SPLIT_BAD_NEGATIVE = 9


def split_transaction() -> bytes:
    """Format `split_transaction`: splits of the transactions above that add up to each total."""
    amounts = transaction_amounts()
    rows: list[list[str]] = []
    campaigns = [("Spring Gala", "camp-01"), ("Year-End Appeal", "camp-02"), ("", "")]
    funds = [("General", "1"), ("Scholarships", "fund-07"), ("", ""), ("Building Fund", "")]
    for tx_id in list(amounts)[:8]:
        total = amounts[tx_id]
        first_part = total // 2 - (total // 2) % 100
        rest = total - first_part
        parts = [(first_part, 1), (rest // 2, 2)] if rest % 2 == 0 else [(first_part, 1), (rest, 1)]
        for k, (unit, quantity) in enumerate(parts, start=1):
            campaign, campaign_id = campaigns[(len(rows) + k) % len(campaigns)]
            fund, fund_id = funds[len(rows) % len(funds)]
            rows.append(
                [
                    f"{tx_id}:{k}",
                    tx_id,
                    str(unit),
                    "" if quantity == 1 and len(rows) % 3 == 0 else str(quantity),
                    campaign,
                    campaign_id,
                    fund,
                    fund_id,
                    "",
                ]
            )
    rows[3][8] = "2016-10-13T18:56:12+00:00"  # a soft-deleted split (ISO)
    rows[12][8] = "1476384972"  # another, as unix seconds
    rows[5][3] = f" {rows[5][3]} "  # a padded quantity
    rows[6][4], rows[6][6] = "spring gala", "general"  # names in the wrong case
    rows.insert(
        SPLIT_BAD_NEGATIVE - 1,
        ["T-3001:9", "T-3001", "-100", "1", "Spring Gala", "camp-01", "General", "1", ""],
    )
    return _csv_text(SPLIT_COLUMNS, rows, ",", "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# contact_with_note.jsonl
# --------------------------------------------------------------------------------------------

NOTE_MISSING_TIME = 9
NOTE_ROWS = 15


def contact_with_note() -> bytes:
    """Format `contact_with_note` as JSON lines: mixed value types, nested values, mixed case."""
    rng = _rng("contact_with_note")
    types = ["sent email", "Call", "MEETING", "received letter", None, "Visit To", "general"]
    lines: list[str] = []
    for n in range(1, NOTE_ROWS + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        when = _when(rng, 2021, 2024)
        record: dict[str, object] = {
            "id": 2000 + n if n % 2 else f"N-{2000 + n}",  # numbers and strings mixed
            "first_name": first,
            "last_name": last,
            "email": _email(first, last, n, "example.com") if n % 4 else None,
            "note_id": f"note-{n:03d}",
            "note_subject": rng.choice(["Thank-you call", "Gala follow-up", "Address change"]),
            "note_body": f"Spoke with {first} about the {rng.choice(['gala', 'appeal'])}.",
            "note_time": int(when.timestamp()) if n % 3 == 0 else _stamp(when, n),
            "tags": ["donor", "volunteer"] if n % 5 == 0 else [],
            "details": {"channel": "phone", "minutes": 12.5} if n == 4 else None,
        }
        note_type = types[n % len(types)]
        if note_type is not None:
            record["note_type"] = note_type
        if n == 6:
            record["note_body"] = "Left a voicemail.\nWill try again on Friday."
        if n == 10:
            record["note_sender_name"] = "Evelyn Placeholder"
            record["note_sender_email"] = "evelyn.placeholder@example.org"
        if n == NOTE_MISSING_TIME:
            del record["note_time"]
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# spreadsheet_contacts.xlsx
# --------------------------------------------------------------------------------------------

SHEET_ROWS = 18


def spreadsheet_contacts() -> bytes:
    """Format `contact` kept in Excel: real datetime cells, numeric postal codes and phones."""
    rng = _rng("spreadsheet_contacts")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Donors"
    header = [
        "id", "first_name", "last_name", " email ", "addr1", "city", "state", "postal",
        "country", "birthday", "gender", "primary_phone", "created_at", "email_opt_in",
    ]  # fmt: skip
    sheet.append(header)
    for n in range(1, SHEET_ROWS + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, states, prefix = US_PLACES[n % len(US_PLACES)]
        created = _when(rng, 2018, 2024).replace(tzinfo=None)
        birthday = dt.datetime(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + n)
        sheet.append(
            [
                4000 + n,  # an integer id cell
                first,
                last,
                _email(first, last, n),
                f"{rng.randrange(10, 999)} {rng.choice(STREETS)}",
                city,
                states[n % len(states)],
                int(f"{prefix}{rng.randrange(10, 100)}"),  # numeric ZIP code
                "United States" if n % 3 else "USA",
                birthday if n % 4 else None,
                ["F", "M", "U", "Female"][n % 4],
                float(f"615555{n:04d}") if n % 2 else int(f"615555{n:04d}"),  # 6155550001.0
                created,
                n % 3 != 0,  # a real boolean cell
            ]
        )
    notes = workbook.create_sheet("Notes")
    notes.append(["Exported from the donor spreadsheet; first sheet holds the contacts."])
    workbook.properties.creator = "kindful-etl make_samples"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _deterministic_zip(buffer.getvalue())


def _deterministic_zip(data: bytes) -> bytes:
    """Re-pack an xlsx with fixed timestamps so the committed file only changes with content."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    fixed = "2024-03-01T00:00:00Z"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                    rb"\g<1>" + fixed.encode() + rb"\g<2>",
                    content,
                )
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, content)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# classy_transactions.csv and its mapping
# --------------------------------------------------------------------------------------------

CLASSY_COLUMNS = [
    "id", "supporter_id", "billing_first_name", "billing_last_name", "member_email_address",
    "member_phone", "billing_address1", "billing_address2", "billing_city", "billing_state",
    "billing_postal_code", "billing_country", "total_gross_amount", "currency_code",
    "purchased_at", "updated_at", "campaign_id", "designation_id", "fundraising_team_id",
    "status",
]  # fmt: skip
CLASSY_BAD_AMOUNT = 8
CLASSY_NO_NAME = 17
CLASSY_ROWS = 25


def classy_transactions() -> bytes:
    """A Classy transactions export: dollar amounts in several spellings, offset timestamps."""
    rng = _rng("classy_transactions")
    amounts = ["25.00", "$1,000.00", "100", "50", "250.50", "$75", "10.00", "1,500.00"]
    supporters: list[tuple[str, str, str]] = []
    rows: list[list[str]] = []
    for n in range(1, CLASSY_ROWS + 1):
        if supporters and n % 6 == 0:
            supporter_id, first, last = supporters[n % len(supporters)]  # a repeat donor
        else:
            supporter_id = str(8_800_100 + n)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            supporters.append((supporter_id, first, last))
        city, states, prefix = US_PLACES[n % len(US_PLACES)]
        purchased = _when(rng, 2024, 2024).astimezone(EASTERN if n % 3 else CENTRAL)
        updated = purchased + dt.timedelta(minutes=rng.randrange(1, 3000))
        row = [
            str(41_230_000 + n),
            supporter_id,
            first,
            last,
            _email(first, last, int(supporter_id) % 1000, "example.com"),
            f"615-555-01{n:02d}" if n % 4 else "",
            f"{rng.randrange(10, 9999)} {rng.choice(STREETS)}",
            "Suite 100" if n % 7 == 0 else "",
            city,
            states[0] if n % 2 else states[1],
            f"{prefix}{rng.randrange(10, 100)}",
            "US" if n % 5 else "USA",
            amounts[n % len(amounts)],
            "USD",
            purchased.isoformat(),
            updated.isoformat(),
            str(512_300 + n % 3),
            str(98_760 + n % 4),
            "77001" if n % 5 == 0 else "",
            "success" if n % 9 else "refunded",
        ]
        if n == CLASSY_BAD_AMOUNT:
            row[12] = "12.345"
        if n == CLASSY_NO_NAME:
            row[2] = row[3] = ""
        rows.append(row)
    return _csv_text(CLASSY_COLUMNS, rows, ",", "\n").encode("utf-8")


CLASSY_MAPPING = """\
# Classy transactions export -> Kindful contact_with_transaction.
data_format: contact_with_transaction
source_system: classy            # names the source for deterministic ids
action: update                   # Classy sends updated_at, so re-imports update in place
match_by: {contact: external_id, transaction: external_id}
source_timezone: UTC             # Classy timestamps carry their own offset anyway
day_first: false
columns:
  supporter_id: id
  id: transaction_id
  billing_first_name: first_name
  billing_last_name: last_name
  member_email_address: email
  member_phone: primary_phone
  billing_address1: addr1
  billing_address2: addr2
  billing_city: city
  billing_state: state
  billing_postal_code: postal
  billing_country: country
  total_gross_amount: {to: amount_in_cents, unit: dollars}
  currency_code: currency
  purchased_at: transaction_time
  updated_at: transaction_updated_at
  campaign_id: campaign_id
  designation_id: fund_id
  fundraising_team_id: team_id
  # status (success/refunded) has no Kindful column: it is reported as ignored.
constants:
  campaign: Classy
custom_fields: []
"""


# --------------------------------------------------------------------------------------------
# stripe_payments.csv and paypal_activity.csv (their mappings are the shipped presets)
# --------------------------------------------------------------------------------------------

PRESETS = ROOT / "pipelines" / "mapping" / "presets"
PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")

STRIPE_COLUMNS = [
    "id", "Description", "Created (UTC)", "Amount", "Amount Refunded", "Currency",
    "Converted Amount", "Fee", "Status", "Customer ID", "Customer Email", "Card Name",
    "Card Brand", "Card Last4", "Card Address Line1", "Card Address Line2", "Card Address City",
    "Card Address State", "Card Address Zip", "Card Address Country",
]  # fmt: skip
STRIPE_FAILED = (6, 13)  # Status "Failed" / "failed": skipped ("payment failed")
STRIPE_FAILED_NO_NAME = 13  # ... with a blank Card Name: the skip is its only reason
STRIPE_REFUNDED = 9  # Status "Refunded", Amount Refunded = Amount: imported, was_refunded true
STRIPE_PARTIAL_REFUND = 17  # Status "Paid", Amount Refunded 10.00: imported, was_refunded true
STRIPE_INVERTED_NAME = 4  # Card Name "Last, First"
STRIPE_SUFFIX_NAME = 11  # Card Name "First Last Jr."
STRIPE_NO_NAME = 20  # blank Card Name, no company: rejected by the contact name rule
STRIPE_ZERO = 22  # Amount 0.00 (a card check): rejected, amount must be > 0
STRIPE_ROWS = 25


def stripe_payments() -> bytes:
    """A Stripe payments export: failed charges, refunds, full names on the card, UTC times."""
    rng = _rng("stripe_payments")
    amounts = ["25.00", "100.00", "50.00", "1000.00", "250.00", "35.50", "10.00"]
    brands = ["Visa", "MasterCard", "American Express", "Discover"]
    rows: list[list[str]] = []
    for n in range(1, STRIPE_ROWS + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, states, prefix = US_PLACES[n % len(US_PLACES)]
        created = _when(rng, 2024, 2024)
        amount = amounts[n % len(amounts)]
        status, refunded = "Paid", "0.00"
        if n in STRIPE_FAILED:
            status = "Failed" if n == STRIPE_FAILED[0] else "failed"
        if n == STRIPE_REFUNDED:
            status, refunded = "Refunded", amount
        if n == STRIPE_PARTIAL_REFUND:
            refunded = "10.00"
        name = f"{first} {last}"
        if n == STRIPE_INVERTED_NAME:
            name = f"{last}, {first}"
        if n == STRIPE_SUFFIX_NAME:
            name = f"{first} {last} Jr."
        if n in (STRIPE_NO_NAME, STRIPE_FAILED_NO_NAME):
            name = ""
        if n == STRIPE_ZERO:
            amount = "0.00"
        cents = int(amount.replace(".", ""))
        fee = "0.00" if status.lower() == "failed" else f"{(cents * 29 // 1000 + 30) / 100:.2f}"
        rows.append(
            [
                f"ch_3Ox{n:04d}SampleCharge{rng.randrange(10**6):06d}",
                "Spring appeal donation" if n % 3 else "Monthly gift",
                created.strftime("%Y-%m-%d %H:%M:%S"),
                amount,
                refunded,
                "usd",
                amount,
                fee,
                status,
                f"cus_Sample{n:04d}" if n % 4 else "",  # guests have no customer
                _email(first, last, n, "example.com"),
                name,
                brands[n % len(brands)],
                f"{4000 + n:04d}",
                f"{rng.randrange(10, 9999)} {rng.choice(STREETS)}",
                "Apt 4" if n % 8 == 0 else "",
                city,
                states[1],
                f"{prefix}{rng.randrange(10, 100)}",
                "US",
            ]
        )
    return _csv_text(STRIPE_COLUMNS, rows, ",", "\n").encode("utf-8")


PAYPAL_COLUMNS = [
    "Date", "Time", "Time zone", "Name", "Type", "Status", "Currency", "Gross", "Fee", "Net",
    "From Email Address", "To Email Address", "Transaction ID", "Address Line 1",
    "Address Line 2/District/Neighborhood", "Town/City",
    "State/Province/Region/County/Territory/Prefecture/Republic", "Zip/Postal Code", "Country",
    "Contact Phone Number", "Item Title", "Reference Txn ID", "Note", "Balance",
]  # fmt: skip
PAYPAL_REFUND = 7  # Type "Payment Refund", Gross -25.00: skipped (refund of an earlier payment)
PAYPAL_REFUNDED = 2  # ... the payment that refund names: imported as it stands
PAYPAL_CONVERSION = (12, 13)  # "General Currency Conversion": skipped (not a payment received)
PAYPAL_PENDING = 15  # Status "Pending": skipped (not completed yet)
PAYPAL_DENIED = 18  # Status "Denied": skipped (denied or failed)
PAYPAL_ONE_NAME = 21  # Name "Cher": no last name, rejected by the contact name rule
PAYPAL_SUFFIX_NAME = 9  # Name "First Last Jr."
PAYPAL_ROWS = 25
PAYPAL_START = dt.datetime(2023, 12, 20, 8, tzinfo=UTC)


def paypal_activity() -> bytes:
    """A PayPal activity download: local date/time/zone columns, refunds and bookkeeping rows."""
    rng = _rng("paypal_activity")
    grosses = ["25.00", "100.00", "1,000.00", "50.00", "250.00", "1,500.00", "20.00"]
    types = ["Donation Payment", "Donation Payment", "Website Payment", "Subscription Payment"]
    rows: list[list[str]] = []
    balance = 0
    ids: list[str] = []
    for n in range(1, PAYPAL_ROWS + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, states, prefix = US_PLACES[n % len(US_PLACES)]
        # in date order, as PayPal lists them; 2024's DST changes fall between rows
        moment = PAYPAL_START + dt.timedelta(days=13 * n, seconds=rng.randrange(86_400))
        local = moment.astimezone(PACIFIC)
        gross = grosses[n % len(grosses)]
        kind, status, name = types[n % len(types)], "Completed", f"{first} {last}"
        email, reference, note = _email(first, last, n, "example.com"), "", ""
        tx_id = f"{rng.randrange(16**8):08X}{n:02d}SAMPLE{rng.randrange(100):02d}"
        if n == PAYPAL_REFUND:
            kind, gross, reference = "Payment Refund", "-25.00", ids[PAYPAL_REFUNDED - 1]
            name, email = rows[PAYPAL_REFUNDED - 1][3], rows[PAYPAL_REFUNDED - 1][10]
            gross = "-" + rows[PAYPAL_REFUNDED - 1][7]
        if n in PAYPAL_CONVERSION:
            kind, name, email = "General Currency Conversion", "", ""
            gross = "-23.10" if n == PAYPAL_CONVERSION[0] else "25.00"
        if n == PAYPAL_PENDING:
            status = "Pending"
        if n == PAYPAL_DENIED:
            status = "Denied"
        if n == PAYPAL_ONE_NAME:
            name = "Cher"
        if n == PAYPAL_SUFFIX_NAME:
            name = f"{first} {last} Jr."
        if n % 5 == 0:
            note = "In honor of my mother, for the scholarship fund"
        cents = int(gross.replace(",", "").replace(".", ""))
        is_gift = kind not in ("General Currency Conversion", "Payment Refund")
        fee_cents = -(abs(cents) * 22 // 1000 + 49) if is_gift else 0
        if kind == "Payment Refund":
            fee_cents = 0
        net = cents + fee_cents
        if status == "Completed":
            balance += net
        rows.append(
            [
                local.strftime("%m/%d/%Y"),
                local.strftime("%H:%M:%S"),
                str(local.tzname()),
                name,
                kind,
                status,
                "USD",
                gross,
                _paypal_money(fee_cents),
                _paypal_money(net),
                email,
                "donations@example.org" if kind != "General Currency Conversion" else "",
                tx_id,
                f"{rng.randrange(10, 9999)} {rng.choice(STREETS)}" if name else "",
                "Unit 3" if name and n % 6 == 0 else "",
                city if name else "",
                states[0] if name else "",
                f"{prefix}{rng.randrange(10, 100)}" if name else "",
                "United States" if name else "",
                f"615-555-01{n:02d}" if name and n % 3 else "",
                "Donation" if is_gift else "",
                reference,
                note,
                _paypal_money(balance),
            ]
        )
        ids.append(tx_id)
    text = _csv_text(PAYPAL_COLUMNS, rows, ",", "\r\n", quote_all=True)
    return b"\xef\xbb\xbf" + text.encode("utf-8")


def _paypal_money(cents: int) -> str:
    """PayPal's spelling: "1,234.56", "-5.00"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def _preset(name: str) -> Callable[[], bytes]:
    """A sample's mapping is the shipped preset, byte for byte."""
    return (PRESETS / f"{name}.yaml").read_bytes


# --------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------


def readme() -> bytes:
    """One line per file; row numbers are `source_row` (1-based data records, header excluded)."""
    lines = [
        "# data_samples",
        "",
        "Synthetic, deliberately messy exports (invented people; example.org/example.com). "
        "Generated by `python scripts/make_samples.py`: edit the script, not these files. "
        "Row numbers are `source_row`: 1-based data records, header not counted.",
        "",
        "| file | format | what is messy | bad rows (why rejected) |",
        "| --- | --- | --- | --- |",
        "| `contacts.csv` | contact | UTF-8 with BOM, CRLF; birthdays as 1985/07/29, "
        "07/29/1985, 1985-07-29, 7-29-1985; states as names and codes in mixed case; countries "
        "USA, U.S., United States of America, UK, ca, us; booleans Y/N/yes/1/TRUE/0/false; "
        "genders Male/f/U/female; created_at/updated_at as unix seconds, `... UTC`, ISO with "
        "offset, `10/13/2015 6:56 PM`, ISO Z; padded upper-case email (row 3); company-only "
        f"contact (row {CONTACTS_COMPANY_ONLY}); organization with a contact name (row 15) | "
        f"row {CONTACTS_NO_NAME}: no first_name/last_name and no company_name; "
        f"row {CONTACTS_LONG_NAME}: first_name longer than 255 characters; "
        f"row {CONTACTS_BAD_EMAIL}: email `not-an-email` is only a warning (email cleared, "
        "row accepted) |",
        "| `contact_with_transaction.csv` | contact_with_transaction | `;`-delimited, "
        "Windows-1252 (José, Zoë, Renée, O’Placeholder with a 0x92 apostrophe, smart quotes), "
        "CRLF; quoted `;` in campaign and note, quoted line break in a note; currency "
        "USD/usd/Usd/blank; an amount with a float `.0` suffix (row 8, fine); blank funds "
        "(defaulted to General, with a warning); transaction_type cash/Check/CREDIT; booleans "
        "N/0/false/no/Y/1/TRUE/yes; repeat donors | "
        f"row {TX_BAD_FRACTION}: amount_in_cents `50.5` is not whole cents; "
        f"row {TX_BAD_ZERO}: amount_in_cents `0` (must be > 0); "
        f"row {TX_BAD_TIME}: transaction_time `not a date` |",
        "| `split_transaction.csv` | split_transaction | splits of the transactions above that "
        "add up to each total; ids `T-3001:1`; blank quantity (defaults to 1) and ` 2 `; blank "
        "campaign and fund (fund defaulted to General); lower-case names; deleted_at as ISO "
        "and as unix seconds | "
        f"row {SPLIT_BAD_NEGATIVE}: unit_amount_in_cents `-100` (must be > 0) |",
        "| `contact_with_note.jsonl` | contact_with_note | JSON lines; id as number or string; "
        "note_type in mixed case (`sent email`, `Call`, `MEETING`) or absent (General); "
        "note_time as unix integer or string; a note_body with an embedded newline (row 6); "
        "null email; nested `tags`/`details` (ignored); keys first seen on row 10; trailing "
        "blank line | "
        f"row {NOTE_MISSING_TIME}: note_time missing (required) |",
        "| `spreadsheet_contacts.xlsx` | contact | real Excel datetime cells for created_at and "
        "birthday (read as `1985-07-29T00:00:00`); postal and phone as numbers (some phones "
        "stored as floats like 6155550001.0); boolean cells for email_opt_in; integer ids; "
        "header ` email ` padded; blank birthdays; a second sheet (Notes) that is not read | "
        "none |",
        "| `classy_transactions.csv` | Classy export, mapped by "
        "`classy_transactions.mapping.yaml` to contact_with_transaction | amounts in dollars as "
        "`25.00`, `$1,000.00`, `100`, `$75`, `1,500.00`; purchased_at/updated_at with -05:00 "
        "and -06:00 offsets; billing_state as names and codes; country US/USA; repeat "
        "supporters; `status` has no Kindful column (ignored) | "
        f"row {CLASSY_BAD_AMOUNT}: total_gross_amount `12.345` is not whole cents; "
        f"row {CLASSY_NO_NAME}: billing first/last name blank and no company |",
        "| `classy_transactions.mapping.yaml` | mapping | the mapping for the Classy export "
        "(action update, transaction_updated_at from updated_at, campaign constant Classy) | "
        "- |",
        "| `stripe_payments.csv` | Stripe payments export, mapped by "
        "`stripe_payments.mapping.yaml` to contact_with_transaction | `Created (UTC)` as "
        "`2024-03-01 14:22:05`; amounts `25.00`; full names in `Card Name` (row "
        f"{STRIPE_INVERTED_NAME} as `Last, First`, row {STRIPE_SUFFIX_NAME} with `Jr.`); "
        "guests without a Customer ID; "
        f"row {STRIPE_REFUNDED} refunded in full (Status `Refunded`) and row "
        f"{STRIPE_PARTIAL_REFUND} in part (`Amount Refunded` 10.00): both imported with "
        "was_refunded true | "
        f"rows {STRIPE_FAILED[0]} and {STRIPE_FAILED[1]}: Status `Failed`/`failed`, skipped "
        f"(`skipped: payment failed`; row {STRIPE_FAILED_NO_NAME} also has no name, the skip is "
        f"its only reason); row {STRIPE_NO_NAME}: blank Card Name and no company; "
        f"row {STRIPE_ZERO}: Amount `0.00` (must be > 0) |",
        "| `stripe_payments.mapping.yaml` | mapping | the shipped preset "
        "`pipelines/mapping/presets/stripe_payments.yaml` (split_name, was_refunded from Amount "
        "Refunded, skip failed) | - |",
        "| `paypal_activity.csv` | PayPal activity download, mapped by "
        "`paypal_activity.mapping.yaml` to contact_with_transaction | UTF-8 with BOM, every "
        "field quoted, CRLF; Date `03/01/2024` + Time `14:22:05` + Time zone `PST`/`PDT` "
        "(combined into transaction_time); Gross `1,000.00` in dollars, Fee and Net ignored; "
        f"full names in `Name` (row {PAYPAL_SUFFIX_NAME} with `Jr.`); row {PAYPAL_REFUNDED} "
        f"is the payment row {PAYPAL_REFUND} refunds (imported as it stands) | "
        f"row {PAYPAL_REFUND}: Type `Payment Refund`, Gross negative (`skipped: refund of an "
        f"earlier payment`); rows {PAYPAL_CONVERSION[0]} and {PAYPAL_CONVERSION[1]}: Type "
        "`General Currency Conversion` (`skipped: not a payment received`); "
        f"row {PAYPAL_PENDING}: Status `Pending` (`skipped: payment not completed yet`); "
        f"row {PAYPAL_DENIED}: Status `Denied` (`skipped: payment denied or failed`); "
        f"row {PAYPAL_ONE_NAME}: Name `Cher` has no last name (no company either) |",
        "| `paypal_activity.mapping.yaml` | mapping | the shipped preset "
        "`pipelines/mapping/presets/paypal_activity.yaml` (split_name, combine_time with US zone "
        "offsets, refunds and bookkeeping rows skipped) | - |",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


OUTPUTS: dict[str, Callable[[], bytes]] = {
    "contacts.csv": contacts,
    "contact_with_transaction.csv": contact_with_transaction,
    "split_transaction.csv": split_transaction,
    "contact_with_note.jsonl": contact_with_note,
    "spreadsheet_contacts.xlsx": spreadsheet_contacts,
    "classy_transactions.csv": classy_transactions,
    "classy_transactions.mapping.yaml": lambda: CLASSY_MAPPING.encode("utf-8"),
    "stripe_payments.csv": stripe_payments,
    "stripe_payments.mapping.yaml": _preset("stripe_payments"),
    "paypal_activity.csv": paypal_activity,
    "paypal_activity.mapping.yaml": _preset("paypal_activity"),
    "README.md": readme,
}


def main(argv: Sequence[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "data_samples"
    out.mkdir(parents=True, exist_ok=True)
    for name, build in OUTPUTS.items():
        (out / name).write_bytes(build())
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A mapping's `decimal: ","`: parsed, carried to normalization, proposed by `mapping suggest`
when the amounts are written "30,00", and applied end to end with each row's currency."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.mapping.spec import apply_mapping, parse_mapping_text
from pipelines.mapping.suggest import decimal_comma, suggest_mapping_text
from pipelines.read.export import read_export
from schemas.columns import FORMATS

ROOT = Path(__file__).resolve().parents[2]
CLI = [str(Path(sys.executable).parent / "kindful-etl")]
TRANSACTION = FORMATS["contact_with_transaction"]
DECIMAL_LINE = 'decimal: ","                   # amounts like 30,00 in Amount: a decimal comma'


def test_decimal_is_a_point_unless_the_mapping_says_comma() -> None:
    assert parse_mapping_text("data_format: contact", "m").decimal == "."
    assert parse_mapping_text('decimal: "."', "m").decimal == "."
    assert parse_mapping_text("decimal: ~", "m").decimal == "."
    mapping = parse_mapping_text('data_format: contact_with_transaction\ndecimal: ","', "m")
    assert mapping.decimal == ","
    assert not mapping.maps_columns  # an option, like day_first


@pytest.mark.parametrize("value", ['";"', "1", "comma", "[',']", "true"])
def test_any_other_decimal_is_refused(value: str) -> None:
    with pytest.raises(InputError, match=re.escape('decimal must be "." or ","')):
        parse_mapping_text(f"decimal: {value}", "m")


def test_apply_mapping_carries_the_decimal_mark_to_normalization() -> None:
    mapping = parse_mapping_text(
        'decimal: ","\ncolumns: {Amount: {to: amount_in_cents, unit: dollars}}', "m"
    )
    mapped = apply_mapping(pd.DataFrame({"Amount": ["30,00"]}), TRANSACTION, mapping)
    assert (mapped.decimal, mapped.units) == (",", {"amount_in_cents": "dollars"})
    assert apply_mapping(pd.DataFrame({"amount_in_cents": ["1"]}), TRANSACTION, None).decimal == "."


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["30,00", "1.234,56", "5,00"], True),
        (["30,00", "1 234,56", "-5,00", "(12,00)", "€ 7,50"], True),
        (["30,00", "1.234,56", "", None, "12"], True),  # most, blanks aside
        (["30,00", "12", "15"], False),  # not most
        (["30,00", "30.00", "5,00"], False),  # one decimal point: not a decimal-comma file
        (["1,234.56", "5,00", "6,00"], False),
        (["1,000", "2,500"], False),  # thousands commas
        (["30", "40"], False),
        ([None, ""], False),
    ],
)
def test_decimal_comma_values(values: list[str | None], expected: bool) -> None:
    assert decimal_comma(pd.Series(values, dtype="str")) is expected


def _sample(amounts: list[str]) -> pd.DataFrame:
    size = len(amounts)
    return pd.DataFrame(
        {
            "Email": [f"d{i}@example.org" for i in range(size)],
            "Amount": amounts,
            "Date": ["2024-03-01"] * size,
            "Currency": ["EUR"] * size,
        },
        dtype="str",
    )


def test_suggest_proposes_decimal_comma_for_amounts_like_30_00() -> None:
    text = suggest_mapping_text(
        _sample(["30,00", "1.234,56", "12,50"]), "contact_with_transaction", "gifts.csv"
    )
    assert DECIMAL_LINE in text.splitlines()
    mapping = parse_mapping_text(text, "gifts")
    assert mapping.decimal == ","
    assert [c.unit for c in mapping.columns if c.target == "amount_in_cents"] == ["dollars"]


@pytest.mark.parametrize("amounts", [["30.00", "12.50"], ["30,00", "30.00"], ["25", "30"]])
def test_suggest_proposes_nothing_otherwise(amounts: list[str]) -> None:
    text = suggest_mapping_text(_sample(amounts), "contact_with_transaction", "gifts.csv")
    assert "decimal" not in text
    assert parse_mapping_text(text, "gifts").decimal == "."


def test_suggest_from_a_preset_proposes_it_too() -> None:
    """A Stripe export written with decimal commas: the preset, plus the decimal key."""
    sample = read_export(str(ROOT / "data_samples" / "stripe_payments.csv"))
    sample["Amount"] = sample["Amount"].str.replace(".", ",", regex=False)
    text = suggest_mapping_text(sample, None, "stripe_payments.csv")
    assert DECIMAL_LINE in text.splitlines()
    assert parse_mapping_text(text, "stripe").decimal == ","
    unchanged = read_export(str(ROOT / "data_samples" / "stripe_payments.csv"))
    assert "decimal" not in suggest_mapping_text(unchanged, None, "stripe_payments.csv")


MAPPING = """\
data_format: contact_with_transaction
source_system: euro_gifts
decimal: ","
columns:
  Email: email
  First: first_name
  Last: last_name
  Amount: {to: amount_in_cents, unit: dollars}
  Currency: currency
  Date: transaction_time
"""


@pytest.mark.slow  # a CLI subprocess: ~5-30 s
def test_validate_cli_reads_decimal_commas_and_each_rows_currency(tmp_path: Path) -> None:
    rows = [
        ("30,00", "EUR"),  # 3000
        ("1.234,56", "eur"),  # 123456
        ("1 500", "JPY"),  # 1500: yen have no minor unit
        ("1500,5", "JPY"),  # rejected
        ("1.234", "EUR"),  # rejected: 1234 or 1.234?
        ("1,234.56", "EUR"),  # rejected: a decimal point
        ("1,250", "BHD"),  # 1250 fils
        ("12,34", ""),  # 1234: no currency is USD
    ]
    source = tmp_path / "gifts.csv"
    pd.DataFrame(
        {
            "Email": [f"d{i}@example.org" for i in range(len(rows))],
            "First": ["Ada"] * len(rows),
            "Last": ["Lovelace"] * len(rows),
            "Amount": [amount for amount, _ in rows],
            "Currency": [currency for _, currency in rows],
            "Date": ["2024-03-01 12:00:00"] * len(rows),
        }
    ).to_csv(source, index=False)
    mapping = tmp_path / "gifts.mapping.yaml"
    mapping.write_text(MAPPING)
    out = tmp_path / "out"
    result = subprocess.run(
        [*CLI, "validate", str(source), "--mapping", str(mapping), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    normalized = pd.read_csv(out / "normalized.csv", dtype=str, keep_default_na=False)
    assert normalized[["amount_in_cents", "currency"]].values.tolist() == [
        ["3000", "eur"],
        ["123456", "eur"],
        ["1500", "jpy"],
        ["1250", "bhd"],
        ["1234", ""],
    ]
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    reasons = dict(zip(rejects["source_row"], rejects["reason"], strict=True))
    assert set(reasons) == {"4", "5", "6"}
    assert reasons["4"] == "JPY has no minor unit: whole JPY only"
    assert reasons["5"].startswith("ambiguous amount") and "amount_in_cents" in reasons["5"]
    assert reasons["6"].startswith("not an amount: amount_in_cents is written with a decimal")
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["rows_accepted"], summary["rows_rejected"]) == (5, 3)

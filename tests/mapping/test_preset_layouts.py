"""Each preset knows several layouts of its provider's export (renamed and added columns over
the years): the layout a file matches is detected and named, and the preset is fitted to it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from flows.cli.mapping import mapping_group
from pipelines.mapping.presets import PRESETS, detect_layout, detect_preset, preset_named
from pipelines.mapping.spec import parse_mapping_text
from pipelines.mapping.suggest import suggest_mapping
from pipelines.read.export import read_export
from pipelines.transform.job import validate_export

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"

STRIPE_UNIFIED = [
    "id", "Created date (UTC)", "Amount", "Amount Refunded", "Currency", "Captured",
    "Converted Amount", "Converted Amount Refunded", "Converted Currency", "Description", "Fee",
    "Status", "Customer ID", "Customer Description", "Customer Email", "Card Name",
]  # fmt: skip
STRIPE_OLDER = [
    "id", "Description", "Created", "Amount", "Amount Refunded", "Currency", "Converted Amount",
    "Status", "Customer Description", "Customer Email", "Card Name",
]  # fmt: skip
PAYPAL_TIMEZONE = [
    "Date", "Time", "TimeZone", "Name", "Type", "Status", "Currency", "Gross", "Fee", "Net",
    "From Email Address", "To Email Address", "Transaction ID", "Address Line 1",
    "Address Line 2/District/Neighborhood", "Town/City",
    "State/Province/Region/County/Territory/Prefecture/Republic", "Zip/Postal Code", "Country",
    "Contact Phone Number", "Note", "Balance Impact",
]  # fmt: skip
PAYPAL_HISTORY = [
    "Date", "Time", "Time Zone", "Name", "Type", "Status", "Currency", "Gross", "Fee", "Net",
    "From Email Address", "To Email Address", "Transaction ID", "Counterparty Status",
    "Address Line 1", "Address Line 2/District", "Town/City",
    "State/Province/Region/County/Territory/Prefecture/Republic", "Zip/Postal Code", "Country",
    "Contact Phone Number", "Note", "Balance",
]  # fmt: skip
CLASSY_BILLING = [
    "Transaction ID", "Billing First Name", "Billing Last Name", "Email", "Total Gross Amount",
    "Currency Code", "Date", "Status",
]  # fmt: skip
CLASSY_DONOR = [
    "Transaction ID", "Donor First Name", "Donor Last Name", "Donor Email", "Gross Amount",
    "Transaction Date", "Status",
]  # fmt: skip

# headers -> (preset, layout, {file header: Kindful column(s)} the suggestion must map)
LAYOUTS = [
    (
        STRIPE_UNIFIED,
        "stripe_payments",
        "unified_payments.csv",
        {"Created date (UTC)": "transaction_time", "Customer Email": "email"},
    ),
    (
        list(read_export(str(SAMPLES / "stripe_payments.csv")).columns),
        "stripe_payments",
        "payments.csv",
        {"Created (UTC)": "transaction_time", "Card Address Zip": "postal"},
    ),
    (
        STRIPE_OLDER,
        "stripe_payments",
        "payments.csv, older (Created, no UTC)",
        {"Created": "transaction_time", "Amount": "amount_in_cents"},
    ),
    (
        PAYPAL_TIMEZONE,
        "paypal_activity",
        "activity download",
        {"Gross": "amount_in_cents", "Address Line 2/District/Neighborhood": "addr2"},
    ),
    (
        list(read_export(str(SAMPLES / "paypal_activity.csv")).columns),
        "paypal_activity",
        "activity download",
        {"Gross": "amount_in_cents"},
    ),
    (
        PAYPAL_HISTORY,
        "paypal_activity",
        "history download (older)",
        {"Gross": "amount_in_cents", "Address Line 2/District": "addr2"},
    ),
    (
        list(read_export(str(SAMPLES / "classy_transactions.csv")).columns),
        "classy_transactions",
        "API field names",
        {"member_email_address": "email", "purchased_at": "transaction_time"},
    ),
    (
        CLASSY_BILLING,
        "classy_transactions",
        "transactions report, Billing columns",
        {"Email": "email", "Date": "transaction_time", "Total Gross Amount": "amount_in_cents"},
    ),
    (
        CLASSY_DONOR,
        "classy_transactions",
        "transactions report, Donor columns (older)",
        {
            "Donor First Name": "first_name",
            "Donor Email": "email",
            "Gross Amount": "amount_in_cents",
            "Transaction Date": "transaction_time",
            "Transaction ID": "transaction_id",
        },
    ),
]


def _flat(text: str) -> str:
    return " ".join(line.removeprefix("# ") for line in text.splitlines() if line.startswith("#"))


@pytest.mark.parametrize(("headers", "preset_name", "layout_name", "mapped"), LAYOUTS)
def test_each_layout_is_detected_named_and_mapped(
    headers: list[str], preset_name: str, layout_name: str, mapped: dict[str, str]
) -> None:
    found = detect_layout(headers)
    assert found is not None
    preset, layout = found
    assert (preset.name, layout.name) == (preset_name, layout_name)
    assert detect_preset(headers) == preset
    assert detect_layout([h.upper() for h in headers]) == found  # spelling aside

    sample = pd.DataFrame({h: ["x"] for h in headers})
    suggested = suggest_mapping(sample, None, "export.csv")
    assert (suggested.preset, suggested.layout) == found
    flat = _flat(suggested.text)
    assert f'they are a {preset.title}, layout "{layout_name}"' in flat
    assert f"so this starts from the shipped preset {preset_name}, skip rules included" in flat
    mapping = parse_mapping_text(suggested.text, preset_name)
    assert mapping.data_format == "contact_with_transaction"
    rules = [(r.values, r.reason, r.negate) for r in mapping.skip]
    assert rules == [(r.values, r.reason, r.negate) for r in preset.mapping().skip]
    pairs = {(c.source, c.target) for c in mapping.columns}
    assert set(mapped.items()) <= pairs
    assert set(mapping.source_columns) <= set(headers)


def test_the_samples_are_the_layouts_the_presets_are_written_for() -> None:
    for preset in PRESETS:
        headers = list(read_export(str(SAMPLES / f"{preset.name}.csv")).columns)
        assert detect_layout(headers) == (preset, preset.own_layout)
        assert preset.identifying_headers == preset.own_layout.identifying_headers


def test_every_layout_says_where_it_is_known_from_and_renames_only_preset_headers() -> None:
    for preset in PRESETS:
        names = [layout.name for layout in preset.layouts]
        assert len(set(names)) == len(names) >= 2
        assert [layout for layout in preset.layouts if not layout.renames] == [preset.own_layout]
        read = set(preset.mapping().source_columns)
        for layout in preset.layouts:
            assert layout.known_from
            assert set(layout.renames) <= read, (preset.name, layout.name)


def test_a_layout_lacking_the_presets_refund_column_is_still_a_mapping() -> None:
    sample = pd.DataFrame({h: ["x"] for h in CLASSY_DONOR if h != "Status"})
    text = suggest_mapping(sample, None, "classy.csv").text
    mapping = parse_mapping_text(text, "classy")
    assert not mapping.skip and not mapping.flags
    assert "supporter_id" in _flat(text) and "status" in _flat(text)  # named as left out


def _write(path: Path, header: str, *rows: str) -> str:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def test_an_older_paypal_history_download_validates_with_its_suggestion(tmp_path: Path) -> None:
    header = ", ".join(f'"{h}"' if "/" in h else h for h in PAYPAL_HISTORY)  # leading spaces
    source = _write(
        tmp_path / "history.csv",
        header,
        '01/02/2015,14:22:05,PST,Ada Lovelace,Donation Payment,Completed,USD,"1,000.00",-22.49,'
        "977.51,ada@example.org,gifts@example.org,TX1,Verified,1 Main St,Apt 2,Nashville,TN,"
        "37201,United States,,,977.51",
        "01/03/2015,09:00:00,PST,Grace Hopper,Payment Refund,Completed,USD,-5.00,0.00,-5.00,"
        "gifts@example.org,grace@example.org,TX2,Verified,,,,,,,,,972.51",
    )
    suggested = suggest_mapping(read_export(source), None, "history.csv")
    assert suggested.layout is not None and suggested.layout.name == "history download (older)"
    mapping = tmp_path / "history.mapping.yaml"
    mapping.write_text(suggested.text, encoding="utf-8")
    out = tmp_path / "out"
    summary = validate_export(source, data_format=None, out_dir=out, mapping_path=str(mapping))
    assert (summary["rows_accepted"], summary["rows_rejected"]) == (1, 1)
    normalized = pd.read_csv(out / "normalized.csv", dtype=str, keep_default_na=False)
    row = normalized.iloc[0]
    assert row["transaction_time"] == "2015-01-02T22:22:05+00:00"  # "Time Zone" PST: -08:00
    assert (row["amount_in_cents"], row["addr2"], row["last_name"]) == (
        "100000",
        "Apt 2",
        "Lovelace",
    )


def test_a_stripe_unified_payments_export_validates_with_its_suggestion(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "unified_payments.csv",
        ",".join(STRIPE_UNIFIED),
        "ch_1,2024-03-01 14:22:05,25.00,0.00,usd,true,25.00,0.00,usd,Gift,1.03,Paid,cus_1,,"
        "ada@example.org,Ada Lovelace",
        "ch_2,2024-03-02 10:00:00,10.00,0.00,usd,false,10.00,0.00,usd,Gift,0.00,Failed,cus_2,,"
        "g@example.org,Grace Hopper",
    )
    suggested = suggest_mapping(read_export(source), None, "unified_payments.csv")
    mapping = tmp_path / "stripe.mapping.yaml"
    mapping.write_text(suggested.text, encoding="utf-8")
    out = tmp_path / "out"
    summary = validate_export(source, data_format=None, out_dir=out, mapping_path=str(mapping))
    assert (summary["rows_accepted"], summary["rows_rejected"]) == (1, 1)
    normalized = pd.read_csv(out / "normalized.csv", dtype=str, keep_default_na=False)
    assert normalized.loc[0, "transaction_time"] == "2024-03-01T14:22:05+00:00"
    assert normalized.loc[0, "first_name"] == "Ada"


def test_mapping_suggest_names_the_layout_on_stderr(tmp_path: Path) -> None:
    source = _write(tmp_path / "unified_payments.csv", ",".join(STRIPE_UNIFIED))
    result = CliRunner().invoke(mapping_group, ["suggest", source])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "Stripe payments export, layout 'unified_payments.csv': "
        "started from the shipped preset stripe_payments\n"
    )
    assert 'layout "unified_payments.csv"' in _flat(result.stdout)
    target = tmp_path / "m.yaml"
    result = CliRunner().invoke(
        mapping_group, ["suggest", str(SAMPLES / "paypal_activity.csv"), "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"wrote {target}",
        "PayPal activity download, layout 'activity download': "
        "started from the shipped preset paypal_activity",
    ]
    assert target.read_text(encoding="utf-8").startswith("# Suggested by")
    assert preset_named("paypal_activity").text() in target.read_text(encoding="utf-8")

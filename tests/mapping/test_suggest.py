"""`mapping suggest`: header matches with confidences, presets, and a suggestion that, unedited,
validates each shipped sample with no reject caused by the mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.errors import InputError
from pipelines.mapping.presets import preset_named
from pipelines.mapping.spec import parse_mapping_text
from pipelines.mapping.suggest import suggest_columns, suggest_mapping_text
from pipelines.read.export import read_export
from pipelines.transform.job import validate_export
from schemas.columns import FORMATS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
NAME_RULE = "needs first_name and last_name, or company_name"

# sample, --format (None: the preset knows), {source_row: reason} of the documented bad rows
# (data_samples/README.md) and of the preset's skip rules: nothing else may be rejected.
MUST_SHOW = [
    ("classy_transactions.csv", None, {8: "fraction of a cent", 17: NAME_RULE}),
    (
        "stripe_payments.csv",
        None,
        {
            6: "skipped: payment failed",
            13: "skipped: payment failed",
            20: NAME_RULE,
            22: "must be greater than 0",
        },
    ),
    (
        "paypal_activity.csv",
        None,
        {
            7: "skipped: refund of an earlier payment",
            12: "skipped: not a payment received (PayPal bookkeeping entry)",
            13: "skipped: not a payment received (PayPal bookkeeping entry)",
            15: "skipped: payment not completed yet (import it once PayPal shows it Completed)",
            18: "skipped: payment denied or failed",
            21: NAME_RULE,
        },
    ),
    ("contacts.csv", "contact", {6: NAME_RULE, 19: "longer than 255 characters"}),
    (
        "contact_with_transaction.csv",
        "contact_with_transaction",
        {
            5: "not a whole number of cents",
            11: "must be greater than 0",
            16: "unparseable timestamp",
        },
    ),
    ("split_transaction.csv", "split_transaction", {9: "must be greater than 0"}),
    ("contact_with_note.jsonl", "contact_with_note", {9: "required value missing"}),
    ("spreadsheet_contacts.xlsx", "contact", {}),
]


def _suggest(name: str, data_format: str | None) -> str:
    sample = read_export(str(SAMPLES / name))
    return suggest_mapping_text(sample, data_format, name)


@pytest.mark.parametrize(("name", "data_format", "expected"), MUST_SHOW)
def test_an_unedited_suggestion_validates_each_sample_with_no_mapping_rejects(
    tmp_path: Path, name: str, data_format: str | None, expected: dict[int, str]
) -> None:
    mapping = tmp_path / "suggested.mapping.yaml"
    mapping.write_text(_suggest(name, data_format))
    summary = validate_export(
        str(SAMPLES / name), data_format=None, out_dir=tmp_path / "out", mapping_path=str(mapping)
    )
    rejects = pd.read_csv(tmp_path / "out" / "rejects.csv", dtype=str, keep_default_na=False)
    found = dict(zip(rejects["source_row"].astype(int), rejects["reason"], strict=True))
    assert found == expected
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_rejected"]
    assert summary["rows_rejected"] == len(expected)


@pytest.mark.parametrize("name", ["classy_transactions", "stripe_payments", "paypal_activity"])
def test_a_preset_export_gets_the_preset_verbatim_and_says_so(name: str) -> None:
    text = _suggest(f"{name}.csv", None)
    preset = preset_named(name)
    assert preset.text() in text
    flat = " ".join(line.removeprefix("# ") for line in text.splitlines())
    assert f"so this starts from the shipped preset {name}, skip rules included" in flat
    assert parse_mapping_text(text, name).skip == preset.mapping().skip


def test_the_stripe_suggestion_lists_the_columns_it_leaves_unused() -> None:
    text = _suggest("stripe_payments.csv", "contact_with_transaction")
    assert text.endswith(
        "# Unmapped columns (not imported; map them above or list them in custom_fields):\n"
        "#   - Converted Amount\n#   - Fee\n#   - Card Last4\n"
    )


def test_a_preset_is_fitted_to_a_file_spelled_differently_or_lacking_columns() -> None:
    sample = read_export(str(SAMPLES / "paypal_activity.csv"))
    sample = sample.drop(columns=["Note", "Contact Phone Number", "Time zone"])
    sample = sample.rename(columns={"Gross": "GROSS", "Time": "time", "Date": "date"})
    sample = sample.assign(**{"Time Zone": "PST"})
    text = suggest_mapping_text(sample, None, "paypal.csv")
    flat = " ".join(line.removeprefix("# ") for line in text.splitlines())
    assert "left out (and the preset's comments with them): Contact Phone Number, Note." in flat
    mapping = parse_mapping_text(text, "fitted")
    assert {"GROSS", "date", "time", "Time Zone"} <= set(mapping.source_columns)
    assert "Note" not in mapping.source_columns and len(mapping.skip) == 4
    assert mapping.combine_time[0].zones["PST"] == "-08:00"


def test_a_preset_for_another_format_is_not_used() -> None:
    text = _suggest("stripe_payments.csv", "contact")
    assert "its preset stripe_payments is for contact_with_transaction, not contact" in text
    mapping = parse_mapping_text(text, "m")
    assert mapping.data_format == "contact" and not mapping.skip
    assert [s.source for s in mapping.split_name] == ["Card Name"]


def test_matches_their_confidences_and_units() -> None:
    sample = pd.DataFrame(
        {
            "first_name": ["Ada"],
            "Last Name": ["Lovelace"],
            "E-mail": ["a@example.org"],
            "Email Address": ["b@example.org"],
            "ZIP/Postal": ["37201"],
            "Postal Code": ["37201"],
            "billing_city": ["Nashville"],
            "Amount": ["$25.00"],
            "Date": ["03/01/2024"],
            "Designation": ["General"],
            "Shoe Size": ["9"],
        }
    )
    suggestion = suggest_columns(sample, FORMATS["contact_with_transaction"])
    got = {c.source: (c.target, c.confidence, c.unit) for c in suggestion.columns}
    assert got == {
        "first_name": ("first_name", 1.0, None),
        "Last Name": ("last_name", 0.9, None),
        "E-mail": ("email", 0.8, None),
        "ZIP/Postal": ("postal", 0.8, None),
        "billing_city": ("city", 0.8, None),
        "Amount": ("amount_in_cents", 0.8, "dollars"),
        "Date": ("transaction_time", 0.7, None),
        "Designation": ("fund", 0.7, None),
    }
    assert suggestion.unmapped == ("Email Address", "Postal Code", "Shoe Size")
    assert suggestion.notes["Email Address"] == "looks like email, which E-mail already fills"


def test_the_rendered_suggestion_comments_confidence_and_lists_unmapped_columns() -> None:
    sample = pd.DataFrame(
        {
            "Full Name": ["Ada Lovelace", "Grace Hopper"],
            "Email": ["a@example.org", "g@example.org"],
            "Gift Amount": ["25", "100"],
            "Gift Date": ["2024-01-01", "2024-01-02"],
            "Amount Refunded": ["0", "0"],
            "Status": ["Paid", "Declined"],
            "Fee": ["1", "2"],
        }
    )
    text = suggest_mapping_text(sample, "contact_with_transaction", "gifts.csv")
    lines = text.splitlines()
    assert any(
        line.startswith("  Email: email ") and line.endswith("# 0.9 same name, other spelling")
        for line in lines
    )
    amount = next(line for line in lines if line.startswith("  Gift Amount:"))
    assert "{to: amount_in_cents, unit: dollars}" in amount
    assert "# 0.6" in amount and "dollars assumed, check" in amount  # whole numbers: unsure
    assert "  Full Name: {first: first_name, last: last_name}" in text
    assert "was_refunded: {column: Amount Refunded, positive: true}" in text
    assert "- {column: Status, in: [Declined], reason: payment failed}" in text
    assert lines[-2:] == [
        "# Unmapped columns (not imported; map them above or list them in custom_fields):",
        "#   - Fee",
    ]
    mapping = parse_mapping_text(text, "gifts")  # the draft is a valid mapping as it stands
    assert mapping.data_format == "contact_with_transaction"
    assert yaml.safe_load(text)["columns"]["Gift Date"] == "transaction_time"


def test_headers_needing_quotes_round_trip() -> None:
    sample = pd.DataFrame({"yes": ["1"], "#id": ["2"], "E-mail: work": ["a@example.org"]})
    text = suggest_mapping_text(sample, "contact", "odd.csv")
    assert yaml.safe_load(text)["columns"] == {"#id": "id"}
    assert "'#id': id" in text
    assert "#   - yes" in text and "#   - E-mail: work" in text


def test_cents_columns_keep_cents_and_time_synonyms_follow_the_format() -> None:
    sample = pd.DataFrame({"Amount in cents": ["2500"], "Date": ["2024-01-01"], "Subject": ["Hi"]})
    pledge = suggest_columns(sample, FORMATS["contact_with_pledge"])
    assert {c.source: (c.target, c.unit) for c in pledge.columns} == {
        "Amount in cents": ("amount_in_cents", None),
        "Date": ("pledge_time", None),
    }
    note = suggest_columns(sample, FORMATS["contact_with_note"])
    assert {c.source: c.target for c in note.columns} == {
        "Date": "note_time",
        "Subject": "note_subject",
    }
    contact = suggest_columns(sample, FORMATS["contact"])
    assert contact.columns == () and contact.unmapped == ("Amount in cents", "Date", "Subject")


@pytest.mark.parametrize(
    ("data_format", "message"),
    [(None, "pass --format"), ("contacts", "unknown format 'contacts'")],
)
def test_without_a_usable_format_it_says_so(data_format: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        suggest_mapping_text(pd.DataFrame({"a": ["1"]}), data_format, "a.csv")

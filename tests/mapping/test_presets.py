"""Shipped presets validate their samples; the row rules (skip, split_name, combine_time, flags)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.mapping.presets import PRESETS, detect_preset, preset_named
from pipelines.mapping.rules import (
    CombineTime,
    Flag,
    SkipRule,
    combine_time,
    flag_values,
    skip_rows,
    split_names,
)
from pipelines.mapping.spec import apply_mapping, column_sources, parse_mapping_text
from pipelines.read.export import read_export
from pipelines.transform.ids import IdAssigner
from pipelines.transform.job import validate_export
from pipelines.transform.options import resolve_options
from pipelines.transform.prepare import prepare_chunk
from schemas.columns import FORMATS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
TRANSACTION = FORMATS["contact_with_transaction"]
NAME_RULE = "needs first_name and last_name, or company_name"

# sample -> {source_row: reason}: the skips and the bad rows data_samples/README.md documents
EXPECTED_REJECTS: dict[str, dict[int, str]] = {
    "classy_transactions": {8: "fraction of a cent", 17: NAME_RULE},
    "stripe_payments": {
        6: "skipped: payment failed",
        13: "skipped: payment failed",
        20: NAME_RULE,
        22: "must be greater than 0",
    },
    "paypal_activity": {
        7: "skipped: refund of an earlier payment",
        12: "skipped: not a payment received (PayPal bookkeeping entry)",
        13: "skipped: not a payment received (PayPal bookkeeping entry)",
        15: "skipped: payment not completed yet (import it once PayPal shows it Completed)",
        18: "skipped: payment denied or failed",
        21: NAME_RULE,
    },
}


def _validate(tmp_path: Path, name: str, mapping: Path, chunk_rows: int = 100_000) -> Path:
    summary = validate_export(
        str(SAMPLES / f"{name}.csv"),
        data_format=None,
        out_dir=tmp_path,
        mapping_path=str(mapping),
        chunk_rows=chunk_rows,
    )
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_rejected"]
    assert summary["rows_rejected"] == len(EXPECTED_REJECTS[name])
    return tmp_path


def _rejects(out: Path) -> dict[int, str]:
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    pairs = zip(rejects["source_row"], rejects["reason"], strict=True)
    return {int(row): reason for row, reason in pairs}


def _normalized(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "normalized.csv", dtype=str, keep_default_na=False)


@pytest.mark.parametrize(
    ("name", "chunk_rows"),
    [
        *((name, 100_000) for name in sorted(EXPECTED_REJECTS)),
        ("stripe_payments", 4),
    ],
)
def test_each_preset_validates_its_sample(tmp_path: Path, name: str, chunk_rows: int) -> None:
    preset = Path(f"{sys.modules['pipelines.mapping.presets'].__path__[0]}/{name}.yaml")
    out = _validate(tmp_path, name, preset, chunk_rows)
    assert _rejects(out) == EXPECTED_REJECTS[name]
    normalized = _normalized(out)
    # every chunk gives the same columns, whatever it skipped (a chunk of one skipped row too)
    assert "id" in normalized.columns and "transaction_id" in normalized.columns
    assert (normalized["id"] != "").all() and (normalized["transaction_id"] != "").all()


def test_a_chunk_whose_rows_are_all_skipped_has_the_usual_columns() -> None:
    """The batch and output writers take their columns from the first chunk."""
    mapping = preset_named("paypal_activity").mapping()
    options = resolve_options("contact_with_transaction", mapping)
    source = read_export(str(SAMPLES / "paypal_activity.csv"))
    skipped = prepare_chunk(source.loc[[11, 12]], mapping, options, IdAssigner(TRANSACTION, "p"))
    kept = prepare_chunk(source.loc[[0, 1]], mapping, options, IdAssigner(TRANSACTION, "p"))
    assert skipped.accepted.empty and list(skipped.rejected_rows) == [11, 12]
    assert list(skipped.accepted.columns) == list(kept.accepted.columns)
    assert {"id", "transaction_id", "fund"} <= set(kept.accepted.columns)


@pytest.mark.parametrize("name", ["stripe_payments", "paypal_activity"])
def test_sample_mappings_are_the_presets_byte_for_byte(name: str) -> None:
    assert (SAMPLES / f"{name}.mapping.yaml").read_bytes() == preset_named(name).text().encode()


def test_the_classy_sample_mapping_keeps_working_and_the_preset_adds_refunds(
    tmp_path: Path,
) -> None:
    old = _validate(
        tmp_path / "old", "classy_transactions", SAMPLES / "classy_transactions.mapping.yaml"
    )
    new = _validate(
        tmp_path / "new", "classy_transactions", _write_preset(tmp_path, "classy_transactions")
    )
    assert _rejects(old) == _rejects(new) == EXPECTED_REJECTS["classy_transactions"]
    source = read_export(str(SAMPLES / "classy_transactions.csv"))
    refunded = {f"{41_230_000 + i + 1}" for i in source.index[source["status"] == "refunded"]}
    flags = dict(
        zip(_normalized(new)["transaction_id"], _normalized(new)["was_refunded"], strict=True)
    )
    assert refunded and {t for t, f in flags.items() if f == "true"} == refunded
    assert "was_refunded" not in _normalized(old).columns


def _write_preset(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.mapping.yaml"
    path.write_text(preset_named(name).text())
    return path


def test_stripe_refunds_are_imported_marked_and_names_split(tmp_path: Path) -> None:
    out = _validate(tmp_path, "stripe_payments", SAMPLES / "stripe_payments.mapping.yaml")
    normalized = _normalized(out).set_index("stripe_charge_id")
    source = read_export(str(SAMPLES / "stripe_payments.csv")).set_index("id")
    kept = source.loc[normalized.index]
    refunded = kept["Amount Refunded"] != "0.00"
    assert refunded.sum() == 2  # row 9 in full (Status Refunded), row 17 in part (Paid)
    assert set(kept.index[refunded]) == set(normalized.index[normalized["was_refunded"] == "true"])
    assert (normalized["transaction_id"] == normalized.index).all()
    names = zip(normalized["first_name"], normalized["last_name"], strict=True)
    by_card_name = dict(zip(kept["Card Name"], names, strict=True))
    assert by_card_name["Fixture, Frances"] == ("Frances", "Fixture")  # "Last, First"
    assert by_card_name["Radia Demo Jr."] == ("Radia", "Demo")  # the suffix is dropped
    assert set(normalized["transaction_time"]) >= {"2024-09-17T05:37:12+00:00"}  # UTC as given
    assert set(normalized["amount_in_cents"]) >= {"10000", "3550", "100000"}
    assert set(normalized["transaction_type"]) == {"Credit"}


def test_paypal_times_combine_with_their_zone_and_gross_is_the_gift(tmp_path: Path) -> None:
    out = _validate(tmp_path, "paypal_activity", SAMPLES / "paypal_activity.mapping.yaml")
    normalized = _normalized(out).set_index("transaction_id")
    source = read_export(str(SAMPLES / "paypal_activity.csv")).set_index("Transaction ID")
    first = source.index[0]
    assert tuple(source.loc[first, ["Date", "Time", "Time zone"]]) == (
        "01/02/2024",
        "00:37:43",
        "PST",
    )
    assert normalized.loc[first, "transaction_time"] == "2024-01-02T08:37:43+00:00"  # -08:00
    summer = next(t for t in normalized.index if source.loc[t, "Time zone"] == "PDT")
    local = pd.Timestamp(f"{source.loc[summer, 'Date']} {source.loc[summer, 'Time']}")
    expected = (local + pd.Timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert normalized.loc[summer, "transaction_time"] == expected
    gifts = source.loc[normalized.index]
    assert "1,000.00" in set(gifts["Gross"])
    cents = gifts["Gross"].str.replace(",", "").str.replace(".", "").astype(int).astype(str)
    assert (normalized["amount_in_cents"] == cents).all()
    assert (normalized["paypal_transaction_id"] == normalized.index).all()
    # the payment a refund row names is imported as it stands; the refund row is skipped
    refund = source[source["Type"] == "Payment Refund"]
    assert refund["Reference Txn ID"].iloc[0] in normalized.index
    assert refund.index[0] not in normalized.index


def test_presets_are_package_data_and_are_recognised_by_their_headers() -> None:
    assert [p.name for p in PRESETS] == [
        "classy_transactions",
        "stripe_payments",
        "paypal_activity",
    ]
    for preset in PRESETS:
        mapping = preset.mapping()
        assert mapping.data_format == "contact_with_transaction" and mapping.source_system
        headers = list(read_export(str(SAMPLES / f"{preset.name}.csv")).columns)
        assert detect_preset(headers) == preset
        assert detect_preset([h.upper() for h in headers]) == preset  # spelling aside
        assert detect_preset(headers[:2]) is None
    assert detect_preset(read_export(str(SAMPLES / "contacts.csv")).columns) is None


# --------------------------------------------------------------------------------------------
# the row rules
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ada Lovelace", "Ada", "Lovelace"),
        ("  Mary   Ann  Example ", "Mary Ann", "Example"),
        ("Lovelace, Ada", "Ada", "Lovelace"),
        ("Smith, John Paul", "John Paul", "Smith"),
        # suffixes leave first and last (Kindful has no suffix column); they used to stay
        # with the last name ("King Jr.", "Berners-Lee III")
        ("Martin Luther King, Jr.", "Martin Luther", "King"),
        ("Tim Berners-Lee III", "Tim", "Berners-Lee"),
        ("Cher", "Cher", None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_split_name_rule(full: str | None, first: str | None, last: str | None) -> None:
    firsts, lasts = split_names(pd.Series([full, "Ada Lovelace"], index=[7, 8], dtype=object))
    assert list(firsts.index) == [7, 8]
    got = (None if pd.isna(firsts[7]) else firsts[7], None if pd.isna(lasts[7]) else lasts[7])
    assert got == (first, last)


def test_a_blank_full_name_is_rejected_by_the_contact_rule_not_by_the_mapping() -> None:
    mapping = parse_mapping_text(
        """
data_format: contact
split_name: {Name: {first: first_name, last: last_name}}
""",
        "m",
    )
    frame = pd.DataFrame({"Name": ["Ada Lovelace", "", "Cher"]})
    result = prepare_chunk(frame, mapping, resolve_options("contact", mapping))
    assert list(result.accepted[["first_name", "last_name"]].iloc[0]) == ["Ada", "Lovelace"]
    assert set(result.rejects["source_row"]) == {2, 3}
    assert set(result.rejects["reason"]) == {NAME_RULE}


def test_skip_rules_first_match_wins_case_insensitive_blank_is_not_in() -> None:
    frame = pd.DataFrame(
        {"Status": ["Paid", "failed", " FAILED ", None, "Odd"]}, index=[10, 11, 12, 13, 14]
    )
    rules = [
        SkipRule("Status", ("failed",), "payment failed"),
        SkipRule("Status", ("paid",), "not paid", negate=True),
    ]
    mask, rejects = skip_rows(frame, rules)
    assert list(mask) == [False, True, True, True, True]
    assert list(rejects["source_row"]) == [12, 13, 14, 15]
    assert list(rejects["reason"]) == ["skipped: payment failed"] * 2 + ["skipped: not paid"] * 2
    assert list(rejects["value"])[:2] == ["failed", " FAILED "]  # as the file has it
    assert set(rejects["column"]) == {"Status"}


def test_skipped_rows_are_rejects_counted_once_with_only_their_skip_reason() -> None:
    mapping = parse_mapping_text(
        """
data_format: contact_with_transaction
columns: {First: first_name, Last: last_name, Amount: {to: amount_in_cents, unit: dollars},
          When: transaction_time}
skip: [{column: Status, in: [failed, declined], reason: payment failed}]
""",
        "m",
    )
    frame = pd.DataFrame(
        {
            "First": ["Ada", "Grace", "", "Alan"],
            "Last": ["L", "H", "", "T"],
            "Amount": ["5.00", "oops", "-5", "7.00"],
            "When": ["2024-01-01", "2024-01-02", "bad", "2024-01-03"],
            "Status": ["paid", "Failed", "declined", "paid"],
        }
    )
    options = resolve_options("contact_with_transaction", mapping)
    result = prepare_chunk(frame, mapping, options)
    assert list(result.accepted.index) == [0, 3]
    assert list(result.rejected_rows) == [1, 2]
    assert list(result.rejects["reason"]) == ["skipped: payment failed"] * 2
    assert len(result.accepted) + len(result.rejected_rows) == result.rows_read


def test_flags_from_a_refund_amount_or_from_values() -> None:
    frame = pd.DataFrame(
        {"Refunded": ["0.00", "5.00", None, "$1,000.00", "abc", "-1.00"], "status": ["x"] * 6}
    )
    positive = flag_values(frame, Flag("was_refunded", "Refunded", positive=True))
    assert list(positive) == ["false", "true", "false", "true", "abc", "false"]
    frame["status"] = ["refunded", "Refunded ", "success", None, "", "REFUNDED"]
    listed = flag_values(frame, Flag("was_refunded", "status", values=("refunded",)))
    assert list(listed) == ["true", "true", "false", "false", "false", "true"]


def test_an_unparseable_refund_amount_rejects_the_row_rather_than_guess() -> None:
    mapping = parse_mapping_text(
        """
data_format: contact_with_transaction
columns: {First: first_name, Last: last_name, Amount: {to: amount_in_cents, unit: dollars},
          When: transaction_time}
flags: {was_refunded: {column: Refunded, positive: true}}
""",
        "m",
    )
    frame = pd.DataFrame(
        {
            "First": ["Ada"],
            "Last": ["L"],
            "Amount": ["5"],
            "When": ["2024-01-01"],
            "Refunded": ["n/a"],
        }
    )
    result = prepare_chunk(frame, mapping, resolve_options("contact_with_transaction", mapping))
    assert result.accepted.empty
    assert result.rejects[["column", "value"]].to_dict("records") == [
        {"column": "was_refunded", "value": "n/a"}
    ]


def test_combine_time_uses_the_zone_table_iana_names_and_never_guesses() -> None:
    frame = pd.DataFrame(
        {
            "Date": [
                "03/01/2024",
                "07/04/2024",
                "03/10/2024",
                "03/01/2024",
                "13/45/2024",
                "03/01/2024",
                None,
            ],
            "Time": ["14:22:05", "09:00:00", "02:30:00", "14:22:05", "01:00:00", "", None],
            "Zone": ["PST", "pdt", "America/New_York", "XYZ", "PST", "", None],
        }
    )
    rule = CombineTime(
        "transaction_time", "Date", "Time", "Zone", zones={"PST": "-08:00", "PDT": "-07:00"}
    )
    combined = combine_time(frame, rule)
    assert combined[0] == "2024-03-01 14:22:05-08:00"
    assert combined[1] == "2024-07-04 09:00:00-07:00"
    assert combined[2] == "2024-03-10 03:00:00-0400"  # a DST gap shifts forward, as elsewhere
    assert (
        combined[3] == "03/01/2024 14:22:05 XYZ"
    )  # unknown zone: left for the normalizer to refuse
    assert combined[4] == "13/45/2024 01:00:00 PST"
    assert combined[5] == "2024-03-01 00:00:00"  # no zone: the run's source timezone applies
    assert pd.isna(combined[6])


def test_combined_times_normalize_and_an_unknown_zone_rejects_the_row() -> None:
    mapping = parse_mapping_text(
        """
data_format: contact_with_transaction
columns: {Name: company_name, Gross: {to: amount_in_cents, unit: dollars}}
combine_time:
  transaction_time: {date: Date, time: Time, zone: Time zone, zones: {PST: "-08:00"}}
""",
        "m",
    )
    frame = pd.DataFrame(
        {
            "Name": ["Acme", "Acme"],
            "Gross": ["1,000.00", "5.00"],
            "Date": ["03/01/2024", "03/01/2024"],
            "Time": ["14:22:05", "14:22:05"],
            "Time zone": ["PST", "XYZ"],
        }
    )
    result = prepare_chunk(frame, mapping, resolve_options("contact_with_transaction", mapping))
    assert result.accepted.loc[0, "transaction_time"] == "2024-03-01T22:22:05+00:00"
    assert result.accepted.loc[0, "amount_in_cents"] == "100000"
    assert list(result.rejects["column"]) == ["transaction_time"]
    assert list(result.rejects["reason"]) == ["unparseable timestamp"]


def test_one_source_column_can_fill_several_kindful_columns() -> None:
    mapping = parse_mapping_text("columns: {id: [transaction_id, stripe_charge_id]}", "m")
    mapped = apply_mapping(pd.DataFrame({"id": ["ch_1"], "x": ["y"]}), TRANSACTION, mapping)
    assert mapped.frame.to_dict("records") == [
        {"transaction_id": "ch_1", "stripe_charge_id": "ch_1"}
    ]
    assert mapped.ignored_columns == ("x",)
    assert column_sources(mapping) == {"transaction_id": "id", "stripe_charge_id": "id"}


def test_a_mapping_of_options_only_passes_kindful_named_columns_through() -> None:
    mapping = parse_mapping_text(
        "data_format: contact\nsource_system: crm\nconstants: {email: x@example.org}\n"
        "skip: [{column: Status, in: [gone], reason: r}]",
        "m",
    )
    frame = pd.DataFrame(
        {"First Name": ["Ada"], "last_name": ["L"], "email": ["a@e.org"], "Status": ["gone"]}
    )
    mapped = apply_mapping(frame, FORMATS["contact"], mapping)
    assert mapped.frame.to_dict("records") == [
        {"first_name": "Ada", "last_name": "L", "email": "x@example.org"}  # the constant wins
    ]
    assert mapped.ignored_columns == ("email",)
    assert list(mapped.skipped["source_row"]) == [1]


def test_columns_used_only_by_rules_are_not_reported_as_ignored() -> None:
    mapped = apply_mapping(
        pd.DataFrame({"Card Name": ["A B"], "Status": ["paid"], "Other": ["x"]}),
        TRANSACTION,
        parse_mapping_text(
            "split_name: {Card Name: {first: first_name, last: last_name}}\n"
            "skip: [{column: Status, in: [failed], reason: r}]",
            "m",
        ),
    )
    assert mapped.ignored_columns == ("Other",)
    assert mapped.skipped.empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("skip: {column: a}", "skip must be a list"),
        ("skip: [{column: a, reason: r}]", "exactly one of in, not_in"),
        ("skip: [{column: a, in: [x], not_in: [y], reason: r}]", "exactly one of in, not_in"),
        ("skip: [{column: a, in: [x]}]", "skip rule 1 needs reason"),
        ("skip: [{column: a, in: [], reason: r}]", "non-empty list"),
        ("skip: [{column: a, in: [x], reason: r, when: y}]", "unknown key(s) when"),
        ("split_name: {N: {first: first_name}}", "needs last"),
        ("split_name: [N]", "split_name must map"),
        ("flags: {was_refunded: {column: a}}", "exactly one of positive"),
        ("flags: {was_refunded: {column: a, positive: true, in: [x]}}", "exactly one of positive"),
        ("combine_time: {transaction_time: {time: T}}", "needs date"),
        ("combine_time: {transaction_time: {date: D, zones: {PST: -8}}}", "offset like -08:00"),
        ("combine_time: {transaction_time: {date: D, date_format: mdY}}", "strftime date format"),
        ("combine_time: {transaction_time: {date: D, date_format: '%Q'}}", "strftime date format"),
        ("combine_time: {transaction_time: {date: D, date_format: '%m/%d'}}", "strftime date"),
    ],
)
def test_bad_rule_declarations_give_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as error:
        parse_mapping_text(text, "m")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flags: {first_name: {column: a, positive: true}}", "not a true/false column"),
        ("combine_time: {first_name: {date: a}}", "not a timestamp"),
        (
            "columns: {a: first_name}\nsplit_name: {b: {first: first_name, last: last_name}}",
            "more than once",
        ),
        ("skip: [{column: Nope, in: [x], reason: r}]", "not in the file: Nope"),
    ],
)
def test_rules_are_checked_against_the_format_and_the_file(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        apply_mapping(
            pd.DataFrame({"a": ["1"], "b": ["2"]}), TRANSACTION, parse_mapping_text(text, "m")
        )


def test_make_samples_reproduces_every_sample_byte_for_byte(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_samples
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert make_samples.main([str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(make_samples.OUTPUTS)
    for name in written:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name

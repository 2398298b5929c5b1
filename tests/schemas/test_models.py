"""The pandera schemas generated from the column table enforce the reference's rules (001)
after normalization."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.transform.options import RunOptions
from pipelines.transform.prepare import PreparedChunk, prepare_chunk
from schemas.columns import FORMATS, TRANSACTION_TYPES, Kind, Required
from schemas.models import validation_schema

# The kinds whose canonical form the schema checks with a regex.
FORMS = {
    Kind.TIMESTAMP,
    Kind.DATE,
    Kind.CENTS,
    Kind.INTEGER,
    Kind.CURRENCY_LOWER,
    Kind.CURRENCY_UPPER,
}
EXAMPLES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "reference_examples.json").read_text()
)


def prepare(rows: list[dict[str, Any]], data_format: str, **options: Any) -> PreparedChunk:
    frame = pd.DataFrame(rows).astype("object")
    frame = frame.where(frame.notna(), None).map(lambda v: None if v is None else str(v))
    return prepare_chunk(frame, None, RunOptions(data_format=data_format, **options))


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_schema_has_every_table_column_with_the_checks_its_row_asks_for(
    name: str,
) -> None:
    assert len(FORMATS) == 8
    schema, _ = validation_schema(name)
    assert list(schema.columns) == list(FORMATS[name].names)
    assert not schema.strict and not schema.coerce  # custom fields pass; values stay text
    for column in FORMATS[name].columns:
        built = schema.columns[column.name]
        # presence is a value rule: a missing column is a file error found before validation
        assert not built.required
        assert built.nullable is (column.required is not Required.YES)
        expected = {
            "str_length": column.max_length is not None,
            "str_matches": column.kind in FORMS,
            "isin": column.kind is Kind.BOOLEAN or column.allowed is not None,
            "positive_amount": column.positive,
        }
        assert sorted(check.name for check in built.checks) == sorted(
            check for check, wanted in expected.items() if wanted
        )


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if "data" in e],
    ids=lambda e: f"{e['data_format']}-line{e['line']}",
)
def test_each_reference_example_validates_after_normalization(example: dict[str, Any]) -> None:
    match_by = example.get("match_by", {})
    result = prepare(
        example["data"],
        example["data_format"],
        action=example.get("action_type", "create"),
        match_by={k: v for k, v in match_by.items() if k == "contact"},
        custom_fields=tuple(example.get("custom_fields", ())),
    )
    assert result.rejects.empty, result.rejects.to_dict("records")
    assert len(result.accepted) == len(example["data"])


def test_every_reference_format_has_an_example() -> None:
    assert {e["data_format"] for e in EXAMPLES} == set(FORMATS)


PERSON = {"id": "1", "first_name": "Ada", "last_name": "Example"}
GIFT = {**PERSON, "amount_in_cents": "500", "transaction_time": "1444762572", "fund": "General"}


def reasons(result: PreparedChunk) -> list[tuple[int, str, str]]:
    return [(r.source_row, r.column, r.reason) for r in result.rejects.itertuples()]


def test_it_rejects_a_contact_with_neither_full_name_nor_company() -> None:
    rows = [
        {"first_name": "Ada", "last_name": None, "company_name": None},
        {"first_name": None, "last_name": None, "company_name": "Acme"},
        {"first_name": "Ada", "last_name": "Example", "company_name": None},
    ]
    result = prepare(rows, "contact")
    assert reasons(result) == [
        (
            1,
            "first_name/last_name/company_name",
            "needs first_name and last_name, or company_name",
        )
    ]
    assert list(result.accepted.index) == [1, 2]


@pytest.mark.parametrize(
    ("column", "limit"),
    [("first_name", 255), ("transaction_note", 2000), ("check_num", 255)],
)
def test_it_rejects_strings_over_the_limit_and_never_truncates(column: str, limit: int) -> None:
    rows = [{**GIFT, column: "x" * limit}, {**GIFT, column: "x" * (limit + 1)}]
    result = prepare(rows, "contact_with_transaction")
    assert reasons(result) == [(2, column, f"longer than {limit} characters")]
    assert result.accepted.loc[0, column] == "x" * limit


def test_note_body_may_hold_5000_characters() -> None:
    note = {**PERSON, "note_time": "1444762572", "note_body": "n" * 5000}
    result = prepare([note, {**note, "note_body": "n" * 5001}], "contact_with_note")
    assert reasons(result) == [(2, "note_body", "longer than 5000 characters")]


@pytest.mark.parametrize(
    ("data_format", "column", "value", "ok"),
    [
        ("contact_with_transaction", "amount_in_cents", "0", False),
        ("contact_with_transaction", "amount_in_cents", "-5", False),
        ("contact_with_transaction", "amount_in_cents", "1", True),
        ("split_transaction", "unit_amount_in_cents", "0", False),
        ("contact_with_pledge", "amount_in_cents", "0", True),  # 001 sets no sign for pledges
    ],
)
def test_amounts_must_be_positive_where_the_reference_says_so(
    data_format: str, column: str, value: str, ok: bool
) -> None:
    base = {
        "contact_with_transaction": GIFT,
        "split_transaction": {"transaction_id": "9", "fund": "General"},
        "contact_with_pledge": {**PERSON, "pledge_time": "1444762572"},
    }[data_format]
    result = prepare([{**base, column: value}], data_format)
    assert result.rejects.empty is ok
    if not ok:
        assert reasons(result) == [(1, column, "must be greater than 0")]


def test_a_blank_fund_becomes_general_with_a_warning() -> None:
    result = prepare([{**GIFT, "fund": None}, GIFT], "contact_with_transaction")
    assert result.rejects.empty
    assert list(result.accepted["fund"]) == ["General", "General"]
    assert result.warnings[["source_row", "column"]].values.tolist() == [[1, "fund"]]


def test_a_row_with_a_fund_id_keeps_a_blank_fund_name() -> None:
    result = prepare([{**GIFT, "fund": None, "fund_id": "98761"}], "contact_with_transaction")
    assert result.rejects.empty and result.warnings.empty
    assert pd.isna(result.accepted.loc[0, "fund"])


def test_a_file_without_a_fund_column_gets_general_on_every_row() -> None:
    gift = {k: v for k, v in GIFT.items() if k != "fund"}
    result = prepare([gift, gift], "contact_with_transaction")
    assert list(result.accepted["fund"]) == ["General", "General"]
    assert len(result.warnings) == 2


def test_on_update_the_record_updated_at_defaults_to_its_time_with_a_warning() -> None:
    result = prepare([GIFT], "contact_with_transaction", action="update")
    assert result.rejects.empty
    assert result.accepted.loc[0, "transaction_updated_at"] == "2015-10-13T18:56:12+00:00"
    assert ("transaction_updated_at", "blank transaction_updated_at set to transaction_time") in [
        (w.column, w.reason) for w in result.warnings.itertuples()
    ]


def test_on_update_a_contact_needs_updated_at_or_created_at() -> None:
    rows = [
        {**PERSON, "updated_at": "1444762572"},
        {**PERSON, "created_at": "1444762572"},
        {**PERSON, "created_at": None, "updated_at": None},
    ]
    result = prepare(rows, "contact", action="update")
    assert reasons(result) == [(3, "updated_at", "updated_at is required when action is update")]
    assert result.accepted.loc[1, "updated_at"] == "2015-10-13T18:56:12+00:00"
    assert prepare(rows, "contact", action="create").rejects.empty


@pytest.mark.parametrize(
    ("data_format", "extra", "expected"),
    [
        ("contact_with_transaction", {}, "usd"),
        ("contact_with_pledge", {"pledge_time": "1444762572", "amount_in_cents": "1"}, "USD"),
        (
            "contact_with_non_cash_gift",
            {"non_cash_gift_time": "1444762572", "amount_in_cents": "1"},
            "USD",
        ),
    ],
)
def test_currency_case_follows_the_reference(
    data_format: str, extra: dict[str, str], expected: str
) -> None:
    base = GIFT if data_format == "contact_with_transaction" else PERSON
    result = prepare([{**base, **extra, "currency": " Usd "}], data_format)
    assert result.rejects.empty
    assert result.accepted.loc[0, "currency"] == expected


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("gender", "X", "not one of M/F/U"),
        ("transaction_type", "Barter", "not one of " + "/".join(TRANSACTION_TYPES)),
        ("was_refunded", "maybe", "not a boolean (true/false)"),
    ],
)
def test_values_outside_the_allowed_set_are_rejected(column: str, value: str, reason: str) -> None:
    result = prepare([{**GIFT, column: value}], "contact_with_transaction")
    assert reasons(result) == [(1, column, reason)]


def test_allowed_values_are_matched_case_insensitively() -> None:
    result = prepare(
        [{**GIFT, "transaction_type": "payroll deduction", "gender": "female"}],
        "contact_with_transaction",
    )
    assert result.rejects.empty
    assert result.accepted.loc[0, ["transaction_type", "gender"]].tolist() == [
        "Payroll Deduction",
        "F",
    ]


def test_custom_fields_pass_through_untouched_and_last() -> None:
    rows = [{**PERSON, "Hours Worked": "  32 ", "Favourite": "=1+1"}]
    result = prepare(rows, "contact", custom_fields=("Hours Worked",))
    assert list(result.accepted.columns) == ["id", "first_name", "last_name", "Hours Worked"]
    assert result.accepted.loc[0, "Hours Worked"] == "  32 "


def test_split_transactions_need_a_transaction_id() -> None:
    split = {"unit_amount_in_cents": "100", "fund": "General"}
    result = prepare([split, {**split, "transaction_id": "7"}], "split_transaction")
    assert reasons(result) == [(1, "transaction_id", "required value missing")]


def test_a_note_needs_some_content() -> None:
    note = {**PERSON, "note_time": "1444762572"}
    result = prepare([note, {**note, "note_subject": "Called"}], "contact_with_note")
    assert [r[0] for r in reasons(result)] == [1]


def test_matching_by_email_rejects_an_invalid_email_instead_of_clearing_it() -> None:
    rows = [{**PERSON, "email": "not-an-email"}]
    cleared = prepare(rows, "contact")
    assert cleared.rejects.empty and pd.isna(cleared.accepted.loc[0, "email"])
    assert cleared.warnings["column"].tolist() == ["email"]
    matched = prepare(rows, "contact", match_by={"contact": "email"})
    assert reasons(matched)[0][:2] == (1, "email")


def test_required_and_update_rules_in_the_table_match_the_reference() -> None:
    required = {
        name: sorted(c.name for c in f.columns if c.required is Required.YES)
        for name, f in FORMATS.items()
    }
    assert required["contact_with_transaction"] == ["amount_in_cents", "transaction_time"]
    assert required["contact_with_soft_credit"] == [
        "amount_in_cents",
        "soft_credit_id",
        "soft_credit_time",
    ]
    assert required["contact_with_note"] == ["note_time"]
    timestamps = {c.name for f in FORMATS.values() for c in f.columns if c.kind is Kind.TIMESTAMP}
    assert {"created_at", "updated_at", "deleted_at", "pledge_updated_at"} <= timestamps

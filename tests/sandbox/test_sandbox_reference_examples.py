"""Every example request body of the reference (001) is accepted and processed with the right
stats. Bodies are the reference's, with its `//` comments removed; where the reference's JSON
is broken (a doubled colon, a missing brace) the fix is noted.

Four examples break 001's own column tables, and the sandbox holds them to the tables (see
sandbox/README.md): the contact update sends no `updated_at` ("Yes if action = update"), and
the three update_* transaction examples send no `fund` or `fund_id` ("Yes"). Their rows are
dropped with `missing_required`; sent with the missing column they import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import FileServer

from pipelines.kindful.models import ImportResult
from sandbox.serve import SandboxHandle

RunRaw = Callable[[dict[str, Any]], ImportResult]

PETE = {"id": "123", "first_name": "Pete", "last_name": "Brumm"}
PETE_TXN = PETE | {
    "transaction_id": "467",
    "campaign": "General",
    "amount_in_cents": 200,
    "transaction_time": "2015-10-13 18:56:12 UTC",
    "transaction_updated_at": "2015-10-13 18:56:12 UTC",
}
JOHN = {
    "id": "123456",
    "title": "Mr.",
    "first_name": "John",
    "last_name": "Smith",
    "company_name": "Acme, Inc.",
    "gender": "M",
    "employer": "Acme, Inc.",
    "email": "jsmith@email.co",
    "alt_email": "johnsmith@email.co",
    "addr1": "123 ABC Ln.",
    "addr2": "Apt. 1001",
    "city": "Nashville",
    "state": "TN",
    "postal": "37206",
    "country": "United States",
    "birthday": "07/29/1985",
    "primary_phone": "555-555-5555",
    "alt_phone": "555-555-5555",
    "fax_phone": "555-555-5555",
    "spouse_first": "Jane",
    "spouse_last": "Smith",
}
JOHN_TXN = JOHN | {
    "stripe_customer_id": "",
    "authorize_customer_id": "",
    "paypal_payer_id": "",
    "created_at": "2015-10-13 18:56:12 UTC",
    "transaction_id": "987654",
    "amount_in_cents": "5000",
    "currency": "usd",
    "transaction_time": "2015-10-13 18:56:12 UTC",
    "campaign": "General",
    "campaign_id": "123abc",
}
TXN_TAIL = {
    "fund": "General",
    "fund_id": "456def",
    "acknowledged": "true",
    "transaction_note": "This is a transaction note",
    "stripe_charge_id": "",
    "authorize_transaction_id": "",
    "paypal_transaction_id": "",
    "transaction_type": "Cash",
    "was_refunded": "false",
    "check_num": "",
    "card_type": "Mastercard",
    "non_tax_deductible_amount_in_cents": "500",
    "is_donation": "true",
}
CAUSE_TEAM = {
    "cause": "General",
    "cause_id": "12345",
    "team": "Team John",
    "team_id": "12345",
    "team_member_first_name": "John",
    "team_member_last_name": "Smith",
    "team_member_id": "12345",
}
JOHN_DOE = {
    "id": "1",
    "first_name": "john",
    "last_name": "doe",
    "employer": "kindful",
    "email": "john@kindful.com",
    "alt_email": "john+1@kindful.com",
    "addr1": "1 main st",
    "addr2": "appt 2",
    "city": "nashville",
    "state": "TN",
    "postal": "37215",
    "country": "USA",
    "title": "Mr",
    "birthday": "2015/05/18",
    "primary_phone": "6152605555",
    "alt_phone": "6152606666",
    "fax_phone": "6152607777",
    "spouse_first": "Emi",
    "spouse_last": "Canahuati",
    "gender": "M",
    "created_at": "2015-10-13T18:56:12+00:00",
    "updated_at": "2015-10-13T18:56:12+00:00",
    "campaign": "Test Campaign",
    "campaign_id": "123",
    "fund": "Test Fund",
    "fund_id": "123",
}
CAUSE_TEAM_CREATED = {
    "Cause": 1,
    "Team": 1,
    "Team Member": 1,
    "Integrations Cause Link": 1,
    "Integrations Team Link": 1,
    "Integrations Team Member Link": 1,
}
TEST_DESIGNATIONS = {
    "Campaign": 1,
    "Fund": 1,
    "Integrations Campaign Link": 1,
    "Integrations Fund Link": 1,
}


def created(result: ImportResult) -> dict[str, int]:
    assert result.status == "complete", result
    return {key: value for key, value in result.stats.items() if value}


# Examples whose row 001's own column tables drop, and the column that is missing.
BREAKS_THE_TABLES = {
    "contact update match_by": "updated_at",
    "update_exceptions": "fund",
    "update_columns_except": "fund",
    "update_columns_only": "fund",
}
CWT = {"data_format": "contact_with_transaction", "data_type": "json", "action_type": "update"}
MATCH_EXT = {"match_by": {"contact": "external_id", "transaction": "external_id"}}

INLINE_EXAMPLES: dict[str, tuple[dict[str, Any], dict[str, int]]] = {
    "contact create": (
        {"data_format": "contact", "data_type": "json", "action_type": "create", "data": [PETE]},
        {"Contact": 1},
    ),
    "contact update match_by": (
        {
            "data_format": "contact",
            "data_type": "json",
            "action_type": "update",
            "match_by": {"contact": "external_id"},
            "data": [PETE | {"created_at": "2015-09-29 17:23:49 +0000"}],
        },
        {},
    ),
    "update_exceptions": (
        CWT | MATCH_EXT | {"update_exceptions": {"contact": "create"}, "data": [PETE_TXN]},
        {},
    ),
    "update_columns_except": (
        CWT | MATCH_EXT | {"update_columns_except": {"contact": ["last_name"]}, "data": [PETE_TXN]},
        {},
    ),
    # The reference's body lacks its closing brace.
    "update_columns_only": (
        CWT | MATCH_EXT | {"update_columns_only": {"contact": ["last_name"]}, "data": [PETE_TXN]},
        {},
    ),
    "custom_fields": (
        {
            "data_format": "contact",
            "data_type": "json",
            "action_type": "create",
            "custom_fields": ["Hours Worked"],
            "data": [
                {"id": "100688", "first_name": "Joel", "last_name": "Smith", "Hours Worked": "32"}
            ],
        },
        {"Contact": 1, "Custom Field": 1},
    ),
    "contact_with_transaction 1": (
        {
            "data_format": "contact_with_transaction",
            "action_type": "create",
            "data_type": "json",
            "data": [JOHN_TXN | TXN_TAIL | CAUSE_TEAM],
        },
        {
            "Contact": 1,
            "Transaction": 1,
            "Integrations Campaign Link": 1,
            "Integrations Fund Link": 1,
        }
        | CAUSE_TEAM_CREATED,
    ),
    "contact_with_transaction 2 (parent_campaign)": (
        {
            "data_format": "contact_with_transaction",
            "action_type": "create",
            "data_type": "json",
            "data": [
                JOHN_TXN
                | {"parent_campaign": "Events", "parent_campaign_id": "123abc"}
                | TXN_TAIL
                | CAUSE_TEAM
            ],
        },
        {
            "Contact": 1,
            "Transaction": 1,
            "Campaign": 1,
            "Integrations Campaign Link": 1,
            "Integrations Fund Link": 1,
        }
        | CAUSE_TEAM_CREATED,
    ),
    # The reference writes `"occupation": : "Dentist"`; the doubled colon is dropped.
    "contact_with_transaction 3 (occupation)": (
        {
            "data_format": "contact_with_transaction",
            "action_type": "create",
            "data_type": "json",
            "data": [
                JOHN_TXN | TXN_TAIL | {"occupation": "Dentist", "retired_or_not_employed": "False"}
            ],
        },
        {
            "Contact": 1,
            "Transaction": 1,
            "Integrations Campaign Link": 1,
            "Integrations Fund Link": 1,
        },
    ),
    "contact_with_note": (
        {
            "data_format": "contact_with_note",
            "data_type": "json",
            "action_type": "create",
            "data": [
                JOHN_DOE
                | {
                    "note_id": "1",
                    "note_time": "2015-10-13T18:56:12+00:00",
                    "note_updated_at": "2015-10-13T18:56:12+00:00",
                    "note_type": "General",
                    "note_subject": "Subject",
                    "note_body": ("This is the body of the note. Write things here."),
                    "message_body": "This is an alternative body to place note contents.",
                    "note_sender_name": "Tony Perkis",
                    "note_sender_email": "heavyweights@kindful.com",
                }
            ],
        },
        {"Contact": 1, "Note": 1} | TEST_DESIGNATIONS,
    ),
    "contact_with_pledge": (
        {
            "data_format": "contact_with_pledge",
            "data_type": "json",
            "action_type": "create",
            "data": [
                JOHN_DOE
                | {
                    "addr1": "1st Main st",
                    "addr2": "Appt 1",
                    "birthday": "2015/5/18",
                    "updated_at": "2015-10-15T18:56:12+00:00",
                    "pledge_id": "1",
                    "pledge_time": "2015-10-13T18:56:12+00:00",
                    "pledge_updated_at": "2015-10-15T18:56:12+00:00",
                    "amount_in_cents": "3000",
                    "pledge_note": "this is a note",
                }
            ],
        },
        {"Contact": 1, "Pledge": 1} | TEST_DESIGNATIONS,
    ),
    "contact_with_non_cash_gift": (
        {
            "data_format": "contact_with_non_cash_gift",
            "data_type": "json",
            "action_type": "create",
            "data": [
                JOHN_DOE
                | {
                    "non_cash_gift_id": "1",
                    "amount_in_cents": "5000",
                    "non_cash_gift_time": "2015-10-13T18:56:12+00:00",
                    "non_cash_gift_updated_at": "2015-10-13T18:56:12+00:00",
                    "non_cash_gift_note": "yolo",
                    "non_tax_deductible_amount_in_cents": "1000",
                }
            ],
        },
        {"Contact": 1, "Non Cash Gift": 1} | TEST_DESIGNATIONS,
    ),
    "contact_with_soft_credit": (
        {
            "data_format": "contact_with_soft_credit",
            "data_type": "json",
            "action_type": "create",
            "data": [
                JOHN_DOE
                | {
                    "soft_credit_id": "1",
                    "amount_in_cents": "500",
                    "currency": "USD",
                    "soft_credit_time": "2015-10-13T18:56:12+00:00",
                    "soft_credit_updated_at": "2015-10-13T18:56:12+00:00",
                    "soft_credit_note": "yolo",
                }
            ],
        },
        {"Contact": 1, "Soft Credit": 1} | TEST_DESIGNATIONS,
    ),
    "contact_with_cause_team": (
        {
            "data_format": "contact_with_cause_team",
            "action_type": "create",
            "data_type": "json",
            "data": [
                JOHN
                | {
                    "created_at": "2015-10-13 18:56:12 UTC",
                    "campaign": "General",
                    "campaign_id": "123abc",
                    "fund": "General",
                    "fund_id": "456def",
                }
                | CAUSE_TEAM
            ],
        },
        {"Contact": 1} | CAUSE_TEAM_CREATED,
    ),
}


@pytest.mark.parametrize("name", sorted(INLINE_EXAMPLES))
def test_reference_example_is_processed(run_raw: RunRaw, name: str) -> None:
    body, expected = INLINE_EXAMPLES[name]
    result = run_raw(body)
    assert created(result) == expected
    missing = BREAKS_THE_TABLES.get(name)
    notes = [(n.code, n.record_type) for n in result.notifications]
    if missing is None:
        assert notes == []
    else:
        kind = "contact" if body["data_format"] == "contact" else "transaction"
        assert notes == [("missing_required", kind)]
        assert missing in result.notifications[0].desc
        (row,) = body["data"]
        fixed = row | ({"updated_at": row["created_at"]} if missing == "updated_at" else {})
        fixed |= {"fund": "General"} if missing == "fund" else {}
        again = run_raw(body | {"data": [fixed]})
        assert created(again)["Contact"] == 1 and again.notifications == []


@pytest.mark.parametrize("name", sorted(set(INLINE_EXAMPLES) - set(BREAKS_THE_TABLES)))
def test_reference_example_twice_creates_nothing_more(run_raw: RunRaw, name: str) -> None:
    """The same body again matches everything it created: no new records, no updates."""
    body, _ = INLINE_EXAMPLES[name]
    run_raw(body)
    again = run_raw(body)
    assert created(again) == {}
    assert {k: v for k, v in again.update_stats.items() if v} == {}


def test_reference_csv_example_with_data_url(run_raw: RunRaw, files: FileServer) -> None:
    """The second contact example: csv by data_url, default action, "encrypted": "true"."""
    url = files.put("example.csv", b"id,first_name,last_name\n123,Pete,Brumm\n")
    body = {"data_format": "contact", "data_type": "csv", "data_url": url, "encrypted": "true"}
    assert created(run_raw(body)) == {"Contact": 1}


def seed_transaction(run_raw: RunRaw, transaction_id: str, amount: int) -> None:
    body = INLINE_EXAMPLES["update_exceptions"][0]
    row = PETE_TXN | {
        "transaction_id": transaction_id,
        "amount_in_cents": amount,
        "fund": "General",
    }
    assert created(run_raw(body | {"data": [row]}))["Transaction"] == 1


SPLIT_1 = {
    "data_format": "split_transaction",
    "action_type": "create",
    "data_type": "json",
    "data": [
        {
            "id": "1:1",
            "transaction_id": "1",
            "unit_amount_in_cents": "100",
            "quantity": "7",
            "campaign": "Test Campaign 2",
            "campaign_id": "7",
            "fund": "Test Fund 2",
            "fund_id": "8",
        },
        {
            "id": "1:2",
            "transaction_id": "1",
            "unit_amount_in_cents": "300",
            "quantity": "1",
            "campaign": "Test Campaign",
            "campaign_id": "5",
            "fund": "Test Fund",
            "fund_id": "6",
        },
    ],
}


def test_reference_split_example_1(run_raw: RunRaw, sandbox: SandboxHandle) -> None:
    """7 x 100 + 1 x 300 splits a 1000-cent transaction."""
    seed_transaction(run_raw, "1", 1000)
    result = run_raw(SPLIT_1)
    # 001: "Kindful stores split transactions in the same table as transactions".
    assert created(result) == {
        "Transaction": 2,
        "Campaign": 2,
        "Fund": 2,
        "Integrations Campaign Link": 2,
        "Integrations Fund Link": 2,
    }
    splits = sandbox.records()["split_transactions"]
    assert sorted(s["external_id"] for s in splits) == ["1:1", "1:2"]


def test_reference_split_example_2_soft_delete(run_raw: RunRaw) -> None:
    """A split with deleted_at that never existed is reported; 4 x 25 covers 100 cents."""
    seed_transaction(run_raw, "1", 100)
    body = {
        "data_format": "split_transaction",
        "action_type": "create",
        "data_type": "json",
        "data": [
            {
                "id": "1:1",
                "transaction_id": "1",
                "unit_amount_in_cents": "100",
                "quantity": "1",
                "campaign": "Test Campaign 2",
                "campaign_id": "7",
                "fund": "Test Fund 2",
                "fund_id": "8",
                "deleted_at": "2016-10-13T18:56:12+00:00",
            },
            {
                "id": "1:2",
                "transaction_id": "1",
                "unit_amount_in_cents": "25",
                "quantity": "4",
                "campaign": "Test Campaign",
                "campaign_id": "5",
                "fund": "Test Fund",
                "fund_id": "6",
            },
        ],
    }
    result = run_raw(body)
    assert created(result)["Transaction"] == 1
    assert [(n.code, n.record_type, n.external_id) for n in result.notifications] == [
        ("deleted_split_not_found", "split_transaction", "1:1")
    ]


def test_reference_split_example_3_match_by_kindful_id(
    run_raw: RunRaw, sandbox: SandboxHandle
) -> None:
    """match_by transaction "id": transaction_id is Kindful's own id (17950412 there)."""
    seed_transaction(run_raw, "ext-9", 5623)
    kindful_id = str(sandbox.records()["transactions"][0]["id"])
    body = {
        "data_format": "split_transaction",
        "action_type": "create",
        "match_by": {"transaction": "id"},
        "data_type": "json",
        "data": [
            {
                "id": "17950412:1",
                "transaction_id": "17950412",
                "unit_amount_in_cents": "5000",
                "quantity": "1",
                "campaign": "Split Test 1",
                "campaign_id": "splittest1",
                "fund": "General1",
                "fund_id": "General1",
            },
            {
                "id": "17950412:2",
                "transaction_id": "17950412",
                "unit_amount_in_cents": "623",
                "quantity": "1",
                "campaign": "Split Test 2",
                "campaign_id": "splittest2",
                "fund": "General2",
                "fund_id": "General2",
            },
        ],
    }
    for row in body["data"]:
        row["transaction_id"] = kindful_id
    assert created(run_raw(body))["Transaction"] == 2


def test_split_of_a_missing_transaction_is_dropped(run_raw: RunRaw) -> None:
    result = run_raw(SPLIT_1)
    assert created(result) == {}
    assert [(n.code, n.record_type, n.external_id) for n in result.notifications] == [
        ("transaction_not_found", "split_transaction", "1:1"),
        ("transaction_not_found", "split_transaction", "1:2"),
    ]


def test_splits_that_do_not_add_up_are_dropped(run_raw: RunRaw) -> None:
    seed_transaction(run_raw, "1", 999)
    result = run_raw(SPLIT_1)
    assert created(result) == {}
    assert {n.code for n in result.notifications} == {"split_amount_mismatch"}
    assert "add up to 1000 but the transaction is 999" in result.notifications[0].desc


def test_transaction_id_reused_with_split(run_raw: RunRaw) -> None:
    """A split id that is a transaction's id, or the reverse, is dropped with a notification."""
    seed_transaction(run_raw, "1", 1000)
    seed_transaction(run_raw, "1:2", 50)
    result = run_raw(SPLIT_1)
    assert [n.code for n in result.notifications] == [
        "transaction_id_reused_with_split",
        "split_amount_mismatch",
    ]
    assert result.notifications[0].desc == (
        "transaction can't have same external_id as split transaction 1:2"
    )
    seed_transaction(run_raw, "x", 700)
    split = SPLIT_1["data"][0] | {"transaction_id": "x"}
    assert created(run_raw(SPLIT_1 | {"data": [split]}))["Transaction"] == 1
    body = INLINE_EXAMPLES["update_exceptions"][0]
    reuse = run_raw(body | {"data": [PETE_TXN | {"transaction_id": "1:1", "fund": "General"}]})
    # As 001's example: the affected transaction, with its contact nested.
    assert [
        (n.code, n.record_type, n.external_id, n.contact_external_id) for n in reuse.notifications
    ] == [("transaction_id_reused_with_split", "transaction", "1:1", "123")]

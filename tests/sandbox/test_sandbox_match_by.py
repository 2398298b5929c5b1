"""match_by options (002): each finds a contact entered in Kindful (no external id), by an
exact match (003: "an exact match of first_name + last_name + email")."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Run

from sandbox.serve import SandboxHandle

SEEDED = {
    "first_name": "Sue",
    "last_name": "McKindly",
    "email": "sue@example.org",
    "company_name": "Sue Co",
    "stripe_customer_id": "cus_1",
}


@pytest.mark.parametrize(
    ("how", "row"),
    [
        ("email", {"first_name": "S", "last_name": "X", "email": "sue@example.org"}),
        (
            "first_name_last_name_email",
            {"first_name": "Sue", "last_name": "McKindly", "email": "sue@example.org"},
        ),
        ("company_name_email", {"company_name": "Sue Co", "email": "sue@example.org"}),
        ("first_name_last_name", {"first_name": "Sue", "last_name": "McKindly"}),
        ("company_name", {"company_name": "Sue Co"}),
        (
            "stripe_customer_id",
            {"first_name": "S", "last_name": "X", "stripe_customer_id": "cus_1"},
        ),
        ("external_id", {"first_name": "Sue", "last_name": "McKindly", "email": "sue@example.org"}),
    ],
)
def test_match_by_finds_the_kindful_contact(
    run: Run, sandbox: SandboxHandle, how: str, row: dict[str, Any]
) -> None:
    """A create with a match does nothing; the row's id links the found contact."""
    seeded = sandbox.sandbox.seed_contact(sandbox.app, SEEDED)
    # external_id with an id looks for that id only; without one it falls back to names+email.
    row = row if how == "external_id" else {"id": "s1"} | row
    result = run(data_format="contact", match_by={"contact": how}, data=[row])
    assert result.stats.get("Contact", 0) == 0
    contacts = sandbox.records()["contacts"]
    assert [c["id"] for c in contacts] == [seeded.pk]
    if how != "external_id":
        assert contacts[0]["external_id"] == "s1"
        assert result.stats.get("Integrations Contact Link", 0) == 1


@pytest.mark.parametrize(
    ("how", "row"),
    [
        ("email", {"first_name": "S", "last_name": "X", "email": "SUE@example.org"}),
        (
            "first_name_last_name_email",
            {"first_name": "sue", "last_name": "mckindly", "email": "sue@example.org"},
        ),
        ("company_name", {"company_name": "sue co"}),
    ],
)
def test_matching_is_exact(run: Run, sandbox: SandboxHandle, how: str, row: dict[str, Any]) -> None:
    """Another case is another value: no match, so a new contact."""
    sandbox.sandbox.seed_contact(sandbox.app, SEEDED)
    result = run(data_format="contact", match_by={"contact": how}, data=[{"id": "s1"} | row])
    assert result.stats == {"Contact": 1}
    assert len(sandbox.records()["contacts"]) == 2


def test_default_match_by_id_does_not_fall_back_to_names(run: Run, sandbox: SandboxHandle) -> None:
    """002: with an id and no record for it, a new contact is created (a duplicate by name)."""
    sandbox.sandbox.seed_contact(sandbox.app, SEEDED)
    result = run(data_format="contact", data=[{"id": "s1"} | SEEDED])
    assert result.stats.get("Contact", 0) == 1
    assert len(sandbox.records()["contacts"]) == 2


def test_match_by_kindful_id(run: Run, sandbox: SandboxHandle) -> None:
    seeded = sandbox.sandbox.seed_contact(sandbox.app, SEEDED)
    row = {
        "id": str(seeded.pk),
        "first_name": "Sue",
        "last_name": "Other",
        "updated_at": "2099-01-01T00:00:00Z",
    }
    result = run(
        data_format="contact", action_type="update", match_by={"contact": "id"}, data=[row]
    )
    assert result.update_stats.get("Contact", 0) == 1
    assert sandbox.records()["contacts"][0]["last_name"] == "Other"


@pytest.mark.parametrize("how", ["email", "first_name_last_name", "company_name"])
def test_no_match_creates(run: Run, sandbox: SandboxHandle, how: str) -> None:
    sandbox.sandbox.seed_contact(sandbox.app, SEEDED)
    row = {
        "first_name": "Bob",
        "last_name": "Other",
        "company_name": "Other Co",
        "email": "bob@example.org",
    }
    result = run(data_format="contact", match_by={"contact": how}, data=[row])
    assert result.stats.get("Contact", 0) == 1


def test_several_matches_use_the_oldest_and_say_so(run: Run, sandbox: SandboxHandle) -> None:
    first = sandbox.sandbox.seed_contact(sandbox.app, SEEDED)
    sandbox.sandbox.seed_contact(sandbox.app, SEEDED)
    result = run(
        data_format="contact",
        match_by={"contact": "email"},
        data=[{"id": "z", "first_name": "S", "last_name": "M", "email": "sue@example.org"}],
    )
    assert [n.code for n in result.notifications] == ["ambiguous_match"]
    linked = [c for c in sandbox.records()["contacts"] if c["external_id"] == "z"]
    assert [c["id"] for c in linked] == [first.pk]


def test_transaction_match_by_stripe_charge_id(run: Run) -> None:
    row = {
        "id": "c",
        "first_name": "A",
        "last_name": "B",
        "transaction_id": "t1",
        "amount_in_cents": 100,
        "transaction_time": 1444762572,
        "fund": "General",
        "stripe_charge_id": "ch_1",
    }
    run(data_format="contact_with_transaction", data=[row])
    other = row | {"transaction_id": "t2"}
    result = run(
        data_format="contact_with_transaction",
        match_by={"transaction": "stripe_charge_id"},
        data=[other],
    )
    assert result.stats.get("Transaction", 0) == 0


@pytest.mark.parametrize(("how", "linked"), [("name", None), ("external_id", "f9"), ("id", None)])
def test_fund_by_name_or_id(run: Run, sandbox: SandboxHandle, how: str, linked: str | None) -> None:
    """Named records are found by their exact name or created; "General" exists from the start.

    Only the default (external_id) links the app's fund_id to the fund.
    """
    row = {
        "id": "c",
        "first_name": "A",
        "last_name": "B",
        "transaction_id": "t1",
        "amount_in_cents": 100,
        "transaction_time": 1444762572,
        "fund": "General",
        "fund_id": "f9",
        "campaign": "General",
    }
    result = run(data_format="contact_with_transaction", match_by={"fund": how}, data=[row])
    assert result.stats.get("Fund", 0) == 0
    new = row | {"transaction_id": "t2", "fund": "Restricted", "fund_id": "f10"}
    result = run(data_format="contact_with_transaction", match_by={"fund": how}, data=[new])
    assert result.stats.get("Fund", 0) == 1
    funds = {f["name"]: f["external_id"] for f in sandbox.records()["funds"]}
    assert funds == {"General": linked, "Restricted": "f10" if linked else None}


def test_group_and_event_columns_are_unknown(run: Run, sandbox: SandboxHandle) -> None:
    """001 names no column for groups or events: they are ignored, and said so once each."""
    rows = [
        {"id": str(i), "first_name": "A", "last_name": f"B{i}", "group": "Volunteers"}
        for i in range(3)
    ]
    result = run(data_format="contact", match_by={"group": "name"}, data=rows)
    assert result.stats == {"Contact": 3}
    assert [(n.code, n.record_type, n.external_id) for n in result.notifications] == [
        ("unknown_column", "contact", "0")
    ]
    assert _groups(sandbox) == []


def _groups(sandbox: SandboxHandle) -> list[Any]:
    from conftest import make_client

    with make_client(sandbox.base_url, sandbox.token) as client:
        return client.groups()

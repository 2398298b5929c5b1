"""002's table: create/update x match/no match x newer/older, for contacts and activities."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Run

from sandbox.serve import SandboxHandle

OLD, MID, NEW = "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z"

ACTIVITIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    # format: (record type in stats, id column prefix, extra required columns)
    "contact_with_transaction": (
        "Transaction",
        "transaction",
        {"amount_in_cents": 500, "fund": "General"},
    ),
    "contact_with_note": ("Note", "note", {"note_body": "hello"}),
    "contact_with_pledge": ("Pledge", "pledge", {"amount_in_cents": 500}),
    "contact_with_non_cash_gift": ("Non Cash Gift", "non_cash_gift", {"amount_in_cents": 500}),
    "contact_with_soft_credit": ("Soft Credit", "soft_credit", {"amount_in_cents": 500}),
}


def contact_row(updated_at: str, last_name: str = "Brumm") -> dict[str, Any]:
    return {"id": "c1", "first_name": "Pete", "last_name": last_name, "updated_at": updated_at}


def activity_row(fmt: str, updated_at: str, note: str) -> dict[str, Any]:
    _, prefix, extra = ACTIVITIES[fmt]
    row = contact_row(MID) | extra
    row[f"{prefix}_id"] = "a1"
    row[f"{prefix}_time"] = OLD
    row[f"{prefix}_updated_at"] = updated_at
    row["acknowledged" if prefix != "note" else "note_subject"] = note
    return row


@pytest.mark.parametrize(
    ("action", "second", "created", "updated", "last_name"),
    [
        ("create", NEW, 0, 0, "Brumm"),  # match -> do nothing, however new
        ("create", OLD, 0, 0, "Brumm"),
        ("update", NEW, 0, 1, "Changed"),  # match + newer -> update
        ("update", OLD, 0, 0, "Brumm"),  # match + older -> nothing
        ("update", MID, 0, 0, "Brumm"),  # match + same time -> nothing
    ],
)
def test_contact_table_with_a_match(
    run: Run,
    sandbox: SandboxHandle,
    action: str,
    second: str,
    created: int,
    updated: int,
    last_name: str,
) -> None:
    """A contact that exists is left alone unless the action is update and the row is newer."""
    first = run(data_format="contact", action_type="update", data=[contact_row(MID)])
    assert first.stats.get("Contact", 0) == 1
    result = run(data_format="contact", action_type=action, data=[contact_row(second, "Changed")])
    assert result.status == "complete"
    assert result.stats.get("Contact", 0) == created
    assert result.update_stats.get("Contact", 0) == updated
    contacts = sandbox.records()["contacts"]
    assert len(contacts) == 1
    assert contacts[0]["last_name"] == last_name


@pytest.mark.parametrize("action", ["create", "update"])
def test_contact_table_without_a_match_creates(
    run: Run, sandbox: SandboxHandle, action: str
) -> None:
    """No match: both actions create."""
    result = run(data_format="contact", action_type=action, data=[contact_row(OLD)])
    assert (result.stats.get("Contact", 0), result.update_stats.get("Contact", 0)) == (1, 0)
    assert [c["external_id"] for c in sandbox.records()["contacts"]] == ["c1"]


@pytest.mark.parametrize("fmt", sorted(ACTIVITIES))
@pytest.mark.parametrize(
    ("action", "second", "updated"),
    [
        ("create", NEW, 0),
        ("create", OLD, 0),
        ("update", NEW, 1),
        ("update", OLD, 0),
        ("update", MID, 0),
    ],
)
def test_activity_table_with_a_match(
    run: Run, fmt: str, action: str, second: str, updated: int
) -> None:
    """Each activity type follows the same table on its `<record>_updated_at`."""
    record_type = ACTIVITIES[fmt][0]
    first = run(data_format=fmt, action_type="update", data=[activity_row(fmt, MID, "true")])
    assert (first.stats.get("Contact", 0), first.stats.get(record_type, 0)) == (1, 1), (
        first.notifications
    )
    result = run(data_format=fmt, action_type=action, data=[activity_row(fmt, second, "false")])
    assert result.status == "complete"
    assert result.stats.get(record_type, 0) == 0
    assert result.update_stats.get(record_type, 0) == updated
    assert result.stats.get("Contact", 0) == 0


@pytest.mark.parametrize("fmt", sorted(ACTIVITIES))
@pytest.mark.parametrize("action", ["create", "update"])
def test_activity_table_without_a_match_creates(run: Run, fmt: str, action: str) -> None:
    record_type = ACTIVITIES[fmt][0]
    result = run(data_format=fmt, action_type=action, data=[activity_row(fmt, OLD, "true")])
    assert (result.stats.get(record_type, 0), result.update_stats.get(record_type, 0)) == (1, 0)


def test_activity_updated_at_defaults_to_its_time(run: Run) -> None:
    """001: `<record>_updated_at` defaults to `<record>_time`."""
    row = activity_row("contact_with_pledge", MID, "true")
    del row["pledge_updated_at"]
    run(data_format="contact_with_pledge", action_type="update", data=[row])
    newer = row | {"pledge_time": NEW, "amount_in_cents": 900}
    result = run(data_format="contact_with_pledge", action_type="update", data=[newer])
    assert result.update_stats.get("Pledge", 0) == 1


def test_update_exceptions_keep_contacts_create_only(run: Run, sandbox: SandboxHandle) -> None:
    """update_exceptions {"contact": "create"}: the transaction updates, the contact does not."""
    fmt = "contact_with_transaction"
    run(data_format=fmt, action_type="update", data=[activity_row(fmt, MID, "true")])
    newer = activity_row(fmt, NEW, "false") | {"updated_at": NEW, "last_name": "Other"}
    result = run(
        data_format=fmt, action_type="update", update_exceptions={"contact": "create"}, data=[newer]
    )
    assert {k: v for k, v in result.update_stats.items() if v} == {"Transaction": 1}
    assert sandbox.records()["contacts"][0]["last_name"] == "Brumm"


def test_coming_soon_update_columns_are_ignored(run: Run, sandbox: SandboxHandle) -> None:
    """001 marks update_columns_only / _except "coming soon": accepted, not applied."""
    run(data_format="contact", action_type="update", data=[contact_row(OLD)])
    row = contact_row(MID, "Changed") | {"first_name": "Peter", "city": "Nashville"}
    result = run(
        data_format="contact",
        action_type="update",
        update_columns_only={"contact": ["city"]},
        update_columns_except={"contact": ["last_name"]},
        data=[row],
    )
    assert result.update_stats["Contact"] == 1
    contact = sandbox.records()["contacts"][0]
    assert (contact["first_name"], contact["last_name"], contact["city"]) == (
        "Peter",
        "Changed",
        "Nashville",
    )


def test_update_of_a_contact_needs_updated_at(run: Run, sandbox: SandboxHandle) -> None:
    """001: updated_at "Yes if action = update": a contact row without it is dropped."""
    run(data_format="contact", data=[contact_row(OLD)])
    row = {"id": "c1", "first_name": "Pete", "last_name": "Other"}
    result = run(data_format="contact", action_type="update", data=[row])
    assert {k: v for k, v in result.update_stats.items() if v} == {}
    ((code, external_id),) = [(n.code, n.external_id) for n in result.notifications]
    assert (code, external_id) == ("missing_required", "c1")
    assert sandbox.records()["contacts"][0]["last_name"] == "Brumm"


def test_update_of_a_gift_without_updated_at_leaves_its_contact(run: Run) -> None:
    """001: updated_at "Yes if action = update and your updating contact": the gift goes on."""
    fmt = "contact_with_transaction"
    run(data_format=fmt, action_type="update", data=[activity_row(fmt, MID, "true")])
    row = activity_row(fmt, NEW, "false") | {"last_name": "Other"}
    del row["updated_at"]
    result = run(data_format=fmt, action_type="update", data=[row])
    assert result.update_stats["Transaction"] == 1 and result.update_stats["Contact"] == 0
    (note,) = result.notifications
    assert (note.code, note.record_type, note.external_id) == (
        "missing_updated_at",
        "contact",
        "c1",
    )


def test_rows_with_the_same_id_are_merged(run: Run, sandbox: SandboxHandle) -> None:
    """Rows with one contact id make one contact; each row's transaction is kept."""
    rows = [
        {
            "id": "c9",
            "first_name": "Ann",
            "last_name": "Lee",
            "transaction_id": "t1",
            "amount_in_cents": 100,
            "transaction_time": OLD,
            "fund": "General",
        },
        {
            "id": "c9",
            "email": "ann@example.org",
            "transaction_id": "t2",
            "amount_in_cents": 200,
            "transaction_time": OLD,
            "fund": "General",
        },
    ]
    result = run(data_format="contact_with_transaction", data=rows)
    assert (result.stats.get("Contact", 0), result.stats.get("Transaction", 0)) == (1, 2)
    (contact,) = sandbox.records()["contacts"]
    assert (contact["first_name"], contact["email"]) == ("Ann", "ann@example.org")

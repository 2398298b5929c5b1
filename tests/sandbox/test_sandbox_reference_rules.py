"""Rules the sandbox takes from 001 as written: timestamps, required columns, the documented
whole-request refusal, and "coming soon" parameters that do nothing yet."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import FileServer, Run

from sandbox.serve import SandboxHandle

GIFT: dict[str, Any] = {
    "id": "c1",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "transaction_id": "t1",
    "amount_in_cents": 500,
    "transaction_time": 1444762572,
    "fund": "General",
}


@pytest.mark.parametrize(
    "value",
    [
        1444762572,
        "1444762572",
        "2015-10-13 18:56:12 UTC",  # 001's own example spelling
        "2015-10-13T18:56:12+00:00",
        "2015-10-13T18:56:12Z",
        "2015-10-13T13:56:12-05:00",
        "2015-10-13 18:56:12",  # no offset: "string in UTC"
    ],
)
def test_timestamps_001_accepts(run: Run, sandbox: SandboxHandle, value: object) -> None:
    result = run(data_format="contact_with_transaction", data=[GIFT | {"transaction_time": value}])
    assert result.stats["Transaction"] == 1, result.notifications
    (gift,) = sandbox.records()["transactions"]
    assert gift["transaction_time"] == 1444762572.0


@pytest.mark.parametrize(
    "value", ["10/13/2015", "Oct 13 2015", "next tuesday", "1444762572.5", "2015-W42-2"]
)
def test_other_timestamps_drop_the_row(run: Run, value: str) -> None:
    result = run(data_format="contact_with_transaction", data=[GIFT | {"transaction_time": value}])
    assert "Transaction" not in result.stats
    ((code, external_id),) = [(n.code, n.external_id) for n in result.notifications]
    assert (code, external_id) == ("invalid_value", "t1")


@pytest.mark.parametrize(
    ("fund", "fund_id", "imported"),
    [("General", None, True), (None, "1", True), (None, None, False)],
)
def test_a_gift_needs_a_fund_or_fund_id(
    run: Run, fund: str | None, fund_id: str | None, imported: bool
) -> None:
    """001: fund "Yes (if unknown, pass 'General')", fund_id "Yes (if unknown, pass '1')"."""
    row = GIFT | {"fund": fund, "fund_id": fund_id}
    result = run(data_format="contact_with_transaction", data=[row])
    assert ("Transaction" in result.stats) is imported
    if not imported:
        assert [n.code for n in result.notifications] == ["missing_required"]


@pytest.mark.parametrize(
    ("content", "imported"),
    [
        ({"message": "hi"}, True),
        ({"note_subject": "hi"}, True),
        ({"note_body": "hi"}, True),
        ({"message_body": "hi"}, True),
        ({"note_type": "Call"}, False),
    ],
)
def test_a_note_needs_content(run: Run, content: dict[str, str], imported: bool) -> None:
    row = {"id": "c1", "first_name": "A", "last_name": "B", "note_id": "n1"}
    row |= {"note_time": 1444762572} | content
    result = run(data_format="contact_with_note", data=[row])
    assert ("Note" in result.stats) is imported


def test_gifts_naming_no_contact_refuse_the_whole_request(api: httpx.Client) -> None:
    """001's documented refusal; rows with an `id` are not refused (the id may find one)."""
    nameless = {k: v for k, v in GIFT.items() if k not in ("id", "first_name", "last_name")}
    body = {"data_format": "contact_with_transaction", "data": [GIFT, nameless]}
    refused = api.post("/imports", json=body)
    assert refused.status_code == 422
    assert refused.json()["validation_messages"] == [
        "Couldn't find contact information for transaction"
    ]
    with_id = nameless | {"id": "c9"}
    accepted = api.post("/imports", json=body | {"data": [GIFT, with_id]})
    assert accepted.status_code == 200
    note = {"id": None, "note_time": 1444762572, "note_body": "x"}
    refused_note = api.post("/imports", json={"data_format": "contact_with_note", "data": [note]})
    assert refused_note.json()["validation_messages"] == [
        "Couldn't find contact information for note"
    ]


def test_in_a_file_such_rows_are_dropped_one_by_one(run: Run, files: FileServer) -> None:
    header = ["id", "first_name", "last_name", "transaction_id", "amount_in_cents"]
    header += ["transaction_time", "fund"]
    rows = [
        ["c1", "Ada", "L", "t1", 500, 1444762572, "General"],
        ["", "", "", "t2", 500, 1444762572, "General"],
    ]
    url = files.put_csv("nameless.csv.gz", header, rows)
    result = run(
        data_format="contact_with_transaction",
        data_url=url,
        data_type="csv",
        compression="gzip",
    )
    assert result.stats["Transaction"] == 1
    (note,) = result.notifications
    assert (note.code, note.external_id, note.desc) == (
        "contact_not_found",
        "t2",
        "Couldn't find contact information for transaction",
    )


def test_custom_field_identifiers_are_coming_soon(run: Run, sandbox: SandboxHandle) -> None:
    """Accepted, not applied: the column is unknown, not a custom field."""
    row = {"id": "c1", "first_name": "A", "last_name": "B", "Hours": "3"}
    result = run(data_format="contact", custom_field_identifiers=["Hours"], data=[row])
    assert result.stats == {"Contact": 1}
    assert [n.code for n in result.notifications] == ["unknown_column"]
    assert "custom_fields" not in sandbox.records()["contacts"][0]

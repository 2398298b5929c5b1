"""Verdicts per row and their reasons, against the sandbox Kindful over HTTP."""

from __future__ import annotations

from pathlib import Path

from preview_helpers import FIRST, HEADER, SAMPLES, import_inline, preview, reason, verdicts, write

from pipelines.kindful.client import KindfulClient


def test_update_create_and_rejected_rows(client: KindfulClient, tmp_path: Path) -> None:
    import_inline(client, write(tmp_path / "first.csv", FIRST), "contact_with_transaction")
    later = write(
        tmp_path / "later.csv",
        [
            f"{HEADER},transaction_updated_at",
            "C-1001,Ann,Lee,ann@example.org,2024-06-01T00:00:00Z,T-3001,5000,"
            "2024-01-01T00:00:00Z,2024-06-01T00:00:00Z",
            "C-1002,Bob,Ray,bob@example.org,2023-12-01T00:00:00Z,T-3002,7000,2024-01-02T00:00:00Z,",
            "C-1003,Cy,New,cy@example.org,2024-06-01T00:00:00Z,T-3003,900,2024-06-01T00:00:00Z,",
            "C-1003,Cy,New,cy@example.org,2024-06-01T00:00:00Z,T-3004,0,2024-06-02T00:00:00Z,",
            "C-1003,Cy,New,cy@example.org,2024-06-01T00:00:00Z,T-3005,100,2024-06-03T00:00:00Z,",
        ],
    )

    updated = preview(client, later, "contact_with_transaction", action="update")

    assert verdicts(updated) == {
        1: "update",
        2: "leave alone",
        3: "create",
        4: "rejected",
        5: "create",
    }
    rows = updated.rows.set_index("source_row")
    assert (
        rows.at[1, "contact_verdict"] == "update" and rows.at[2, "contact_verdict"] == "leave alone"
    )
    assert reason(updated, 1).startswith("transaction matched by external_id 'T-3001' (Kindful id")
    assert "is newer than Kindful's 2024-01-01 00:00:00 UTC" in reason(updated, 1)
    assert "contact matched by external_id 'C-1001' (Kindful id" in reason(updated, 1)
    assert "updated_at 2023-12-01 00:00:00 UTC is older than Kindful's" in reason(updated, 2)
    assert "no transaction with external_id 'T-3003'" in reason(updated, 3)
    assert "no contact with external_id 'C-1003'" in reason(updated, 3)
    assert "same contact as source row 3" in reason(updated, 5)
    assert reason(updated, 4).startswith("amount_in_cents: ")
    assert updated.counts == {
        "create": 2,
        "update": 1,
        "leave alone": 1,
        "cannot preview": 0,
        "rejected": 1,
    }

    created = preview(client, later, "contact_with_transaction", action="create")
    assert verdicts(created)[1] == "leave alone"
    assert "a create run leaves existing records as they are" in reason(created, 1)


def test_notes_cannot_be_previewed_and_say_so(client: KindfulClient) -> None:
    result = preview(client, SAMPLES / "contact_with_note.jsonl", "contact_with_note")
    rows = result.rows[result.rows["verdict"] != "rejected"]
    assert set(rows["verdict"]) == {"cannot preview"} and set(rows["record"]) == {"note"}
    assert set(rows["contact_verdict"]) == {"create"}
    assert (
        rows["reason"]
        .str.startswith("Kindful offers no query for notes: contact verdict only")
        .all()
    )
    assert result.rows.loc[result.rows["verdict"] == "rejected", "source_row"].tolist() == [9]

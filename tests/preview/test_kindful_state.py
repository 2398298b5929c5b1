"""What a preview reads from Kindful (email_exist or one query), with no email in the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from preview_helpers import FIRST, import_inline, posts, preview, reason, verdicts, write

from pipelines.kindful.client import KindfulClient
from sandbox.serve import SandboxHandle


def test_match_by_email_names_the_email_match(
    kindful: SandboxHandle,
    client: KindfulClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import_inline(client, write(tmp_path / "first.csv", FIRST), "contact_with_transaction")
    kindful.sandbox.seed_contact(
        kindful.app, {"first_name": "Dee", "last_name": "Old", "email": "dee@example.org"}
    )
    other_ids = write(
        tmp_path / "contacts.csv",
        [
            "id,first_name,last_name,email,updated_at",
            "X-1,Ann,Lee,ANN@example.org,2024-01-01T00:00:00Z",
            "X-2,Dee,Old,dee@example.org,2024-01-01T00:00:00Z",
            "X-3,Eve,New,eve@example.org,2024-01-01T00:00:00Z",
        ],
    )
    by_email = ("contact=email",)

    with caplog.at_level(logging.DEBUG):
        quick = preview(client, other_ids, "contact", match_by=by_email)
    assert "example.org" not in caplog.text  # httpx logs URLs; email_exist's hold emails
    assert verdicts(quick) == {1: "leave alone", 2: "leave alone", 3: "create"}
    assert quick.rows["match_key"].tolist() == ["email"] * 3
    assert reason(quick, 1).startswith("contact matched by email 'ann@example.org'")
    assert reason(quick, 3) == "no contact with email 'eve@example.org'"
    assert quick.kindful_reads == {"contacts/email_exist": 3}

    bulk = preview(client, other_ids, "contact", match_by=by_email, email_exist_max=0)
    assert verdicts(bulk) == verdicts(quick)
    assert "contact matched by email 'ann@example.org' (Kindful id" in reason(bulk, 1)
    assert "the import links it to id 'X-2'" in reason(bulk, 2)  # Dee was entered in Kindful
    assert bulk.kindful_reads == {"contacts/query": 3}
    assert kindful.sandbox_requests()["POST /contacts/query"] == 1
    assert posts(kindful) == 1  # the import above, nothing since

"""Matching Kindful's answers in 001's shapes: organization_name, unix and UTC-text updated_at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from preview_helpers import HEADER, write

from pipelines.kindful.client import KindfulClient
from pipelines.preview.plan import preview_export
from pipelines.transform.options import resolve_run


class _ReferenceShapes:
    """Answers shaped like 001's examples: no email, organization_name, unix updated_at."""

    def query_contacts(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield {"id": 100000, "record_type": "contact", "external_id": "C-1", "sync_version": 5}
        yield {"id": 101000, "external_id": "C-2", "updated_at": 1509645789}

    def query_transactions(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield {"id": 5000, "external_id": "T-1", "updated_at": "2016-04-05 10:36:52 UTC"}


def test_answers_shaped_like_the_reference_examples(tmp_path: Path) -> None:
    source = write(
        tmp_path / "gifts.csv",
        [
            f"{HEADER},transaction_updated_at",
            "C-1,Joe,Smith,,2016-04-06T00:00:00Z,T-1,500,2016-03-31T15:36:52Z,2016-04-05T10:36:52Z",
            "C-2,Jane,Smith,,2017-11-03T00:00:00Z,T-2,500,2016-03-31T15:36:52Z,",
        ],
    )
    run = resolve_run(data_format="contact_with_transaction", action="update")
    result = preview_export(str(source), cast(KindfulClient, _ReferenceShapes()), run, run.mapping)
    rows = result.rows.set_index("source_row")
    assert rows.at[1, "verdict"] == "leave alone" and rows.at[2, "verdict"] == "create"
    assert rows.at[1, "contact_verdict"] == "cannot preview"  # no updated_at in the answer
    assert rows.at[2, "contact_verdict"] == "update"  # 1509645789 = 2017-11-02 18:03:09 UTC
    assert "is the same as Kindful's" in str(rows.at[1, "reason"])

"""Rows without external ids get ids that do not depend on the file, only on the record."""

from __future__ import annotations

import pandas as pd

from pipelines.transform.ids import IdAssigner
from schemas.columns import FORMATS

GIFTS = pd.DataFrame(
    {
        "first_name": ["Ada", "Ada", "Bo", "Ada"],
        "last_name": ["Example", "Example", "Demo", "Example"],
        "email": ["ada@example.org", "ada@example.org", pd.NA, "ada@example.org"],
        "amount_in_cents": ["500", "700", "500", "500"],
        "transaction_time": ["2024-01-01T00:00:00+00:00"] * 2
        + ["2024-01-02T00:00:00+00:00", "2024-01-01T00:00:00+00:00"],
        "was_refunded": ["false", "false", "false", "true"],
    },
    dtype="object",
)


def assign(frame: pd.DataFrame, source: str = "classy") -> pd.DataFrame:
    return IdAssigner(FORMATS["contact_with_transaction"], source).assign(frame.copy())


def test_the_same_person_gets_one_contact_id_and_each_gift_its_own() -> None:
    out = assign(GIFTS)
    assert out["id"][0] == out["id"][1] == out["id"][3] != out["id"][2]
    assert out["transaction_id"].nunique() == 4
    assert out["transaction_id"][3] == out["transaction_id"][0] + "-2"  # an identical gift


def test_ids_do_not_depend_on_the_file_or_row_order_but_on_the_source_system() -> None:
    first = assign(GIFTS.iloc[:3])
    overlapping = assign(GIFTS.iloc[[2, 1]].reset_index(drop=True))
    assert overlapping["transaction_id"].tolist() == first["transaction_id"][[2, 1]].tolist()
    assert assign(GIFTS, "stripe")["transaction_id"][0] != first["transaction_id"][0]


def test_given_ids_are_kept_and_changing_fields_do_not_change_the_id() -> None:
    given = GIFTS.assign(transaction_id=["T1", pd.NA, pd.NA, pd.NA])
    out = assign(given)
    assert out["transaction_id"][0] == "T1"
    refunded = GIFTS.assign(was_refunded="true")
    assert assign(refunded)["transaction_id"].tolist() == assign(GIFTS)["transaction_id"].tolist()


def test_repeats_are_numbered_across_chunks_as_in_one_pass() -> None:
    whole = assign(GIFTS)
    assigner = IdAssigner(FORMATS["contact_with_transaction"], "classy")
    chunks = [assigner.assign(GIFTS.iloc[i : i + 1].copy()) for i in range(4)]
    assert pd.concat(chunks)["transaction_id"].tolist() == whole["transaction_id"].tolist()

"""Rows without external ids get ids that do not depend on the file, only on the record."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.transform.ids import ID_PREFIX, IdAssigner, _id_texts, _merged
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


MIXED = pd.DataFrame(
    {
        "email": ["Ada@Example.ORG", None, "ada@example.org", pd.NA, None],
        "first_name": ["Ada", "ΟΔΥΣΣΕΥΣ", "x", "İpek", "ΟΔΥΣΣΕΥΣ"],  # final sigma, dotted I
        "last_name": ["Example", "Σ", "y", "Straße", "Σ"],
        "postal": ["12345", 2, None, "ǅ", 2],  # a number, as JSON lines give them
        "amount_in_cents": ["500", "700", "500", "500", "700"],
        "transaction_time": ["2024-01-01T00:00:00+00:00"] * 5,
    },
    dtype=object,
)
# The ids the list-of-str implementation derived (before keys were built in Arrow): ids must
# never change, or a re-run would duplicate what an earlier run imported.
MIXED_IDS = [
    "ke-804f721a9bb01021aa4e8b85",
    "ke-10c50d1d2bf5273942120e99",
    "ke-804f721a9bb01021aa4e8b85",
    "ke-72ef995815c463ec1610385b",
    "ke-10c50d1d2bf5273942120e99",
]
MIXED_TRANSACTION_IDS = [
    "ke-ca4361aa0fd7bc13f1997822",
    "ke-b59faa3ea5780bec4790cbf8",
    "ke-ca4361aa0fd7bc13f1997822-2",
    "ke-899be50628c988a66e65377e",
    "ke-b59faa3ea5780bec4790cbf8-2",
]


def test_ids_stay_what_they_were_for_objects_and_arrow_backed_text() -> None:
    arrow_backed = MIXED.assign(
        **{c: MIXED[c].astype("str") for c in MIXED.columns if c != "postal"}
    )
    for frame in (MIXED, arrow_backed):
        out = assign(frame)
        assert out["id"].tolist() == MIXED_IDS
        assert out["transaction_id"].tolist() == MIXED_TRANSACTION_IDS


def test_arrow_backed_id_columns_stay_arrow_backed_and_given_ids_are_kept() -> None:
    given = MIXED.astype({"email": "str"}).assign(
        id=pd.Series(["C-1", None, None, None, None], dtype="str"),
        transaction_id=pd.Series(["T-1", None, None, None, None], dtype="str"),
    )
    out = assign(given)
    assert str(out["id"].dtype) == "str" and str(out["transaction_id"].dtype) == "str"
    assert out["id"].tolist()[0] == "C-1" and out["transaction_id"].tolist()[0] == "T-1"
    assert out["id"].tolist()[1:] == MIXED_IDS[1:]


def test_a_key_arrow_cannot_hold_takes_the_list_path() -> None:
    last_names = pd.Series(["Example", "Σ", "y", "Straße", "\udc80"], dtype=object)
    frame = MIXED.assign(last_name=last_names)
    try:
        out = assign(frame)
    except UnicodeEncodeError:
        return  # str.encode refuses a lone surrogate, as it always did
    assert out["id"].tolist()[:4] == MIXED_IDS[:4]


def test_ids_are_written_as_bytes_hex_would_write_them() -> None:
    digests = [bytes(range(12)), b"\xff" * 12, b"\x00" * 11 + b"\x01", b"\x10" * 12]
    texts = _id_texts(np.frombuffer(b"".join(digests), dtype="S12")).to_pylist()
    assert texts == [ID_PREFIX + digest.hex() for digest in digests]


def test_distinct_keys_sharing_a_digest_share_an_id_and_its_repeat_numbers() -> None:
    """12 bytes of sha256 never collide in practice; if they did, the two keys would be one
    id, numbered as one (what numbering the derived id strings always did)."""
    digests = np.frombuffer(b"a" * 12 + b"b" * 12 + b"a" * 12, dtype="S12")
    assert _merged(digests[:2]) is None
    merged = _merged(digests)
    assert merged is not None
    assert merged[0].tolist() == [0, 1, 0] and merged[1].tolist() == [b"a" * 12, b"b" * 12]
    assigner = IdAssigner(FORMATS["contact_with_transaction"], "classy")
    ids = assigner._derived_by_code(np.array([0, 2, 1, 2]), digests, occurrences=True)
    first, second = ID_PREFIX + (b"a" * 12).hex(), ID_PREFIX + (b"b" * 12).hex()
    assert ids.to_pylist() == [first, first + "-2", second, first + "-3"]

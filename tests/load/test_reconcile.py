"""Reconciliation by external id: each notification finds its source rows through the batch's
id index, the rows it drops are counted once, and the totals close whatever Kindful says."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.kindful.models import ImportResult
from pipelines.load.reconcile import (
    ADVISORY_CODES,
    COUNTS_DISAGREE,
    UNREAD,
    reconcile_batch,
    run_report,
    write_reconciliation,
)
from pipelines.outputs.batch_index import BatchIndex
from pipelines.outputs.batches import Batch, BatchWriter

# Source rows 1..8 with a reject at 3 and 6: the batch carries 1, 2, 4, 5, 7, 8.
GIFTS = pd.DataFrame(
    {
        "id": ["c1", "c2", "c2", "c4", "c5", "c6"],
        "first_name": ["A", "B", "B", "D", "E", "F"],
        "transaction_id": ["t1", "t2", "t3", "t4", "t5", "t5"],  # t5 twice: rows 7 and 8
        "amount_in_cents": ["1", "2", "3", "4", "5", "6"],
    },
    index=[0, 1, 3, 4, 6, 7],
)


def one_batch(tmp_path: Path, frame: pd.DataFrame = GIFTS, rows: int = 100) -> list[Batch]:
    writer = BatchWriter(tmp_path / "batches", rows)
    writer.add(frame)
    writer.close()
    return writer.batches


def note(code: str, record: dict[str, Any] | None, number: int = 1) -> dict[str, Any]:
    return {"code": code, "desc": f"{code} desc", "id": number, "status": "open", "object": record}


def gift(transaction_id: str | None, contact_id: str | None = None) -> dict[str, Any]:
    return {
        "id": None,
        "external_id": transaction_id,
        "record_type": "transaction",
        "contact": {"external_id": contact_id, "record_type": "contact"},
    }


def job(stats: dict[str, int], *notes: dict[str, Any], status: str = "complete") -> ImportResult:
    body: dict[str, Any] = {"id": "job-1", "status": status, "stats": stats, "update_stats": {}}
    if status == "complete":
        body["notifications"] = {"page": 0, "count": len(notes), "results": list(notes)}
    return ImportResult.from_api(body)


def lines(outcome: Any) -> list[tuple[Any, str, str]]:
    frame = outcome.findings
    rows = [None if pd.isna(r) else int(r) for r in frame["source_row"]]
    return list(zip(rows, frame["code"], frame["dropped"], strict=True))


def test_the_index_sits_beside_the_batch_and_names_kinds(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    assert batch.index_path == tmp_path / "batches" / "batch-00001.ids.gz"
    index = BatchIndex.load(batch.index_path, batch.source_rows.to_numpy())
    assert index.kinds == ("contact", "transaction")
    assert index.ids["transaction"].tolist() == ["t1", "t2", "t3", "t4", "t5", "t5"]
    assert index.source_rows.tolist() == [1, 2, 4, 5, 7, 8]


def test_a_dropped_gift_is_its_source_row(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    result = job({"Transaction": 5}, note("transaction_id_reused_with_split", gift("t4", "c4")))
    outcome = reconcile_batch(batch, result, "Transaction")
    assert (outcome.created, outcome.dropped, outcome.no_effect) == (5, 1, 0)
    assert lines(outcome) == [(5, "transaction_id_reused_with_split", "yes")]


def test_a_repeated_id_drops_every_row_that_sent_it(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    result = job({"Transaction": 4}, note("some_new_code", gift("t5")))
    outcome = reconcile_batch(batch, result, "Transaction")
    assert outcome.dropped == 2
    assert lines(outcome) == [(7, "some_new_code", "yes"), (8, "some_new_code", "yes")]


def test_a_note_on_a_contact_is_a_finding_on_its_rows_not_a_drop(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    contact = {"external_id": "c2", "record_type": "contact"}
    result = job({"Transaction": 6}, note("missing_updated_at", contact))
    outcome = reconcile_batch(batch, result, "Transaction")
    assert (outcome.created, outcome.dropped) == (6, 0)
    assert lines(outcome) == [(2, "missing_updated_at", "no"), (4, "missing_updated_at", "no")]


def test_a_gift_without_our_id_is_tied_through_its_contact(tmp_path: Path) -> None:
    """generated_id: Kindful made the id up; the nested contact still names the rows."""
    (batch,) = one_batch(tmp_path)
    result = job({"Transaction": 6}, note("generated_id", gift(None, "c4")))
    assert lines(reconcile_batch(batch, result, "Transaction")) == [(5, "generated_id", "no")]


def test_a_note_naming_no_row_we_sent_is_still_a_finding(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    notes = [
        note("transaction_id_reused_with_split", gift("not-ours", "nobody"), 1),
        note("odd", None, 2),
        note("odd", {"external_id": "c1", "record_type": "pledge"}, 3),  # not a pledge batch
    ]
    outcome = reconcile_batch(batch, job({"Transaction": 6}, *notes), "Transaction")
    assert outcome.dropped == 0 and outcome.no_effect == 0
    assert lines(outcome) == [
        (None, "transaction_id_reused_with_split", "no"),
        (None, "odd", "no"),
        (None, "odd", "no"),
    ]


def test_a_typeless_object_is_read_as_the_main_record_then_a_contact(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    notes = [note("x", {"external_id": "t2"}, 1), note("y", {"external_id": "c6"}, 2)]
    outcome = reconcile_batch(batch, job({"Transaction": 5}, *notes), "Transaction")
    assert lines(outcome) == [(2, "x", "yes"), (8, "y", "no")]
    assert outcome.dropped == 1


def test_advisory_codes_never_drop(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    notes = [note(code, gift("t1"), i) for i, code in enumerate(sorted(ADVISORY_CODES))]
    outcome = reconcile_batch(batch, job({"Transaction": 6}, *notes), "Transaction")
    assert outcome.dropped == 0
    assert {dropped for _, _, dropped in lines(outcome)} == {"no"}


def test_kindfuls_counts_bound_the_drops_and_say_so(tmp_path: Path) -> None:
    """Notifications naming more rows than the stats leave: the stats win, a finding says it."""
    (batch,) = one_batch(tmp_path)
    notes = [note("odd", gift(t), i) for i, t in enumerate(["t1", "t2", "t3"])]
    outcome = reconcile_batch(batch, job({"Transaction": 5}, *notes), "Transaction")
    assert (outcome.created, outcome.dropped, outcome.no_effect) == (5, 1, 0)
    assert lines(outcome)[-1] == (None, COUNTS_DISAGREE, "no")


def test_unread_notifications_are_a_finding(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    body = job({"Transaction": 5}, note("odd", gift("t1"))).model_dump()
    result = ImportResult.model_validate(body | {"notification_count": 40})
    outcome = reconcile_batch(batch, result, "Transaction")
    assert lines(outcome)[-1] == (None, UNREAD, "no")
    assert "40 notifications; 39 could not be read" in outcome.findings["description"].iloc[-1]


def test_a_failed_job_keeps_its_findings_and_counts_nothing(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    outcome = reconcile_batch(batch, job({}, status="load_failed"), "Transaction")
    assert (outcome.accounted, outcome.findings.empty) == (0, True)


def test_splits_are_tied_by_their_own_id(tmp_path: Path) -> None:
    """A split batch's `id` is the split's; its transaction_id is the parent's."""
    splits = pd.DataFrame(
        {
            "id": ["s1", "s2", "s3"],
            "transaction_id": ["t9", "t9", "t8"],
            "unit_amount_in_cents": ["1", "1", "1"],
            "fund": ["General"] * 3,
        }
    )
    (batch,) = one_batch(tmp_path, splits)
    index = BatchIndex.load(batch.index_path, batch.source_rows.to_numpy())
    assert index.kinds == ("transaction", "split_transaction")
    split = {"external_id": "s2", "record_type": "split_transaction"}
    outcome = reconcile_batch(batch, job({}, note("transaction_not_found", split)), "Transaction")
    assert (outcome.dropped, outcome.no_effect) == (1, 2)
    assert lines(outcome) == [(2, "transaction_not_found", "yes")]


def test_findings_csv_is_formula_neutral(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    danger = note("=HYPERLINK(1)", gift("t1")) | {"desc": "=cmd|'/c calc'!A1"}
    outcome = reconcile_batch(batch, job({"Transaction": 5}, danger), "Transaction")
    validation = {"rows_read": 8, "rows_accepted": 6, "rows_rejected": 2}
    report = run_report(
        run_id="r", validation=validation, outcomes=[outcome], main_record="Transaction"
    )
    assert report["totals_close"] and report["rows_dropped"] == 1 and report["findings"] == 1
    write_reconciliation(tmp_path, report, [outcome])
    with (tmp_path / "findings.csv").open(newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row == {
        "source_row": "1",
        "batch": "batch-00001",
        "job_id": "job-1",
        "code": "'=HYPERLINK(1)",
        "description": "'=cmd|'/c calc'!A1",
        "dropped": "yes",
    }


def test_no_findings_is_a_header(tmp_path: Path) -> None:
    (batch,) = one_batch(tmp_path)
    outcome = reconcile_batch(batch, job({"Transaction": 6}), "Transaction")
    write_reconciliation(tmp_path, {"any": 1}, [outcome])
    header = (tmp_path / "findings.csv").read_text().splitlines()
    assert header == ["source_row,batch,job_id,code,description,dropped"]


NOTE_OBJECTS = st.one_of(
    st.none(),
    st.builds(
        gift,
        st.sampled_from(["t1", "t2", "t3", "t4", "t5", "zz", None]),
        st.sampled_from(["c1", "c2", "c4", "c6", "nobody", None]),
    ),
    st.fixed_dictionaries(
        {"external_id": st.sampled_from(["c1", "c2", "x"]), "record_type": st.just("contact")}
    ),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    created=st.integers(0, 9),
    updated=st.integers(0, 9),
    notes=st.lists(
        st.tuples(st.sampled_from(["odd", "generated_id", "contact_not_found"]), NOTE_OBJECTS),
        max_size=12,
    ),
    status=st.sampled_from(["complete", "complete", "load_failed", "error"]),
)
def test_totals_always_close(
    tmp_path: Path,
    created: int,
    updated: int,
    notes: list[tuple[str, dict[str, Any] | None]],
    status: str,
) -> None:
    """Whatever Kindful answers, every row is counted once, and no notification is lost."""
    (batch,) = one_batch(tmp_path)
    result = ImportResult.from_api(
        {
            "id": "j",
            "status": status,
            "stats": {"Transaction": created},
            "update_stats": {"Transaction": updated},
            "notifications": {
                "page": 0,
                "count": len(notes),
                "results": [note(code, obj, i) for i, (code, obj) in enumerate(notes)],
            },
        }
    )
    outcome = reconcile_batch(batch, result, "Transaction")
    if status == "complete":
        assert outcome.accounted == batch.rows
        assert min(outcome.created, outcome.updated, outcome.dropped, outcome.no_effect) >= 0
    else:
        assert outcome.accounted == 0
    assert set(outcome.findings["code"]) >= {code for code, _ in notes}
    tied = outcome.findings[outcome.findings["code"].isin({c for c, _ in notes})]
    assert tied["source_row"].dropna().isin([1, 2, 4, 5, 7, 8]).all()
    validation = {"rows_read": 8, "rows_accepted": 6, "rows_rejected": 2}
    report = run_report(
        run_id="r", validation=validation, outcomes=[outcome], main_record="Transaction"
    )
    assert report["totals_close"]


def test_batches_of_one_row_each(tmp_path: Path) -> None:
    """Several batches: each finds only its own rows."""
    batches = one_batch(tmp_path, rows=2)
    assert [b.rows for b in batches] == [2, 2, 2]
    result = job({"Transaction": 1}, note("odd", gift("t4")), note("odd", gift("t1"), 2))
    outcomes = [reconcile_batch(b, result, "Transaction") for b in batches]
    assert [o.dropped for o in outcomes] == [1, 1, 0]
    assert [lines(o) for o in outcomes] == [  # in notification order: t4's, then t1's
        [(None, "odd", "no"), (1, "odd", "yes")],
        [(5, "odd", "yes"), (None, "odd", "no")],
        [(None, "odd", "no"), (None, "odd", "no")],
    ]


@pytest.mark.parametrize("main_record", ["Contact", "Note"])
def test_the_main_record_decides_what_drops(tmp_path: Path, main_record: str) -> None:
    frame = pd.DataFrame({"id": ["c1"], "note_id": ["n1"], "note_body": ["x"]})
    (batch,) = one_batch(tmp_path, frame)
    notes = [
        note("odd", {"external_id": "c1", "record_type": "contact"}, 1),
        note("odd", {"external_id": "n1", "record_type": "note"}, 2),
    ]
    outcome = reconcile_batch(batch, job({}, *notes), main_record)
    expected = ["yes", "no"] if main_record == "Contact" else ["no", "yes"]
    assert [d for _, _, d in lines(outcome)] == expected

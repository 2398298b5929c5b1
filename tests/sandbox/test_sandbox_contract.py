"""The sandbox answers in the reference's shapes: every answer is checked against the example
001 prints for it (tests/fixtures/reference_answers.json) and parsed by the client's model.

`assert_shape` fails on any key the reference's example does not show, at any depth, and on a
value of another JSON type than the example's. The few places the sandbox must say more than
001 shows are the allowances below, each a row of sandbox/README.md's table; an answer that
grows any other key fails here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import finish, make_client

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.models import (
    Campaign,
    CustomField,
    CustomFieldGroup,
    EmailExists,
    ErrorAnswer,
    Fund,
    Group,
    ImportJob,
    ImportRequest,
    ImportResult,
    ImportStats,
    OrganizationDetails,
    QueryErrorAnswer,
    QueryPage,
    submit_answer,
)
from sandbox.formats import FORMATS, NOTE_CONTENT, RECORD_TYPES, UPDATE_STATS_KEYS
from sandbox.serve import SandboxHandle, running_sandbox
from schemas.columns import FORMATS as PIPELINE_FORMATS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reference_answers.json"
ANSWERS: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text())


def example(name: str) -> Any:
    return ANSWERS[name]["body"]


NOTE_OBJECT = example("import_status_complete")["notifications"]["results"][0]["object"]
# The record types 001's stats and update_stats name, and the other kinds the sandbox writes.
STATS_KEYS = set(example("import_status_complete")["update_stats"]) | set(RECORD_TYPES.values())
# Assumption (sandbox/README.md): 001 shows only a transaction as a notification's object; a
# note, pledge, non-cash gift, soft credit or split is the same frame with its own columns.
OTHER_KINDS_EXTRA = {
    spec.activity.kind: set(spec.activity.columns)
    for spec in FORMATS.values()
    if spec.activity is not None
}
SPLIT_EXTRA = {"transaction_id", "unit_amount_in_cents", "quantity"}
# Assumption: a failed job (load_failed, ...) says why in `message` (001: "we will note more in
# the error response"); 001 prints no failed job.
FAILED_EXTRA = {"message"}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_shape(
    answer: Any, reference: Any, path: str = "", extra: frozenset[str] = frozenset()
) -> None:
    """`answer` shows nothing `reference` does not: no other key, no other JSON type.

    Lists are checked item by item against the union of the reference's items. A null in
    the reference admits any value (001 writes null where a record has nothing yet).
    """
    if reference is None or answer is None:
        return
    assert _json_type(answer) == _json_type(reference), f"{path}: {answer!r} vs {reference!r}"
    if isinstance(reference, dict):
        unknown = set(answer) - set(reference) - extra
        assert not unknown, f"{path or 'answer'}: keys 001 does not show: {sorted(unknown)}"
        for key, value in answer.items():
            if key in reference:
                assert_shape(value, reference[key], f"{path}.{key}")
    elif isinstance(reference, list) and reference:
        union = _union(reference)
        for i, item in enumerate(answer):
            assert_shape(item, union, f"{path}[{i}]")


def assert_counts(counts: Any) -> None:
    """`stats` / `update_stats`: record type -> count, as 001's keys are spelled."""
    assert isinstance(counts, dict)
    for key, value in counts.items():
        assert type(value) is int, (key, value)
        assert key in STATS_KEYS or (key.startswith("Integrations ") and key.endswith(" Link"))


def _union(items: list[Any]) -> Any:
    if not all(isinstance(item, dict) for item in items):
        return items[0]
    merged: dict[str, Any] = {}
    for item in items:
        for key, value in item.items():
            merged[key] = value if merged.get(key) is None else merged[key]
    return merged


def assert_notification_object(record: dict[str, Any]) -> None:
    """A notification's object against 001's transaction (and its nested contact)."""
    kind = record["record_type"]
    if kind == "transaction":
        assert_shape(record, NOTE_OBJECT, "object")
    elif kind == "contact":
        assert_shape(record, NOTE_OBJECT["contact"], "object")
    else:
        extra = SPLIT_EXTRA if kind == "split_transaction" else OTHER_KINDS_EXTRA[kind]
        assert_shape(record, NOTE_OBJECT, "object", frozenset(extra))


def assert_job_answer(answer: dict[str, Any]) -> ImportResult:
    """GET /imports/{id} in any status, against 001's ready and complete examples."""
    status = answer["status"]
    assert_counts(answer["stats"])
    assert_counts(answer["update_stats"])
    frame = {k: v for k, v in answer.items() if k not in ("stats", "update_stats")}
    if status == "complete":
        reference = example("import_status_complete")
        assert set(answer) == set(reference)
        notes = answer["notifications"]
        assert_shape({**frame, "notifications": {**notes, "results": []}}, reference)
        assert all(answer["stats"].values()), "stats lists only non-zero counts"
        assert set(UPDATE_STATS_KEYS) <= set(answer["update_stats"])
        for note in notes["results"]:
            assert set(note) == {"code", "desc", "id", "status", "object"}
            assert_shape({**note, "object": {}}, reference["notifications"]["results"][0])
            assert_notification_object(note["object"])
    else:
        extra = frozenset(FAILED_EXTRA) if status not in ("ready", "working") else frozenset()
        assert_shape(frame, example("import_status_ready"), extra=extra)
        assert {"id", "status", "stats", "update_stats"} <= set(answer)
        assert answer["stats"] == {} and answer["update_stats"] == {}
    return ImportResult.from_api(answer)


# -- the checks themselves can fail ---------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        lambda a: a["notifications"]["results"][0]["object"].update(row=1),  # a row number
        lambda a: a["notifications"]["results"][0]["object"].update(dropped=True),
        lambda a: a["notifications"].update(per_page=100),  # paging 001 does not show
        lambda a: a["stats"].update(Contact=0),  # a zero in stats
        lambda a: a["update_stats"].pop("Team"),  # update_stats not zero-filled
        lambda a: a["notifications"]["results"][0]["object"]["contact"].update(group_ids=[]),
        lambda a: a["notifications"]["results"][0].update(row=1),
    ],
)
def test_the_shape_check_fails_on_what_001_does_not_show(
    mutate: Callable[[dict[str, Any]], None],
) -> None:
    answer = json.loads(json.dumps(example("import_status_complete")))
    assert_job_answer(answer)
    mutate(answer)
    with pytest.raises(AssertionError):
        assert_job_answer(answer)


# -- POST /imports and GET /imports/{id} ---------------------------------------------------

GIFT = {
    "id": "c1",
    "first_name": "Pete",
    "last_name": "Brumm",
    "transaction_id": "t1",
    "amount_in_cents": 1000,
    "transaction_time": "2015-10-13 18:56:12 UTC",
    "fund": "Test Fund",
    "fund_id": "6",
    "campaign": "Test Campaign",
}


def test_post_and_a_ready_job(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.set_faults(hold_jobs=True)
    posted = api.post("/imports", json={"data_format": "contact_with_transaction", "data": [GIFT]})
    assert_shape(posted.json(), example("post_imports_pending"))
    assert set(posted.json()) == set(example("post_imports_pending"))
    job = submit_answer(posted.json())
    assert isinstance(job, ImportJob)
    ready = api.get(f"/imports/{job.id}").json()
    assert ready["status"] == "ready"
    assert set(ready) == set(example("import_status_ready"))
    assert_job_answer(ready)


def test_a_working_job() -> None:
    with running_sandbox(processing_delay=1.0) as sb, make_client(sb.base_url, sb.token) as c:
        job = c.submit_import(
            ImportRequest(
                data_format="contact", data=[{"id": "1", "first_name": "A", "last_name": "B"}]
            )
        )
        deadline = time.monotonic() + 10
        while True:
            answer = httpx.get(
                f"{sb.base_url}/imports/{job.id}",
                headers={"Authorization": f'Token token="{sb.token}"'},
            ).json()
            if answer["status"] == "working" or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert answer["status"] == "working"
        assert set(answer) == set(example("import_status_ready"))
        assert_job_answer(answer)


def test_a_complete_job_with_dropped_rows_of_every_kind(
    api: httpx.Client, client: KindfulClient, sandbox: SandboxHandle
) -> None:
    """001's notification: the affected record, whatever dropped it."""
    rows = [
        GIFT,
        GIFT | {"transaction_id": "t2", "amount_in_cents": 0},  # invalid value
        GIFT | {"transaction_id": "t3", "fund": None, "fund_id": None},  # fund required
        GIFT | {"id": "c4", "transaction_id": "t4", "shoe_size": "9"},  # unknown column
    ]
    posted = api.post("/imports", json={"data_format": "contact_with_transaction", "data": rows})
    result = finish(client, posted.json()["id"])
    answer = api.get(f"/imports/{result.id}").json()
    parsed = assert_job_answer(answer)
    assert [(n.code, n.external_id) for n in parsed.notifications] == [
        ("unknown_column", "t4"),  # the first row that has the column
        ("invalid_value", "t2"),
        ("missing_required", "t3"),
    ]
    assert answer["stats"] == {
        "Contact": 2,
        "Transaction": 2,
        "Fund": 1,
        "Campaign": 1,
        "Integrations Fund Link": 1,
    }


def test_objects_of_the_other_kinds(
    run_raw: Callable[[dict[str, Any]], ImportResult], api: httpx.Client
) -> None:
    """A note, pledge, non-cash gift, soft credit, contact and split as notification objects."""
    person: dict[str, object] = {"id": "p1", "first_name": "Ann", "last_name": "Lee"}
    bodies: list[tuple[str, dict[str, object]]] = [
        ("contact_with_note", {"note_id": "n1", "note_body": "hi"}),  # no note_time
        ("contact_with_pledge", {"pledge_id": "p1", "pledge_time": 1444762572}),  # no amount
        ("contact_with_non_cash_gift", {"non_cash_gift_id": "g1", "amount_in_cents": 5}),
        ("contact_with_soft_credit", {"soft_credit_id": "s1", "amount_in_cents": 5}),
        ("contact", {"email": "not-an-email"}),
        (
            "split_transaction",
            {"id": "1:1", "transaction_id": "1", "unit_amount_in_cents": 1, "fund": "G"},
        ),
    ]
    seen = set()
    for data_format, extra in bodies:
        row = extra if data_format == "split_transaction" else person | extra
        result = run_raw({"data_format": data_format, "data": [row]})
        answer = api.get(f"/imports/{result.id}").json()
        parsed = assert_job_answer(answer)
        (note,) = parsed.notifications
        seen.add(note.record_type)
    assert seen == {
        "note",
        "pledge",
        "non_cash_gift",
        "soft_credit",
        "contact",
        "split_transaction",
    }


def test_a_failed_job(api: httpx.Client, client: KindfulClient, sandbox: SandboxHandle) -> None:
    sandbox.set_faults(fail_jobs=["setup_failed"])
    posted = api.post("/imports", json={"data_format": "contact", "data": [GIFT]})
    finish(client, posted.json()["id"])
    answer = api.get(f"/imports/{posted.json()['id']}").json()
    assert answer["status"] == "setup_failed" and answer["message"]
    assert_job_answer(answer)


def test_a_refused_post(api: httpx.Client) -> None:
    """001's documented refusal: inline gifts that name no contact at all."""
    rows = [{"transaction_id": "t1", "amount_in_cents": 100, "transaction_time": 1444762572}]
    posted = api.post("/imports", json={"data_format": "contact_with_transaction", "data": rows})
    assert posted.status_code == 422
    assert_shape(posted.json(), example("post_imports_error"))
    assert set(posted.json()) == set(example("post_imports_error"))
    refused = submit_answer(posted.json())
    assert isinstance(refused, ErrorAnswer)
    assert refused.validation_messages == ["Couldn't find contact information for transaction"]


# -- sync status, queries, reads -----------------------------------------------------------


def test_sync_status_both_ways(api: httpx.Client, sandbox: SandboxHandle) -> None:
    enabled = api.get("/imports/stats").json()
    assert enabled == example("sync_status_enabled")
    sandbox.set_faults(hold_jobs=True)
    api.post("/imports", json={"data_format": "contact", "data": [GIFT]})
    disabled = api.get("/imports/stats").json()
    assert set(disabled) == set(example("sync_status_disabled"))
    assert disabled["message"] == example("sync_status_disabled")["message"]
    assert ImportStats.model_validate(disabled).sync_enabled is False


def _loaded(run_raw: Callable[[dict[str, Any]], ImportResult]) -> None:
    rows = [GIFT | {"id": f"c{i}", "transaction_id": f"t{i}"} for i in range(3)]
    run_raw({"data_format": "contact_with_transaction", "data": rows})


def test_query_answers(
    api: httpx.Client, run_raw: Callable[[dict[str, Any]], ImportResult]
) -> None:
    """001's own query bodies, answered in 001's shapes (columns as asked)."""
    _loaded(run_raw)
    transactions_body = {
        "query": ["linked"],
        "per_page": 2,
        "columns": {
            "transaction": ["id", "external_id", "sync_version", "contact_id", "amount_in_cents",
                            "transaction_time", "campaign", "fund", "updated_at", "batch_id"],
            "contact": ["id", "external_id", "sync_version", "first_name", "last_name"],
            "campaign": ["id", "external_id", "sync_version", "name"],
            "fund": ["id", "external_id", "sync_version", "name"],
        },
    }  # fmt: skip
    first = api.post("/transactions/query", json=transactions_body).json()
    assert_shape(first, example("transactions_query_page"))
    assert QueryPage.model_validate(first).results
    second = api.post("/transactions/query", json={"query_token": first["query_token"]}).json()
    assert_shape(second, example("transactions_query_page"))
    contacts_body = {
        "query": ["linked"],
        "per_page": 5,
        "columns": {"contact": ["id", "external_id", "sync_version", "first_name", "last_name"]},
    }
    contacts = api.post("/contacts/query", json=contacts_body).json()
    assert_shape(contacts, example("contacts_query_page"))
    refused = api.post("/contacts/query", json={"query": ["example"]})
    assert_shape(refused.json(), example("contacts_query_error"))
    assert QueryErrorAnswer.model_validate(refused.json()).errors == [
        "query 'example' does not exist"
    ]


def test_query_not_ready(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.set_faults(query_not_ready=1, query_results_delay=5)
    answer = api.post("/contacts/query", json={"query": ["linked"]}).json()
    assert_shape(answer, example("contacts_query_not_ready"))
    assert set(answer) == set(example("contacts_query_not_ready"))


def test_read_endpoints(
    api: httpx.Client, run_raw: Callable[[dict[str, Any]], ImportResult]
) -> None:
    _loaded(run_raw)
    run_raw(
        {
            "data_format": "contact",
            "custom_fields": ["Hours Worked"],
            "data": [{"id": "j", "first_name": "J", "last_name": "S", "Hours Worked": "3"}],
        }
    )
    checks: list[tuple[str, str, Callable[[Any], Any]]] = [
        ("/contacts/email_exist?email=x@example.org", "email_exist", EmailExists.model_validate),
        ("/details", "details", OrganizationDetails.model_validate),
        ("/campaigns", "campaigns", lambda b: [Campaign.model_validate(i) for i in b]),
        ("/funds", "funds", lambda b: [Fund.model_validate(i) for i in b]),
        ("/groups", "groups", lambda b: [Group.model_validate(i) for i in b]),
        ("/custom_fields", "custom_fields", lambda b: [CustomField.model_validate(i) for i in b]),
        (
            "/custom_field_groups",
            "custom_field_groups",
            lambda b: [CustomFieldGroup.model_validate(i) for i in b],
        ),
        (
            "/custom_fields?custom_field_group_id=77",
            "custom_fields_error",
            ErrorAnswer.model_validate,
        ),
    ]
    for path, name, model in checks:
        answer = api.get(path).json()
        assert_shape(answer, example(name), name)
        assert model(answer) is not None


def test_the_note_rule_is_the_validators() -> None:
    """001 requires `message` but its example sends only the bodies: the sandbox and
    kindful-etl's validator take the same columns as a note's content."""
    assert PIPELINE_FORMATS["contact_with_note"].one_of == NOTE_CONTENT

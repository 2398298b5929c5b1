"""The client's models against the reference's own answers (001), as printed there.

tests/fixtures/reference_answers.json holds every JSON answer 001 prints for an endpoint the
client calls, each with its line in 001 and the fixes needed to make it JSON (comments, `nil`,
unquoted keys, one unterminated string). The client parses each one; the sandbox's answers are
held to the same fixtures in tests/sandbox/test_sandbox_contract.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.errors import KindfulRejected
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
from pipelines.kindful.settings import KindfulSettings, RetryPolicy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reference_answers.json"
ANSWERS: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text())
REFERENCE = next(
    (Path(__file__).resolve().parents[3] / "shared" / "kindful-docs").glob("001_*"), None
)
MODELS: dict[str, Callable[[Any], Any]] = {
    "ImportJob": ImportJob.model_validate,
    "ErrorAnswer": ErrorAnswer.model_validate,
    "ImportResult": ImportResult.from_api,
    "ImportStats": ImportStats.model_validate,
    "QueryPage": QueryPage.model_validate,
    "QueryErrorAnswer": QueryErrorAnswer.model_validate,
    "EmailExists": EmailExists.model_validate,
    "OrganizationDetails": OrganizationDetails.model_validate,
    "Campaign[]": lambda body: [Campaign.model_validate(item) for item in body],
    "Fund[]": lambda body: [Fund.model_validate(item) for item in body],
    "Group[]": lambda body: [Group.model_validate(item) for item in body],
    "CustomField[]": lambda body: [CustomField.model_validate(item) for item in body],
    "CustomFieldGroup[]": lambda body: [CustomFieldGroup.model_validate(item) for item in body],
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_the_client_parses_every_answer_001_prints(name: str) -> None:
    example = ANSWERS[name]
    assert MODELS[example["model"]](example["body"])


def _first_text(body: Any) -> str:
    """A string value of the example (else its first key), to find it in 001."""
    items = body if isinstance(body, list) else [body]
    for item in items:
        for value in item.values():
            if isinstance(value, str) and value:
                return value
    return str(next(iter(items[0])))


@pytest.mark.skipif(REFERENCE is None, reason="../shared/kindful-docs not present")
@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_each_fixture_is_where_001_prints_it(name: str) -> None:
    """Provenance: the example's first text value is on the lines 001 prints it."""
    assert REFERENCE is not None
    lines = REFERENCE.read_text().split("\n")
    example = ANSWERS[name]
    nearby = "\n".join(lines[example["line"] - 1 : example["line"] + 6])
    assert _first_text(example["body"]) in nearby


def test_a_complete_job_with_its_notification() -> None:
    """001's complete job: non-zero stats, zero-filled update_stats, the affected record."""
    result = ImportResult.from_api(ANSWERS["import_status_complete"]["body"])
    assert result.succeeded and result.finished
    assert result.stats["Transaction"] == 1 and result.update_stats["Contact"] == 0
    (note,) = result.notifications
    assert (note.code, note.id, note.status) == ("transaction_id_reused_with_split", 1, "open")
    assert (note.record_type, note.external_id, note.contact_external_id) == (
        "transaction",
        "1",
        "1",
    )
    assert (result.notification_count, result.notifications_unread) == (1, 0)


def test_a_ready_job_has_no_notifications() -> None:
    result = ImportResult.from_api(ANSWERS["import_status_ready"]["body"])
    assert (result.status, result.finished, result.stats, result.update_stats) == (
        "ready",
        False,
        {},
        {},
    )
    assert result.notifications == [] and result.notification_count == 0


def test_post_answers_are_a_job_or_a_refusal() -> None:
    job = submit_answer(ANSWERS["post_imports_pending"]["body"])
    assert isinstance(job, ImportJob) and job.status == "pending"
    refused = submit_answer(ANSWERS["post_imports_error"]["body"])
    assert isinstance(refused, ErrorAnswer)
    assert refused.validation_messages == ["Couldn't find contact information for transaction"]


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> KindfulClient:
    settings = KindfulSettings(
        token=SecretStr("contract-token"),
        base_url="http://kindful.test/api/v1",
        retry=RetryPolicy(attempts=2, wait_initial=0, wait_max=0, wait_jitter=0),
    )
    return KindfulClient(settings, transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("status", [200, 422])
def test_a_refused_post_raises_with_kindfuls_words(status: int) -> None:
    """001's error body, with a 2xx or a 4xx status: KindfulRejected, never a job."""
    body = ANSWERS["post_imports_error"]["body"]
    with (
        _client(lambda request: httpx.Response(status, json=body)) as client,
        pytest.raises(KindfulRejected) as caught,
    ):
        client.submit_import(
            ImportRequest(data_format="contact", data_type="csv", data_url="https://x/y.csv")
        )
    assert caught.value.message == "Too many rows specified in data request"
    assert caught.value.validation_messages == ["Couldn't find contact information for transaction"]


def _notes(first: int, count: int) -> list[dict[str, Any]]:
    note = ANSWERS["import_status_complete"]["body"]["notifications"]["results"][0]
    return [note | {"id": i} for i in range(first, first + count)]


def _job(count: int, results: list[dict[str, Any]], page: int = 0) -> dict[str, Any]:
    body = dict(ANSWERS["import_status_complete"]["body"])
    body["notifications"] = {"page": page, "count": count, "results": results}
    return body


def test_paging_is_tried_but_not_relied_on() -> None:
    """A Kindful that ignores ?page= answers page 0 again: one more ask, nothing counted twice."""
    asked: list[str] = []

    def same_page_every_time(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json=_job(5, _notes(1, 2)))

    with _client(same_page_every_time) as client:
        result = client.get_import("j")
    assert [n.id for n in result.notifications] == [1, 2]
    assert (result.notification_count, result.notifications_unread) == (5, 3)
    assert len(asked) == 2 and asked[1].endswith("?page=1")


def test_pages_that_overlap_or_run_dry_stop_the_reading() -> None:
    """Overlapping pages add only what is new; an empty page ends it; no id twice."""
    pages = {0: _notes(1, 2), 1: _notes(2, 2), 2: []}

    def overlapping(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 0))
        return httpx.Response(200, json=_job(6, pages[page], page))

    with _client(overlapping) as client:
        result = client.get_import("j")
    assert [n.id for n in result.notifications] == [1, 2, 3]
    assert result.notifications_unread == 3


def test_pages_that_work_are_all_read_once() -> None:
    def honest(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 0))
        return httpx.Response(200, json=_job(5, _notes(1 + 2 * page, min(2, 5 - 2 * page)), page))

    with _client(honest) as client:
        result = client.get_import("j")
    assert [n.id for n in result.notifications] == [1, 2, 3, 4, 5]
    assert result.notifications_unread == 0

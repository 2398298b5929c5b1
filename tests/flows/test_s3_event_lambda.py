"""The S3-drop Lambda: notification shapes, key decoding, filters, event ids, the POSTed events.

A small HTTP server on 127.0.0.1 stands in for the Prefect API and records every request.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import flows.s3_event_lambda as s3_lambda
from flows.s3_event_lambda import (
    DEFAULT_SUFFIXES,
    EVENT_NAME,
    DropEventError,
    DropFilter,
    DroppedObject,
    Ignored,
    PrefectTarget,
    handle,
    handler,
    read_notification,
)

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "pnu_notarealkey0000000000000000000000000"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakePrefect:
    """Records requests; answers each with the next queued status (204 when none is queued)."""

    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for request in self.requests for event in request.body]


@pytest.fixture
def prefect_api() -> Iterator[FakePrefect]:
    fake = FakePrefect()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            with lock:
                fake.requests.append(
                    Recorded(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                status = fake.statuses.pop(0) if fake.statuses else 204
            self.send_response(status)
            payload = b"" if status == 204 else b'{"detail": "nope"}'
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean Lambda environment; no real sleeping between retries."""
    for name in (
        "PREFECT_API_URL",
        "PREFECT_API_KEY",
        "PREFECT_API_AUTH_STRING",
        "KINDFUL_ETL_DROP_PREFIX",
        "KINDFUL_ETL_DROP_SUFFIXES",
        "KINDFUL_ETL_PREFECT_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KINDFUL_ETL_DROP_BUCKETS", "kindful-etl-drops")
    monkeypatch.setattr(s3_lambda, "_sleep", lambda seconds: None)


def notification(
    key: str,
    *,
    bucket: str = "kindful-etl-drops",
    event_name: str = "ObjectCreated:Put",
    sequencer: str | None = "0055AED6DCD90281E5",
    etag: str = "d41d8cd98f00b204e9800998ecf8427e",
    version_id: str | None = None,
) -> dict[str, Any]:
    """An S3 event notification record as S3 sends it (the key given here already encoded)."""
    obj: dict[str, Any] = {"key": key, "size": 1024, "eTag": etag}
    if sequencer:
        obj["sequencer"] = sequencer
    if version_id:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2024-03-01T02:03:04.567Z",
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def eventbridge(key: str, *, detail_type: str = "Object Created", **fields: Any) -> dict[str, Any]:
    obj = {
        "key": key,
        "size": 1024,
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
        "sequencer": "0055AED6DCD90281E5",
        **fields,
    }
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "111122223333",
        "time": "2024-03-01T02:03:04Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::kindful-etl-drops"],
        "detail": {
            "version": "0",
            "bucket": {"name": "kindful-etl-drops"},
            "object": obj,
            "reason": "PutObject",
        },
    }


def objects(event: Any) -> list[DroppedObject]:
    return [o for o in read_notification(event) if isinstance(o, DroppedObject)]


# --------------------------------------------------------------------------------------------
# reading notifications
# --------------------------------------------------------------------------------------------


def test_an_s3_notification_key_is_url_decoded() -> None:
    event = {"Records": [notification("inbox/Gifts+2024%2BQ1+%28final%29.csv")]}
    (obj,) = objects(event)
    assert obj.bucket == "kindful-etl-drops"
    assert obj.key == "inbox/Gifts 2024+Q1 (final).csv"
    assert obj.uri == "s3://kindful-etl-drops/inbox/Gifts 2024+Q1 (final).csv"
    assert obj.etag == "d41d8cd98f00b204e9800998ecf8427e" and obj.size == 1024
    assert obj.occurred == "2024-03-01T02:03:04.567Z" and obj.via == "s3"


def test_an_eventbridge_key_is_taken_as_stored() -> None:
    (obj,) = objects(eventbridge("inbox/Gifts 2024+Q1.csv", **{"version-id": "v1"}))
    assert obj.key == "inbox/Gifts 2024+Q1.csv"  # a literal plus stays a plus
    assert obj.version_id == "v1" and obj.sequencer == "0055AED6DCD90281E5"
    assert obj.occurred == "2024-03-01T02:03:04Z" and obj.reason == "PutObject"


def test_records_that_are_not_object_created_are_ignored() -> None:
    event = {
        "Records": [
            notification("inbox/a.csv", event_name="ObjectRemoved:Delete"),
            notification("inbox/b.csv", event_name="ObjectCreated:CompleteMultipartUpload"),
        ]
    }
    found = list(read_notification(event))
    assert isinstance(found[0], Ignored) and "ObjectRemoved:Delete" in found[0].reason
    assert isinstance(found[1], DroppedObject) and found[1].key == "inbox/b.csv"
    (deleted,) = read_notification(eventbridge("inbox/a.csv", detail_type="Object Deleted"))
    assert isinstance(deleted, Ignored)
    (test_event,) = read_notification({"Service": "Amazon S3", "Event": "s3:TestEvent"})
    assert isinstance(test_event, Ignored)


def test_sqs_and_sns_envelopes_are_opened() -> None:
    s3_body = json.dumps({"Records": [notification("inbox/a.csv")]})
    sns_message = {"Type": "Notification", "Message": s3_body}
    event = {
        "Records": [
            {"eventSource": "aws:sqs", "body": s3_body},
            {"eventSource": "aws:sqs", "body": json.dumps(sns_message)},
            {"EventSource": "aws:sns", "Sns": {"Message": s3_body}},
            {"eventSource": "aws:sqs", "body": json.dumps(eventbridge("inbox/b.csv"))},
        ]
    }
    assert [o.key for o in objects(event)] == ["inbox/a.csv"] * 3 + ["inbox/b.csv"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "expected a JSON object"),
        ({"hello": 1}, "not an S3 notification or EventBridge event (keys: hello)"),
        ({"Records": ["x"]}, "not a JSON object"),
        ({"Records": [{"eventSource": "aws:sqs", "body": "{not json"}]}, "not JSON"),
        ({"Records": [notification("")]}, "no bucket or key"),
    ],
)
def test_what_cannot_be_read_raises_so_lambda_retries(event: Any, message: str) -> None:
    with pytest.raises(DropEventError, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(read_notification(event))


# --------------------------------------------------------------------------------------------
# event ids
# --------------------------------------------------------------------------------------------


def test_event_ids_are_deterministic_per_object_write() -> None:
    (one,) = objects({"Records": [notification("inbox/a.csv")]})
    (again,) = objects({"Records": [notification("inbox/a.csv")]})
    (later,) = objects({"Records": [notification("inbox/a.csv", sequencer="0055AED6DCD90281FF")]})
    (other_key,) = objects({"Records": [notification("inbox/b.csv")]})
    (other_bucket,) = objects({"Records": [notification("inbox/a.csv", bucket="other")]})
    assert one.event_id == again.event_id
    assert len({one.event_id, later.event_id, other_key.event_id, other_bucket.event_id}) == 4
    # The same write seen through EventBridge gets the same id as through the notification.
    (via_eventbridge,) = objects(eventbridge("inbox/a.csv"))
    assert via_eventbridge.event_id == one.event_id


def test_without_a_sequencer_the_version_then_the_etag_identify_the_write() -> None:
    def event_id(**kwargs: Any) -> str:
        (obj,) = objects({"Records": [notification("inbox/a.csv", sequencer=None, **kwargs)]})
        return obj.event_id

    assert event_id(version_id="v1") != event_id(version_id="v2")
    assert event_id(etag="aa") != event_id(etag="bb")
    assert event_id(etag="aa") == event_id(etag="aa")


# --------------------------------------------------------------------------------------------
# filters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("inbox/gifts.csv", None),
        ("inbox/gifts.CSV", None),
        ("inbox/gifts.csv.gz", None),
        ("inbox/contacts.xlsx", None),
        ("inbox/notes.jsonl", None),
        ("inbox/readme.txt", "not one of"),
        ("inbox/sub/", "a folder marker"),
        ("archive/gifts.csv", "outside the prefix"),
        ("inbox/processed/gifts.csv", "under processed/"),
        ("inbox/failed/gifts.findings.csv", "under failed/"),
        ("inbox/2024/processed.csv", None),
        ("inbox/_partial.csv", "hidden or temporary"),
        ("inbox/.gifts.csv", "hidden or temporary"),
    ],
)
def test_the_drop_filter(key: str, reason: str | None) -> None:
    drop_filter = DropFilter.from_env(
        {"KINDFUL_ETL_DROP_PREFIX": "inbox/", "KINDFUL_ETL_DROP_BUCKETS": "b"}
    )
    why = drop_filter.why_not(DroppedObject(bucket="b", key=key))
    assert (why is None) if reason is None else (why is not None and reason in why)


def test_the_done_folders_are_the_inbox_syncs() -> None:
    from pipelines.inbox.listing import DONE_FOLDERS, EXPORT_SUFFIXES

    assert s3_lambda.DONE_FOLDERS == DONE_FOLDERS
    assert set(DEFAULT_SUFFIXES) <= set(EXPORT_SUFFIXES)


def test_the_suffixes_come_from_the_environment() -> None:
    assert DropFilter.from_env({}).suffixes == DEFAULT_SUFFIXES
    assert DropFilter.from_env({"KINDFUL_ETL_DROP_SUFFIXES": " .TSV , .txt"}).suffixes == (
        ".tsv",
        ".txt",
    )
    anything = DropFilter.from_env(
        {"KINDFUL_ETL_DROP_SUFFIXES": "*", "KINDFUL_ETL_DROP_BUCKETS": "b"}
    )
    assert anything.why_not(DroppedObject(bucket="b", key="x.bin")) is None


# --------------------------------------------------------------------------------------------
# the handler and what it POSTs
# --------------------------------------------------------------------------------------------


def test_the_handler_posts_one_event_per_drop_to_the_events_endpoint(
    prefect_api: FakePrefect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_api.api_url + "/")
    monkeypatch.setenv("KINDFUL_ETL_DROP_PREFIX", "inbox/")
    event = {
        "Records": [
            notification("inbox/Gifts+2024.csv"),
            notification("inbox/readme.txt"),
            notification("archive/old.csv"),
            notification("inbox/gone.csv", event_name="ObjectRemoved:Delete"),
        ]
    }
    summary = handler(event, None)

    (request,) = prefect_api.requests
    assert request.method == "POST" and request.path == "/api/events"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers  # a self-hosted server without auth
    (sent,) = request.body
    (obj,) = objects({"Records": [notification("inbox/Gifts+2024.csv")]})
    assert sent == {
        "id": obj.event_id,
        "occurred": "2024-03-01T02:03:04.567Z",
        "event": EVENT_NAME,
        "resource": {
            "prefect.resource.id": "s3://kindful-etl-drops/inbox/Gifts 2024.csv",
            "prefect.resource.name": "inbox/Gifts 2024.csv",
            "s3.bucket": "kindful-etl-drops",
            "s3.key": "inbox/Gifts 2024.csv",
            "s3.etag": "d41d8cd98f00b204e9800998ecf8427e",
            "s3.sequencer": "0055AED6DCD90281E5",
            "s3.size": "1024",
        },
        "related": [
            {
                "prefect.resource.id": "s3://kindful-etl-drops",
                "prefect.resource.role": "bucket",
                "prefect.resource.name": "kindful-etl-drops",
            }
        ],
        "payload": {"reason": "ObjectCreated:Put", "via": "s3"},
    }
    assert summary["emitted"] == [
        {"id": obj.event_id, "uri": "s3://kindful-etl-drops/inbox/Gifts 2024.csv"}
    ]
    assert [i["uri"] for i in summary["ignored"]] == [
        "s3://kindful-etl-drops/inbox/readme.txt",
        "s3://kindful-etl-drops/archive/old.csv",
        "s3://kindful-etl-drops/inbox/gone.csv",
    ]


def test_the_posted_events_are_what_the_prefect_server_accepts(prefect_api: FakePrefect) -> None:
    from prefect.server.events.schemas.events import Event

    target = PrefectTarget(api_url=prefect_api.api_url)
    handle({"Records": [notification("inbox/a.csv")]}, target=target)
    handle(eventbridge("inbox/b c.csv", **{"version-id": "v1"}), target=target)
    for sent in prefect_api.events:
        event = Event.model_validate(sent)
        assert event.resource.id == sent["resource"]["prefect.resource.id"]
        assert str(event.id) == sent["id"]


def test_a_duplicate_delivery_posts_the_same_event_id(prefect_api: FakePrefect) -> None:
    target = PrefectTarget(api_url=prefect_api.api_url)
    event = {"Records": [notification("inbox/a.csv")]}
    handle(event, target=target)
    handle(event, target=target)
    first, second = prefect_api.events
    assert first == second


def test_nothing_to_emit_posts_nothing_and_needs_no_prefect(prefect_api: FakePrefect) -> None:
    summary = handler({"Records": [notification("inbox/readme.txt")]}, None)
    assert summary["emitted"] == [] and len(summary["ignored"]) == 1
    assert prefect_api.requests == []


def test_many_drops_go_in_batches_of_a_hundred(prefect_api: FakePrefect) -> None:
    event = {"Records": [notification(f"inbox/{n}.csv") for n in range(150)]}
    handle(event, target=PrefectTarget(api_url=prefect_api.api_url))
    assert [len(r.body) for r in prefect_api.requests] == [100, 50]


def test_prefect_cloud_gets_the_api_key_as_a_bearer_token(
    prefect_api: FakePrefect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_api.api_url)
    monkeypatch.setenv("PREFECT_API_KEY", API_KEY)
    handler({"Records": [notification("inbox/a.csv")]}, None)
    assert prefect_api.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_a_server_with_basic_auth_gets_the_auth_string(
    prefect_api: FakePrefect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_api.api_url)
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", "admin:s3cret-pass")
    handler({"Records": [notification("inbox/a.csv")]}, None)
    # base64("admin:s3cret-pass")
    assert prefect_api.requests[0].headers["authorization"] == "Basic YWRtaW46czNjcmV0LXBhc3M="


def test_server_errors_are_retried_then_raised_without_secrets(
    prefect_api: FakePrefect, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_api.api_url)
    monkeypatch.setenv("PREFECT_API_KEY", API_KEY)
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", "admin:s3cret-pass")
    prefect_api.statuses = [503, 503, 503]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DropEventError, match="HTTP 503") as failure:
        handler({"Records": [notification("inbox/a.csv")]}, None)
    assert len(prefect_api.requests) == 3
    text = str(failure.value) + caplog.text + repr(PrefectTarget.from_env())
    assert API_KEY not in text and "s3cret" not in text
    assert f"127.0.0.1:{prefect_api.port}/api/events" in str(failure.value)

    # Credentials in the URL itself are refused, and not repeated.
    monkeypatch.setenv("PREFECT_API_URL", "https://user:pw-in-url@prefect.internal/api")
    with pytest.raises(DropEventError, match="must not carry credentials") as refused:
        handler({"Records": [notification("inbox/a.csv")]}, None)
    assert "pw-in-url" not in str(refused.value)


def test_a_transient_error_is_retried_and_then_succeeds(prefect_api: FakePrefect) -> None:
    prefect_api.statuses = [502]
    handle({"Records": [notification("inbox/a.csv")]}, target=PrefectTarget(prefect_api.api_url))
    assert len(prefect_api.requests) == 2


def test_a_rejected_event_is_not_retried(prefect_api: FakePrefect) -> None:
    prefect_api.statuses = [422]
    with pytest.raises(DropEventError, match=r"HTTP 422: \{\"detail\": \"nope\"\}"):
        handle(
            {"Records": [notification("inbox/a.csv")]}, target=PrefectTarget(prefect_api.api_url)
        )
    assert len(prefect_api.requests) == 1


def test_an_unreachable_prefect_raises() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = PrefectTarget(api_url=f"http://127.0.0.1:{port}/api", timeout=2)
    with pytest.raises(DropEventError, match="URLError"):
        handle({"Records": [notification("inbox/a.csv")]}, target=target)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "PREFECT_API_URL is not set"),
        ({"PREFECT_API_URL": "ftp://x/api"}, "must be an http"),
        ({"PREFECT_API_URL": "http://x/api", "KINDFUL_ETL_PREFECT_TIMEOUT": "soon"}, "number"),
    ],
)
def test_bad_configuration_raises(environ: dict[str, str], message: str) -> None:
    with pytest.raises(DropEventError, match=message):
        PrefectTarget.from_env(environ)


def test_the_handler_logs_what_it_did(
    prefect_api: FakePrefect, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_api.api_url)
    monkeypatch.setenv("PREFECT_API_KEY", API_KEY)
    caplog.set_level(logging.INFO, logger=s3_lambda.__name__)
    handler({"Records": [notification("inbox/a.csv"), notification("inbox/b.txt")]}, None)
    assert "emitted" in caplog.text and "s3://kindful-etl-drops/inbox/a.csv" in caplog.text
    assert "ignored s3://kindful-etl-drops/inbox/b.txt" in caplog.text
    assert API_KEY not in caplog.text


def test_the_module_imports_only_the_standard_library() -> None:
    """A Lambda package holds this one file; a cold start must not pull in Prefect or boto3."""
    heavy = ("prefect", "boto3", "botocore", "pandas", "httpx", "pydantic", "sqlalchemy")
    code = (
        "import sys, flows.s3_event_lambda; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"

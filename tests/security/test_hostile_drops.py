"""Hostile drops: a bucket/prefix allow-list, no redirects, no credentials over plain http to
another machine, keys logged so that they cannot forge log lines."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import flows.s3_event_lambda as s3_lambda
from flows.s3_event_lambda import DropEventError, DropFilter, PrefectTarget, handle, printable
from pipelines.inbox.drop_policy import drop_allowed

pytestmark = pytest.mark.slow

AUTH_STRING = "admin:not-a-real-password-0000"


@dataclass
class Endpoint:
    """A loopback HTTP server answering every POST with `status` (and `location`)."""

    status: int = 204
    location: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"


@pytest.fixture
def endpoints() -> Iterator[tuple[Endpoint, Endpoint]]:
    made = []
    for _ in range(2):
        state = Endpoint()

        class Handler(BaseHTTPRequestHandler):
            endpoint = state

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self.endpoint.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(self.endpoint.status)
                if self.endpoint.location:
                    self.send_header("Location", self.endpoint.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        state.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        made.append((state, server, thread))
    try:
        yield made[0][0], made[1][0]
    finally:
        for _, server, thread in made:
            server.shutdown()
            server.server_close()
            thread.join(5)


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PREFECT_API_URL",
        "PREFECT_API_KEY",
        "PREFECT_API_AUTH_STRING",
        "KINDFUL_ETL_DROP_BUCKETS",
        "KINDFUL_ETL_DROP_PREFIX",
        "KINDFUL_ETL_DROP_SUFFIXES",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(s3_lambda, "_sleep", lambda seconds: None)


def record(key: str, bucket: str = "kindful-etl-drops") -> dict[str, Any]:
    return {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": "2024-03-01T12:00:00.000Z",
        "s3": {
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 10, "eTag": "abc", "sequencer": "0055AED6DCD90281E5"},
        },
    }


# --------------------------------------------------------------------------------------------
# the allow-list
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "bucket", "key", "refused"),
    [
        ("kindful-etl-drops", "kindful-etl-drops", "inbox/a.csv", False),
        ("kindful-etl-drops", "someone-elses-bucket", "inbox/a.csv", True),
        ("kindful-etl-drops/inbox/", "kindful-etl-drops", "inbox/a.csv", False),
        ("kindful-etl-drops/inbox/", "kindful-etl-drops", "archive/a.csv", True),
        ("kindful-etl-drops/inbox/", "kindful-etl-drops", "inbox-other/a.csv", True),
        (" a , kindful-etl-drops/in/ ", "kindful-etl-drops", "in/x/a.csv", False),
        (" a , kindful-etl-drops/in/ ", "a", "anything.csv", False),
        ("kindful-etl-drops-2", "kindful-etl-drops", "a.csv", True),
        (None, "kindful-etl-drops", "inbox/a.csv", True),
    ],
)
def test_drop_allowed_and_the_handler_agree_on_the_allow_list(
    allowed: str | None, bucket: str, key: str, refused: bool
) -> None:
    environ = {} if allowed is None else {"KINDFUL_ETL_DROP_BUCKETS": allowed}
    reason = drop_allowed(bucket, key, environ)
    assert (reason is not None) == refused
    if refused:
        assert "KINDFUL_ETL_DROP_BUCKETS" in (reason or "")
    from flows.s3_event_lambda import DroppedObject

    lambda_reason = DropFilter.from_env(environ).why_not(DroppedObject(bucket=bucket, key=key))
    assert (lambda_reason is not None) == refused


def test_a_foreign_bucket_is_refused_by_the_handler_and_nothing_is_sent(
    endpoints: tuple[Endpoint, Endpoint],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prefect, _ = endpoints
    monkeypatch.setenv("PREFECT_API_URL", prefect.api_url)
    monkeypatch.setenv("KINDFUL_ETL_DROP_BUCKETS", "kindful-etl-drops/inbox/")
    caplog.set_level(logging.INFO, logger=s3_lambda.__name__)
    result = handle({"Records": [record("inbox/a.csv", bucket="someone-elses-bucket")]})
    assert result["emitted"] == []
    assert result["ignored"][0]["reason"] == "bucket/prefix not in KINDFUL_ETL_DROP_BUCKETS"
    assert prefect.requests == []
    result = handle({"Records": [record("inbox/a.csv")]})
    assert len(result["emitted"]) == 1 and len(prefect.requests) == 1


def test_without_an_allow_list_a_drop_is_an_error_not_an_import(
    endpoints: tuple[Endpoint, Endpoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefect, _ = endpoints
    monkeypatch.setenv("PREFECT_API_URL", prefect.api_url)
    with pytest.raises(DropEventError, match="KINDFUL_ETL_DROP_BUCKETS is not set"):
        handle({"Records": [record("inbox/a.csv")]})
    assert prefect.requests == []
    assert handle({"Event": "s3:TestEvent"})["emitted"] == []  # nothing to import: no error


# --------------------------------------------------------------------------------------------
# where credentials go
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_from_prefect_is_an_error_and_credentials_stay_home(
    status: int, endpoints: tuple[Endpoint, Endpoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefect, elsewhere = endpoints
    prefect.status, prefect.location = status, f"{elsewhere.api_url}/events"
    monkeypatch.setenv("PREFECT_API_URL", prefect.api_url)
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", AUTH_STRING)
    monkeypatch.setenv("KINDFUL_ETL_DROP_BUCKETS", "kindful-etl-drops")
    with pytest.raises(DropEventError, match=rf"HTTP {status}, a redirect \(not followed\)"):
        handle({"Records": [record("inbox/a.csv")]})
    assert elsewhere.requests == []  # neither the events nor the Basic credentials
    assert len(prefect.requests) == 1  # not retried: the answer will not change


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://prefect.internal:4200/api", True),
        ("http://10.0.0.12:4200/api", True),
        ("http://127.0.0.1:4200/api", False),
        ("http://localhost:4200/api", False),
        ("http://[::1]:4200/api", False),
        ("https://prefect.internal/api", False),
    ],
)
def test_credentials_are_not_sent_over_plain_http_to_another_machine(
    url: str, refused: bool
) -> None:
    for credential in ({"PREFECT_API_KEY": "pnu_x"}, {"PREFECT_API_AUTH_STRING": AUTH_STRING}):
        environ = {"PREFECT_API_URL": url, **credential}
        if refused:
            with pytest.raises(DropEventError, match="credentials are only sent over https"):
                PrefectTarget.from_env(environ)
        else:
            assert PrefectTarget.from_env(environ).api_url == url
    assert PrefectTarget.from_env({"PREFECT_API_URL": url}).api_url == url  # no credentials


# --------------------------------------------------------------------------------------------
# log lines
# --------------------------------------------------------------------------------------------


def test_a_key_with_an_encoded_line_break_cannot_forge_log_lines(
    endpoints: tuple[Endpoint, Endpoint],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prefect, _ = endpoints
    monkeypatch.setenv("PREFECT_API_URL", prefect.api_url)
    monkeypatch.setenv("KINDFUL_ETL_DROP_BUCKETS", "kindful-etl-drops")
    caplog.set_level(logging.INFO, logger=s3_lambda.__name__)
    forged = "inbox/a.csv%0AINFO+emitted+0000+for+s3%3A%2F%2Fkindful-etl-drops%2Fevil.csv"
    notes = "inbox/b%0D%0Aignored%1B%5B2J.txt"
    result = handle({"Records": [record(forged), record(notes)]})
    assert "\n" in result["emitted"][0]["uri"]  # the key itself is kept as it is
    messages = [r.getMessage() for r in caplog.records if r.name == s3_lambda.__name__]
    assert len(messages) == 2
    for message in messages:
        assert "\n" not in message and "\r" not in message and "\x1b" not in message
    assert "a.csv\\nINFO emitted" in messages[0]
    sent = json.loads(prefect.requests[0]["body"])
    assert sent[0]["resource"]["s3.key"].startswith("inbox/a.csv\nINFO")


def test_printable_escapes_only_control_characters() -> None:
    assert printable("inbox/Café 2024.csv") == "inbox/Café 2024.csv"
    assert printable("a\nb\r\x1b[0m\u2028") == "a\\nb\\r\\x1b[0m\\u2028"

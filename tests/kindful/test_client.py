"""The Kindful client against the sandbox over real HTTP: retries, typed errors, secrecy."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.errors import (
    KindfulAuthError,
    KindfulConfigError,
    KindfulError,
    KindfulRateLimited,
    KindfulServerError,
    KindfulTransportError,
)
from pipelines.kindful.models import ImportRequest
from pipelines.kindful.settings import (
    LIVE_BASE_URL,
    AuthStyle,
    KindfulSettings,
    RetryPolicy,
)
from sandbox.serve import SandboxHandle, running_sandbox

TOKEN = "client-test-secret-3f9a"
FAST = RetryPolicy(attempts=4, timeout=10, wait_initial=0.001, wait_max=0.01, wait_jitter=0)
ROWS = [{"id": "1", "first_name": "A", "last_name": "B"}]


@pytest.fixture
def server() -> Iterator[SandboxHandle]:
    with running_sandbox(token=TOKEN, faults={"retry_after": 0}) as handle:
        yield handle


def client_for(base_url: str, **settings: Any) -> KindfulClient:
    settings.setdefault("retry", FAST)
    return KindfulClient(KindfulSettings(token=TOKEN, base_url=base_url, **settings))


@pytest.fixture
def client(server: SandboxHandle) -> Iterator[KindfulClient]:
    with client_for(server.base_url) as kindful:
        yield kindful


def test_reads_retry_through_429_and_5xx(server: SandboxHandle, client: KindfulClient) -> None:
    server.set_faults(fail_next=[429, 500, 503])
    assert client.details().name
    assert server.sandbox_requests()["GET /details"] == 4


def test_gives_up_after_the_attempt_limit_with_a_clear_error(
    server: SandboxHandle, client: KindfulClient
) -> None:
    server.set_faults(fail_next=[500] * 10)
    with pytest.raises(KindfulServerError) as caught:
        client.import_stats()
    error = caught.value
    assert (error.status, error.attempts) == (500, 4)
    assert str(error) == (
        "GET imports/stats: HTTP 500: Internal server error (gave up after 4 attempts)"
    )
    assert server.sandbox_requests()["GET /imports/stats"] == 4


def test_retry_after_is_honoured(server: SandboxHandle, client: KindfulClient) -> None:
    server.set_faults(fail_next=[429], retry_after=0.4)
    started = time.monotonic()
    client.funds()
    assert time.monotonic() - started >= 0.4


def test_random_faults_are_survived(server: SandboxHandle) -> None:
    server.set_faults(rate_429=0.3, rate_500=0.2, seed=7)
    with client_for(server.base_url, retry=FAST.model_copy(update={"attempts": 12})) as kindful:
        for _ in range(20):
            kindful.campaigns()


def test_submit_is_not_retried_after_it_reached_the_server(
    server: SandboxHandle, client: KindfulClient
) -> None:
    server.set_faults(fail_next=[500, 429], fail_match="POST /imports")
    with pytest.raises(KindfulServerError):
        client.submit_import(ImportRequest(data_format="contact", data=ROWS))
    with pytest.raises(KindfulRateLimited) as caught:
        client.submit_import(ImportRequest(data_format="contact", data=ROWS))
    assert caught.value.retry_after == 0
    assert server.sandbox_requests()["POST /imports"] == 2


def test_submit_retry_on_429_can_be_enabled(server: SandboxHandle) -> None:
    server.set_faults(fail_next=[429], fail_match="POST /imports")
    policy = FAST.model_copy(update={"retry_submit_on_429": True})
    with client_for(server.base_url, retry=policy) as kindful:
        job = kindful.submit_import(ImportRequest(data_format="contact", data=ROWS))
    assert job.status == "pending"
    assert server.sandbox_requests()["POST /imports"] == 2


def test_submit_is_not_retried_after_a_read_timeout(server: SandboxHandle) -> None:
    server.set_faults(latency=0.5)
    with client_for(server.base_url, read_timeout=0.1) as kindful:
        with pytest.raises(KindfulTransportError) as caught:
            kindful.submit_import(ImportRequest(data_format="contact", data=ROWS))
        assert caught.value.connect is False
        assert caught.value.attempts == 1
        with pytest.raises(KindfulTransportError) as read:
            kindful.details()  # reads do retry on timeouts
        assert read.value.attempts == 4


def scripted(
    steps: list[Callable[[httpx.Request], httpx.Response]], seen: list[httpx.Request]
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return steps[min(len(seen), len(steps)) - 1](request)

    return httpx.MockTransport(handler)


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def accept(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": "j1", "status": "pending"})


def test_submit_is_retried_when_the_connection_failed() -> None:
    seen: list[httpx.Request] = []
    settings = KindfulSettings(token=TOKEN, base_url="http://kindful.test/api/v1", retry=FAST)
    with KindfulClient(settings, transport=scripted([refuse, refuse, accept], seen)) as kindful:
        job = kindful.submit_import(ImportRequest(data_format="contact", data=ROWS))
    assert job.id == "j1"
    assert len(seen) == 3


def test_connection_errors_give_up_after_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    with (
        client_for("http://127.0.0.1:9/api/v1") as kindful,
        pytest.raises(KindfulTransportError) as caught,
    ):
        kindful.import_stats()
    assert caught.value.connect is True
    assert caught.value.attempts == 4
    assert caught.value.__context__ is None and caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("style", "header"),
    [(AuthStyle.TOKEN, f'Token token="{TOKEN}"'), (AuthStyle.BEARER, f"Bearer {TOKEN}")],
)
def test_auth_header_styles(style: AuthStyle, header: str) -> None:
    seen: list[httpx.Request] = []
    settings = KindfulSettings(token=TOKEN, base_url="http://kindful.test/api/v1", auth=style)
    ok = lambda request: httpx.Response(200, json={"exist": True})  # noqa: E731
    with KindfulClient(settings, transport=scripted([ok], seen)) as kindful:
        assert kindful.email_exists("a@example.org") is True
    assert seen[0].headers["Authorization"] == header
    assert (
        str(seen[0].url) == "http://kindful.test/api/v1/contacts/email_exist?email=a%40example.org"
    )


def test_settings_from_environment() -> None:
    env = {
        "KINDFUL_TOKEN": TOKEN,
        "KINDFUL_AUTH": "Bearer",
        "KINDFUL_BASE_URL": "https://app.kindful.com/admin/oauth2/api/v1",
    }
    settings = KindfulSettings.from_env(env)
    assert settings.auth is AuthStyle.BEARER
    assert settings.base_url.endswith("/admin/oauth2/api/v1")
    assert KindfulSettings.from_env({"KINDFUL_TOKEN": "t"}).base_url == LIVE_BASE_URL
    with pytest.raises(KindfulConfigError, match="KINDFUL_TOKEN"):
        KindfulSettings.from_env({})


def test_the_token_never_shows(server: SandboxHandle, caplog: pytest.LogCaptureFixture) -> None:
    """Not in logs (DEBUG, retries included), reprs, or any error the client raises."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with client_for(server.base_url) as kindful:
        texts += [repr(kindful), str(kindful.settings), repr(kindful.settings)]
        server.set_faults(fail_next=[429, 500])
        kindful.details()
        server.set_faults(fail_next=[500] * 5)
        errors: list[KindfulError] = []
        for call in (
            kindful.details,
            lambda: kindful.submit_import(
                ImportRequest(data_format="contact", data=[], match_by={"x": "y"})
            ),
        ):
            with pytest.raises(KindfulError) as caught:
                call()
            errors.append(caught.value)
    with (
        client_for(server.base_url.replace("/api/v1", "/nope")) as lost,
        pytest.raises(KindfulError) as missing,
    ):
        lost.details()
    errors.append(missing.value)
    wrong_settings = KindfulSettings(token=TOKEN + "x", base_url=server.base_url)
    with KindfulClient(wrong_settings) as wrong, pytest.raises(KindfulAuthError) as denied:
        wrong.details()
    errors.append(denied.value)
    texts += [repr(e) for e in errors] + [str(e) for e in errors]
    texts += [repr(vars(e)) for e in errors]
    texts.append(caplog.text)
    texts += [repr(record.__dict__) for record in caplog.records]
    assert any(
        "stamina" in record.name or "retry" in record.getMessage() for record in caplog.records
    )
    for text in texts:
        assert TOKEN not in text


def test_import_request_repr_hides_rows_and_urls() -> None:
    request = ImportRequest(
        data_format="contact",
        data_type="csv",
        data_url="https://bucket.s3.amazonaws.com/x.csv?X-Amz-Signature=abc",
    )
    assert "Signature" not in repr(request)
    assert "first_name" not in repr(ImportRequest(data_format="contact", data=ROWS))
    with pytest.raises(ValueError, match="exactly one of data or data_url"):
        ImportRequest(data_format="contact")

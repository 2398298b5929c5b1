"""Auth, unknown paths, body validation and the 100-row inline limit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import make_client

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.errors import KindfulAuthError, KindfulInlineLimitError, KindfulRejected
from pipelines.kindful.models import ImportRequest
from pipelines.kindful.settings import AuthStyle
from sandbox.serve import SandboxHandle


def rows(count: int) -> list[dict[str, Any]]:
    return [{"id": str(i), "first_name": "A", "last_name": "B"} for i in range(count)]


@pytest.mark.parametrize(
    "header",
    [None, 'Token token="wrong"', "Bearer wrong", "Basic abc", 'Token token=""'],
)
@pytest.mark.parametrize("base", ["/api/v1", "/admin/oauth2/api/v1"])
def test_wrong_or_missing_token_is_401(
    sandbox: SandboxHandle, header: str | None, base: str
) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{sandbox.root_url}{base}/imports/stats", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": "error", "message": "You couldn't be authenticated"}


@pytest.mark.parametrize("style", list(AuthStyle))
@pytest.mark.parametrize("oauth_path", [False, True])
def test_the_auth_style_must_match_the_base_path(
    sandbox: SandboxHandle, style: AuthStyle, oauth_path: bool
) -> None:
    """`Token token=` on /api/v1, `Bearer` on /admin/oauth2/api/v1; the other style is a 401."""
    base = sandbox.oauth_base_url if oauth_path else sandbox.base_url
    matches = (style is AuthStyle.BEARER) == oauth_path
    with make_client(base, sandbox.token, auth=style) as client:
        if matches:
            assert client.import_stats().sync_enabled is True
        else:
            with pytest.raises(KindfulAuthError, match="You couldn't be authenticated"):
                client.import_stats()


def test_client_raises_a_typed_auth_error(sandbox: SandboxHandle) -> None:
    with (
        make_client(sandbox.base_url, "not-the-token") as client,
        pytest.raises(KindfulAuthError, match="You couldn't be authenticated") as caught,
    ):
        client.details()
    assert caught.value.status == 401
    assert caught.value.attempts == 1  # 401 is not retried


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v2/imports", "/imports", "/"])
def test_unknown_paths_are_404(sandbox: SandboxHandle, path: str) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    assert httpx.get(sandbox.root_url + path, headers=headers).status_code == 404


def test_more_than_100_inline_rows_is_refused(api: httpx.Client) -> None:
    response = api.post("/imports", json={"data_format": "contact", "data": rows(101)})
    assert response.status_code == 422
    assert response.json()["message"] == "Too many rows specified in data request"
    ok = api.post("/imports", json={"data_format": "contact", "data": rows(100)})
    assert ok.status_code == 200


def test_client_refuses_101_inline_rows_without_a_request(own_server: SandboxHandle) -> None:
    with make_client(own_server.base_url) as client:
        with pytest.raises(KindfulInlineLimitError, match="101 inline rows"):
            client.submit_import(ImportRequest(data_format="contact", data=rows(101)))
        assert "POST /imports" not in own_server.sandbox_requests()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"data_format": "contacts", "data": []}, "data_format 'contacts' is not one of"),
        ({"data_format": "contact"}, "exactly one of data or data_url"),
        ({"data_format": "contact", "data": [], "data_url": "http://x/y"}, "exactly one of"),
        (
            {"data_format": "contact", "data_url": "http://x/y"},
            "data_type (csv or json) is required",
        ),
        ({"data_format": "contact", "data_url": "ftp://x/y", "data_type": "csv"}, "http(s) URL"),
        ({"data_format": "contact", "data": [], "action_type": "upsert"}, "action_type"),
        (
            {"data_format": "contact", "data": [], "match_by": {"contact": "phone"}},
            "match_by.contact",
        ),
        (
            {"data_format": "contact", "data": [], "match_by": {"donor": "email"}},
            "unknown record type",
        ),
        ({"data_format": "contact", "data": [], "compression": "zip"}, "compression"),
        ({"data_format": "contact", "data": [], "match-by": {}}, "match-by"),
        ({"data_format": "contact", "data": [1, 2]}, "data.0"),
    ],
)
def test_invalid_bodies_are_refused_with_validation_messages(
    client: KindfulClient, api: httpx.Client, body: dict[str, Any], expected: str
) -> None:
    response = api.post("/imports", json=body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["status"] == "error"
    assert any(expected in message for message in answer["validation_messages"]), answer


def test_client_error_carries_message_and_validation_messages(client: KindfulClient) -> None:
    request = ImportRequest(data_format="contact", data=[], match_by={"contact": "phone"})
    with pytest.raises(KindfulRejected) as caught:
        client.submit_import(request)
    assert caught.value.message == "Invalid import request"
    assert caught.value.validation_messages
    assert "match_by.contact" in str(caught.value)


def test_malformed_json_is_400(api: httpx.Client) -> None:
    response = api.post(
        "/imports", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400

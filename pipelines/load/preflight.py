"""`kindful-etl check`: try every outside part an import needs, before a first real import.

Each check does what the import will do (the same client, the same staging calls) and says in
one line what is wrong and how to fix it; nothing here imports rows into Kindful.
"""

from __future__ import annotations

import gzip
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from pipelines.kindful.errors import KindfulAuthError, KindfulError, KindfulNotFound
from pipelines.kindful.settings import AuthStyle, KindfulSettings
from pipelines.staging.s3 import (
    StagedObject,
    StagingError,
    StagingSettings,
    delete_staged,
    presign,
    redact_url,
    s3_client,
    stage_batch,
)

OAUTH_PATH = "/admin/oauth2/api/v1"
DIRECT_PATH = "/api/v1"
AUTH_FIX = (
    "set KINDFUL_AUTH=token for .../api/v1 (direct access), bearer for .../admin/oauth2/api/v1"
)


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark}  {self.name}: {self.detail}" + (f" -> fix: {self.fix}" if self.fix else "")


def expected_auth(base_url: str) -> AuthStyle | None:
    """The auth style Kindful expects on a base URL (None: a path the reference does not show)."""
    path = urlsplit(base_url).path.rstrip("/")
    if path.endswith(OAUTH_PATH):
        return AuthStyle.BEARER
    if path.endswith(DIRECT_PATH):
        return AuthStyle.TOKEN
    return None


def check_kindful(settings: KindfulSettings) -> Iterator[Check]:
    """The auth style fits the base URL, and Kindful accepts the token (GET /imports/stats)."""
    from pipelines.kindful.client import KindfulClient

    where = redact_url(settings.base_url)
    wanted = expected_auth(settings.base_url)
    if wanted is None:
        yield Check(
            "auth style",
            False,
            f"{where} is neither a .../api/v1 nor a .../admin/oauth2/api/v1 base URL",
            "set KINDFUL_BASE_URL to https://app.kindful.com/api/v1 (or the OAuth2 base)",
        )
    elif wanted != settings.auth:
        yield Check(
            "auth style",
            False,
            f"KINDFUL_AUTH={settings.auth.value} but {where} takes {wanted.value} tokens",
            AUTH_FIX,
        )
        return  # the token check would only fail for the same reason
    else:
        yield Check("auth style", True, f"{settings.auth.value} on {where}")
    try:
        with KindfulClient(settings) as client:
            stats = client.import_stats()
    except (KindfulAuthError, KindfulNotFound) as error:
        yield Check(
            "Kindful token",
            False,
            f"{where} refused the token (HTTP {error.status})",
            "check KINDFUL_TOKEN (the organization's API token for this app) and " + AUTH_FIX,
        )
        return
    except KindfulError as error:
        yield Check(
            "Kindful token",
            False,
            f"{where} did not answer GET /imports/stats: {error}",
            "check KINDFUL_BASE_URL and the network route to it",
        )
        return
    yield Check("Kindful token", True, f"accepted by {where}")
    yield Check("Kindful import queue", True, f"/imports/stats: {_describe_stats(stats)}")


def _describe_stats(stats: Any) -> str:
    fields = stats.model_dump() if hasattr(stats, "model_dump") else {}
    shown = ", ".join(f"{k} {v}" for k, v in sorted(fields.items()) if not isinstance(v, dict))
    return shown or "read"


def check_staging(
    staging: StagingSettings, credentials: dict[str, str] | None = None
) -> Iterator[Check]:
    """Write, presign, fetch over HTTP and delete a test object where batches will be staged."""
    client = s3_client(staging, credentials=credentials)
    body = gzip.compress(b"kindful-etl check\n", mtime=0)
    name = f"check-{secrets.token_hex(4)}"
    fix_write = (
        f"create the bucket {staging.bucket} and give this worker s3:PutObject, s3:GetObject and "
        f"s3:DeleteObject on {staging.uri}*"
    )
    try:
        staged = stage_batch(client, staging, "kindful-etl-check", name, body)
    except StagingError as error:
        yield Check("staging write", False, str(error), fix_write)
        return
    yield Check("staging write", True, f"wrote {staged.uri} (private, SSE-S3)")
    try:
        yield Check("staging presign+fetch", True, _fetch(client, staging, staged, body))
    except _CheckFailed as failed:
        yield Check("staging presign+fetch", False, failed.detail, failed.fix)
    try:
        delete_staged(client, staged)
    except StagingError as error:
        yield Check("staging delete", False, str(error), fix_write)
        return
    yield Check("staging delete", True, f"deleted {staged.uri}")


class _CheckFailed(Exception):
    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail, self.fix = detail, fix


def _fetch(client: Any, staging: StagingSettings, staged: StagedObject, body: bytes) -> str:
    """What Kindful does with a data_url: GET it over plain HTTP(S), no AWS credentials."""
    try:
        url = presign(client, staged, staging.url_expiry_seconds)
    except StagingError as error:
        raise _CheckFailed(str(error), "check the AWS credentials and region") from None
    try:
        answer = httpx.get(url, timeout=30, follow_redirects=False)
    except httpx.HTTPError as error:
        raise _CheckFailed(
            f"GET of the presigned URL for {staged.uri} failed: {type(error).__name__}",
            "Kindful must reach the S3 endpoint over HTTPS: use AWS S3 or a public endpoint",
        ) from None
    if answer.status_code != 200 or answer.content != body:
        raise _CheckFailed(
            f"GET of the presigned URL for {staged.uri} answered HTTP {answer.status_code}",
            "check the region (AWS_REGION) and that the credentials may s3:GetObject",
        )
    return f"a presigned URL ({staging.url_expiry_seconds} s) returns the object over HTTP"


def check_ledger(location: str) -> Check:
    """The ledger opens (a PostgreSQL URL needs its driver installed)."""
    from pipelines.load.ledger import Ledger

    shown = redact_url(location) if "://" in location else location
    try:
        Ledger(location).close()
    except ModuleNotFoundError as error:
        return Check(
            "ledger", False, f"{shown}: no driver ({error.name})", "install the database driver"
        )
    except Exception as error:
        return Check(
            "ledger",
            False,
            f"{shown}: cannot open ({type(error).__name__})",
            "check KINDFUL_ETL_LEDGER_URL",
        )
    return Check("ledger", True, f"{shown} opens")

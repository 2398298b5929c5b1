"""Stage gzipped CSV batches in S3 and hand Kindful a presigned, expiring URL to fetch each one.

Kindful's Imports API pulls a batch from `data_url` when the job runs, not when it is
submitted, so the object must stay private yet be readable by whoever holds the URL until it
expires: a SigV4 presigned GET (at most seven days). Objects are private (no ACL is sent, so
the bucket owner's default applies), encrypted at rest with SSE-S3, and typed ``text/csv``
without a Content-Encoding: the file *is* a ``.csv.gz`` that Kindful gunzips itself
(``compression=gzip``); a ``Content-Encoding: gzip`` would let HTTP clients unzip it first.

Presigned URLs are bearer credentials: the query string carries the signature and the access
key id. They are handed to Kindful only; anything logged or stored goes through `redact_url`,
and `StagingError` messages carry AWS error codes, never response text or URLs with queries.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipelines.errors import KindfulEtlError
from pipelines.staging.safe_urls import safe_url

logger = logging.getLogger(__name__)

S3Client = Any  # mypy_boto3_s3 is not installed; botocore clients are dynamically typed.

MAX_URL_EXPIRY = 7 * 24 * 3600  # SigV4's limit
DEFAULT_URL_EXPIRY = 3600
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 60
MAX_ATTEMPTS = 5
GZIP_MAGIC = b"\x1f\x8b"

_S3_URI = re.compile(r"^s3://(?P<bucket>[^/?#]+)(?:/(?P<prefix>[^?#]*))?$")
# Loose S3 bucket rules: 3-63 chars of lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# run ids and batch names become key segments: keep them plain so keys never need escaping.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# Defence in depth for messages: a URL's query string, or a bare SigV4 parameter, or an AWS key id.
_URL_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#]*)[?#]\S*")
_SIGV4_PARAM = re.compile(r"(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s]*", re.I)
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


class StagingError(KindfulEtlError):
    """Staging failed; `str()` is one line, with no credentials or URL signatures in it."""

    def __init__(self, message: str) -> None:
        text = " ".join(message.split())
        text = _URL_QUERY.sub(r"\1", text)
        text = _SIGV4_PARAM.sub(r"\1<redacted>", text)
        text = _ACCESS_KEY_ID.sub("<redacted>", text)
        super().__init__(text)


@dataclass(frozen=True)
class StagingSettings:
    """Where batches go and how long their URLs live; validated on construction."""

    uri: str  # "s3://bucket/prefix/" (prefix may be empty)
    endpoint_url: str | None = None  # MinIO / moto / any S3-compatible store
    region: str | None = None
    url_expiry_seconds: int = DEFAULT_URL_EXPIRY
    keep_objects: bool = False  # keep staged objects after reconciliation

    def __post_init__(self) -> None:
        _parse_uri(self.uri)
        check_expiry(self.url_expiry_seconds)
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise StagingError("staging endpoint URL must be http(s)://host[:port]")

    @classmethod
    def from_env(cls, **overrides: Any) -> StagingSettings:
        """Settings from the environment; keyword overrides win over any variable.

        KINDFUL_ETL_STAGING_URI, AWS_ENDPOINT_URL_S3 (else AWS_ENDPOINT_URL), AWS_REGION (else
        AWS_DEFAULT_REGION), KINDFUL_ETL_URL_EXPIRY (seconds), KINDFUL_ETL_KEEP_STAGED.
        Empty variables count as unset.
        """
        unknown = set(overrides) - {
            "uri",
            "endpoint_url",
            "region",
            "url_expiry_seconds",
            "keep_objects",
        }
        if unknown:
            raise TypeError(f"unknown staging settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        if uri := _env("KINDFUL_ETL_STAGING_URI"):
            values["uri"] = uri
        if endpoint := _env("AWS_ENDPOINT_URL_S3") or _env("AWS_ENDPOINT_URL"):
            values["endpoint_url"] = endpoint
        if region := _env("AWS_REGION") or _env("AWS_DEFAULT_REGION"):
            values["region"] = region
        if expiry := _env("KINDFUL_ETL_URL_EXPIRY"):
            try:
                values["url_expiry_seconds"] = int(expiry)
            except ValueError:
                raise StagingError(
                    "KINDFUL_ETL_URL_EXPIRY must be a whole number of seconds"
                ) from None
        if keep := _env("KINDFUL_ETL_KEEP_STAGED"):
            if keep.lower() not in _TRUE | _FALSE:
                raise StagingError("KINDFUL_ETL_KEEP_STAGED must be 1/true or 0/false")
            values["keep_objects"] = keep.lower() in _TRUE
        values.update(overrides)
        if not values.get("uri"):
            raise StagingError(
                "no staging location: set KINDFUL_ETL_STAGING_URI=s3://bucket/prefix/"
            )
        return cls(**values)

    @property
    def bucket(self) -> str:
        return _parse_uri(self.uri)[0]

    @property
    def prefix(self) -> str:
        """The key prefix, "" or ending with exactly one "/"."""
        return _parse_uri(self.uri)[1]


@dataclass(frozen=True)
class StagedObject:
    """One uploaded batch: enough to presign, delete and report it."""

    bucket: str
    key: str
    size: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def check_expiry(seconds: int) -> int:
    """Return `seconds` if it is a usable presigned-URL lifetime, else raise StagingError."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise StagingError("URL expiry must be a whole number of seconds")
    if seconds <= 0 or seconds > MAX_URL_EXPIRY:
        raise StagingError(
            f"URL expiry must be between 1 and {MAX_URL_EXPIRY} seconds (7 days), got {seconds}"
        )
    return seconds


def s3_client(
    settings: StagingSettings, *, credentials: Mapping[str, str] | None = None
) -> S3Client:
    """A SigV4 S3 client with standard retries and bounded timeouts.

    Credentials come from the standard AWS chain unless `credentials` (boto3 keyword names:
    aws_access_key_id, aws_secret_access_key, aws_session_token) are given, as the embedded
    moto server does. Custom endpoints use path-style addressing, which MinIO and moto need
    and which keeps presigned URLs on the endpoint's own host name.
    """
    # One client per place and identity for the process: building one costs ~0.1-0.3 s (the
    # service model), and a run needs it for the bucket, each upload, presign and delete. The
    # AWS_* environment is part of the key, so changed credentials get a new client.
    key = (
        settings.endpoint_url,
        settings.region,
        tuple(sorted((credentials or {}).items())),
        tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))),
    )
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = _new_client(settings, credentials)
            while len(_CLIENTS) > _CLIENTS_KEPT:
                _CLIENTS.pop(next(iter(_CLIENTS)))
    return client


_CLIENTS: dict[tuple[object, ...], S3Client] = {}
_CLIENTS_LOCK = threading.Lock()
_CLIENTS_KEPT = 8


def _new_client(settings: StagingSettings, credentials: Mapping[str, str] | None) -> S3Client:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped]

    config = Config(
        signature_version="s3v4",
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        s3={"addressing_style": "path"} if settings.endpoint_url else None,
    )
    try:
        session = boto3.session.Session(region_name=settings.region)
        return session.client(
            "s3", endpoint_url=settings.endpoint_url, config=config, **dict(credentials or {})
        )
    except BotoCoreError as exc:  # e.g. ProfileNotFound; its text names no secret
        raise StagingError(f"cannot create an S3 client: {type(exc).__name__}") from None


def batch_key(settings: StagingSettings, run_id: str, batch_name: str) -> str:
    """The object key of one batch: ``{prefix}{run_id}/{batch_name}.csv.gz``."""
    for label, value in (("run id", run_id), ("batch name", batch_name)):
        if not _SEGMENT.fullmatch(value):
            raise StagingError(
                f"{label} {value[:40]!r} must be 1-128 letters, digits, '.', '_' or '-'"
                " and start with a letter or digit"
            )
    return f"{settings.prefix}{run_id}/{batch_name}.csv.gz"


def stage_batch(
    client: S3Client,
    settings: StagingSettings,
    run_id: str,
    batch_name: str,
    body: bytes | Path,
) -> StagedObject:
    """Upload one gzipped CSV batch, private and SSE-S3 encrypted; multipart when large.

    Re-staging the same run id and batch name overwrites the object, so a retried run is
    idempotent. Transient failures are retried by botocore's standard mode; what remains
    raises StagingError naming the batch, the object and the AWS error code.
    """
    bucket = settings.bucket
    key = batch_key(settings, run_id, batch_name)
    failed = f"upload of batch {batch_name} to s3://{bucket}/{key} failed"
    # No ACL: the object stays private to the bucket owner. No ContentEncoding: see module doc.
    extra = {"ServerSideEncryption": "AES256", "ContentType": "text/csv"}
    if isinstance(body, Path):
        try:
            size = body.stat().st_size
            with body.open("rb") as handle:
                head = handle.read(2)
        except OSError as exc:
            raise StagingError(f"{failed}: cannot read {body}: {exc.strerror}") from None
    else:
        size, head = len(body), body[:2]
    if head != GZIP_MAGIC:  # Kindful would only find out at load time, after the run moved on
        raise StagingError(f"{failed}: the batch is not gzip data")
    try:
        if isinstance(body, Path):
            client.upload_file(str(body), bucket, key, ExtraArgs=extra)
        else:
            client.upload_fileobj(io.BytesIO(body), bucket, key, ExtraArgs=extra)
    except Exception as exc:
        raise StagingError(f"{failed}: {_describe(exc)}") from None
    staged = StagedObject(bucket=bucket, key=key, size=size)
    logger.info("staged batch %s as %s (%d bytes)", batch_name, staged.uri, size)
    return staged


def presign(client: S3Client, staged: StagedObject, expiry_seconds: int) -> str:
    """A SigV4 presigned GET URL for the object, valid for `expiry_seconds`.

    Signing is local (no request is made), so it works whatever the network; the URL is a
    bearer credential: log it only through `redact_url`.
    """
    check_expiry(expiry_seconds)
    try:
        url: str = client.generate_presigned_url(
            "get_object",
            Params={"Bucket": staged.bucket, "Key": staged.key},
            ExpiresIn=expiry_seconds,
            HttpMethod="GET",
        )
    except Exception as exc:
        raise StagingError(f"cannot presign {staged.uri}: {_describe(exc)}") from None
    logger.debug("presigned %s for %ds", redact_url(url), expiry_seconds)
    return url


def delete_staged(client: S3Client, staged: StagedObject) -> None:
    """Remove a staged object; deleting one that is already gone (or whose bucket is) is fine."""
    try:
        client.delete_object(Bucket=staged.bucket, Key=staged.key)
    except Exception as exc:
        if _error_code(exc) in {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}:
            return
        raise StagingError(f"delete of {staged.uri} failed: {_describe(exc)}") from None
    logger.info("deleted staged %s", staged.uri)


def ensure_bucket(client: S3Client, settings: StagingSettings) -> None:
    """Create the staging bucket if it does not exist (the embedded moto default needs this).

    An existing bucket is left alone, including one we may not list (HTTP 403): on AWS a 403
    means the bucket exists, and whether we may write to it is for the upload to say.
    """
    bucket = settings.bucket
    try:
        client.head_bucket(Bucket=bucket)
        return
    except Exception as exc:
        code = _error_code(exc)
        if code in {"403", "AccessDenied", "Forbidden"}:
            return
        if code not in {"404", "NoSuchBucket", "NotFound"}:
            raise StagingError(f"cannot check bucket s3://{bucket}: {_describe(exc)}") from None
    region = settings.region or client.meta.region_name
    params: dict[str, Any] = {"Bucket": bucket}
    if region and region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**params)
    except Exception as exc:
        if _error_code(exc) in {"BucketAlreadyOwnedByYou"}:
            return
        raise StagingError(f"cannot create bucket s3://{bucket}: {_describe(exc)}") from None
    logger.info("created staging bucket s3://%s", bucket)


def redact_url(url: str) -> str:
    """The URL without query string, fragment or user:password@ -- safe for logs and ledgers.

    A presigned URL's signature, credential scope and security token all live in the query.
    This is `safe_urls.safe_url`, the one cleaner every stored or shown URL goes through.
    """
    return safe_url(url)


def url_expired(url: str, now: datetime | None = None) -> bool:
    """Whether a SigV4 presigned URL has expired at `now` (default: the current UTC time).

    moto does not enforce expiry, so the sandbox and tests use this to emulate S3. A URL
    without SigV4 query parameters never expires; one whose X-Amz-Date or X-Amz-Expires is
    malformed counts as expired, because S3 would refuse it too. Expiry is exclusive: the URL
    still works at exactly X-Amz-Date + X-Amz-Expires, and not a second later.
    """
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    date_values, expires_values = query.get("X-Amz-Date"), query.get("X-Amz-Expires")
    if date_values is None and expires_values is None:
        return False
    try:
        signed_at = datetime.strptime((date_values or [""])[0], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=UTC
        )
        lifetime = int((expires_values or [""])[0])
    except ValueError:
        return True
    if lifetime <= 0 or lifetime > MAX_URL_EXPIRY:
        return True
    current = now or datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    return current > signed_at + timedelta(seconds=lifetime)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _parse_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of an s3:// URI; the prefix is "" or ends with exactly one "/"."""
    match = _S3_URI.fullmatch(uri.strip()) if isinstance(uri, str) else None
    if match is None:
        raise StagingError("staging URI must look like s3://bucket/prefix/")
    bucket = match["bucket"]
    if not _BUCKET.fullmatch(bucket):
        raise StagingError(f"staging URI has an invalid bucket name: {bucket[:63]!r}")
    segments = [part for part in (match["prefix"] or "").split("/") if part]
    if any(part in {".", ".."} for part in segments):
        raise StagingError("staging URI prefix must not contain '.' or '..' segments")
    return bucket, "".join(f"{part}/" for part in segments)


def _error_code(exc: BaseException) -> str | None:
    """The AWS error code found along the exception chain (botocore ClientError), if any.

    boto3's S3UploadFailedError only wraps the ClientError in its context, hence the walk.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        response = getattr(link, "response", None)
        error = response.get("Error") if isinstance(response, dict) else None
        code = error.get("Code") if isinstance(error, dict) else None
        if isinstance(code, str) and code:
            return code
        link = link.__cause__ or link.__context__
    return None


def _describe(exc: BaseException) -> str:
    """A reason that never quotes a URL, a response body or a credential: a code or a class."""
    code = _error_code(exc)
    if code is not None:
        return code
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:  # prefer botocore's own class names
        seen.add(id(link))
        if type(link).__module__.startswith("botocore"):
            return type(link).__name__
        link = link.__cause__ or link.__context__
    return type(exc).__name__

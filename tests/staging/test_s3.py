"""S3 staging through a real moto server over HTTP: upload, presign, fetch, delete, settings."""

from __future__ import annotations

import gzip
import logging
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pipelines.embedded.s3 import EmbeddedS3, running_moto
from pipelines.staging.s3 import (
    MAX_URL_EXPIRY,
    StagedObject,
    StagingError,
    StagingSettings,
    batch_key,
    delete_staged,
    ensure_bucket,
    presign,
    redact_url,
    s3_client,
    stage_batch,
    url_expired,
)

CSV = b"id,first_name,last_name\n1,Ada,Lovelace\n2,Grace,Hopper\n"
BATCH = gzip.compress(CSV, mtime=0)
SECRET_KEY_ID = "AKIAEXAMPLEKEY123456"
SECRET_KEY = "s3cr3t-access-key-never-shown"


@pytest.fixture(scope="module")
def moto() -> Iterator[EmbeddedS3]:
    with pytest.MonkeyPatch.context() as patch:
        # Keep the developer's AWS setup out of it: no profile, no config, no proxy for us.
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        with running_moto() as server:
            yield server


@pytest.fixture(scope="module")
def settings(moto: EmbeddedS3) -> StagingSettings:
    return moto.settings()


@pytest.fixture(scope="module")
def client(moto: EmbeddedS3, settings: StagingSettings) -> Any:
    client = moto.client(settings)
    ensure_bucket(client, settings)
    return client


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as session:
        yield session


@pytest.fixture
def run_id() -> str:
    return f"run-{uuid.uuid4().hex[:12]}"


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


# --------------------------------------------------------------------------------------------
# upload, presign, fetch
# --------------------------------------------------------------------------------------------


def test_staged_batch_is_fetched_byte_for_byte_through_its_presigned_url(
    client: Any, settings: StagingSettings, run_id: str, http: httpx.Client
) -> None:
    staged = stage_batch(client, settings, run_id, "batch-00001", BATCH)
    assert staged == StagedObject("kindful-etl-staging", f"runs/{run_id}/batch-00001.csv.gz", 67)
    assert staged.size == len(BATCH)
    assert staged.uri == f"s3://kindful-etl-staging/runs/{run_id}/batch-00001.csv.gz"

    url = presign(client, staged, settings.url_expiry_seconds)
    assert url.startswith(f"{settings.endpoint_url}/kindful-etl-staging/runs/{run_id}/")
    response = http.get(url)
    assert response.status_code == 200
    assert response.content == BATCH  # still gzip: Kindful gunzips it with compression=gzip
    assert gzip.decompress(response.content) == CSV
    assert response.headers["content-type"] == "text/csv"
    assert "content-encoding" not in response.headers


def test_a_batch_file_on_disk_is_staged(
    client: Any, settings: StagingSettings, run_id: str, tmp_path: Path, http: httpx.Client
) -> None:
    path = tmp_path / "batch-00002.csv.gz"
    path.write_bytes(BATCH)
    staged = stage_batch(client, settings, run_id, "batch-00002", path)
    assert (staged.key, staged.size) == (f"runs/{run_id}/batch-00002.csv.gz", len(BATCH))
    assert http.get(presign(client, staged, 60)).content == BATCH


def test_a_large_batch_goes_up_in_parts_with_the_same_protection(
    client: Any, settings: StagingSettings, run_id: str, http: httpx.Client, tmp_path: Path
) -> None:
    body = b"\x1f\x8b" + os.urandom(9 * 1024 * 1024)  # past boto3's 8 MiB multipart threshold
    path = tmp_path / "big.csv.gz"
    path.write_bytes(body)
    staged = stage_batch(client, settings, run_id, "batch-big", path)
    head = client.head_object(Bucket=staged.bucket, Key=staged.key)
    assert head["ETag"].strip('"').endswith("-2")  # multipart
    assert (head["ServerSideEncryption"], head["ContentType"]) == ("AES256", "text/csv")
    assert http.get(presign(client, staged, 60)).content == body


def test_restaging_the_same_batch_overwrites_it(
    client: Any, settings: StagingSettings, run_id: str, http: httpx.Client
) -> None:
    stage_batch(client, settings, run_id, "batch-00001", gzip.compress(b"old\n"))
    staged = stage_batch(client, settings, run_id, "batch-00001", BATCH)
    assert http.get(presign(client, staged, 60)).content == BATCH


# --------------------------------------------------------------------------------------------
# protection: encrypted, private, no Content-Encoding
# --------------------------------------------------------------------------------------------


def test_object_is_encrypted_private_and_typed_without_content_encoding(
    client: Any, settings: StagingSettings, run_id: str, http: httpx.Client
) -> None:
    sent: list[dict[str, str]] = []

    def capture(request: Any, **_: Any) -> None:
        sent.append({k.lower(): _text(v) for k, v in request.headers.items()})

    client.meta.events.register("before-send.s3.PutObject", capture)
    try:
        staged = stage_batch(client, settings, run_id, "batch-00001", BATCH)
    finally:
        client.meta.events.unregister("before-send.s3.PutObject", capture)

    assert len(sent) == 1
    assert sent[0]["x-amz-server-side-encryption"] == "AES256"
    assert "x-amz-acl" not in sent[0]
    assert not any(name.startswith("x-amz-grant") for name in sent[0])

    head = client.head_object(Bucket=staged.bucket, Key=staged.key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "text/csv"
    assert "ContentEncoding" not in head

    grants = client.get_object_acl(Bucket=staged.bucket, Key=staged.key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"]["Type"] == "CanonicalUser" for g in grants)

    plain = redact_url(presign(client, staged, 60))
    assert plain == f"{settings.endpoint_url}/kindful-etl-staging/{staged.key}"
    assert http.get(plain).status_code == 403  # no signature, no data


# --------------------------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------------------------


def test_key_layout_is_prefix_run_batch(
    client: Any, settings: StagingSettings, run_id: str
) -> None:
    stage_batch(client, settings, run_id, "batch-00001", BATCH)
    stage_batch(client, settings, run_id, "batch-00002", BATCH)
    listed = client.list_objects_v2(Bucket=settings.bucket, Prefix=f"runs/{run_id}/")
    assert sorted(o["Key"] for o in listed["Contents"]) == [
        f"runs/{run_id}/batch-00001.csv.gz",
        f"runs/{run_id}/batch-00002.csv.gz",
    ]


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [
        ("s3://stage-bucket", "stage-bucket", ""),
        ("s3://stage-bucket/", "stage-bucket", ""),
        ("s3://stage-bucket/kindful", "stage-bucket", "kindful/"),
        ("s3://stage-bucket/kindful/", "stage-bucket", "kindful/"),
        ("s3://stage-bucket//a//b/", "stage-bucket", "a/b/"),
    ],
)
def test_prefix_is_normalized(uri: str, bucket: str, prefix: str) -> None:
    settings = StagingSettings(uri)
    assert (settings.bucket, settings.prefix) == (bucket, prefix)
    assert batch_key(settings, "r1", "batch-00001") == f"{prefix}r1/batch-00001.csv.gz"


@pytest.mark.parametrize(
    ("run_id", "batch_name"),
    [("", "b"), ("r/1", "b"), ("..", "b"), ("r1", "a/../b"), ("r1", ".hidden"), ("r 1", "b")],
)
def test_unsafe_key_segments_are_refused(run_id: str, batch_name: str) -> None:
    with pytest.raises(StagingError, match="must be 1-128 letters"):
        batch_key(StagingSettings("s3://stage-bucket/"), run_id, batch_name)


@pytest.mark.parametrize(
    "uri",
    ["", "stage-bucket/x", "https://stage-bucket/x", "s3://", "s3://Bad_Bucket/x", "s3://b/x",
     "s3://stage-bucket/x?versionId=1", "s3://stage-bucket/../x"],
)  # fmt: skip
def test_bad_staging_uris_are_refused(uri: str) -> None:
    with pytest.raises(StagingError, match="staging URI"):
        StagingSettings(uri)


# --------------------------------------------------------------------------------------------
# delete, bucket
# --------------------------------------------------------------------------------------------


def test_delete_is_idempotent(client: Any, settings: StagingSettings, run_id: str) -> None:
    staged = stage_batch(client, settings, run_id, "batch-00001", BATCH)
    delete_staged(client, staged)
    delete_staged(client, staged)
    listed = client.list_objects_v2(Bucket=settings.bucket, Prefix=f"runs/{run_id}/")
    assert listed["KeyCount"] == 0
    delete_staged(client, StagedObject("no-such-staging-bucket", "runs/x.csv.gz", 1))


def test_ensure_bucket_creates_once_and_tolerates_existing(moto: EmbeddedS3) -> None:
    settings = moto.settings(bucket=f"fresh-{uuid.uuid4().hex[:8]}", prefix="")
    client = moto.client(settings)
    ensure_bucket(client, settings)
    ensure_bucket(client, settings)
    client.head_bucket(Bucket=settings.bucket)


def test_ensure_bucket_outside_us_east_1_sets_the_location(moto: EmbeddedS3) -> None:
    settings = moto.settings(bucket=f"eu-{uuid.uuid4().hex[:8]}", region="eu-west-1")
    client = moto.client(settings)
    ensure_bucket(client, settings)
    location = client.get_bucket_location(Bucket=settings.bucket)["LocationConstraint"]
    assert location == "eu-west-1"


# --------------------------------------------------------------------------------------------
# expiry
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0, -1, MAX_URL_EXPIRY + 1, True])
def test_out_of_range_expiry_is_refused(seconds: int, client: Any) -> None:
    with pytest.raises(StagingError, match="expiry"):
        StagingSettings("s3://stage-bucket/", url_expiry_seconds=seconds)
    with pytest.raises(StagingError, match="expiry"):
        presign(client, StagedObject("stage-bucket", "k.csv.gz", 1), seconds)


def test_default_expiry_is_one_hour() -> None:
    assert StagingSettings("s3://stage-bucket/").url_expiry_seconds == 3600


@pytest.mark.parametrize("seconds", [1, 3600, MAX_URL_EXPIRY])
def test_presigned_url_carries_the_configured_expiry(
    moto: EmbeddedS3, client: Any, seconds: int
) -> None:
    settings = moto.settings(url_expiry_seconds=seconds)
    url = presign(client, StagedObject(settings.bucket, "k.csv.gz", 1), settings.url_expiry_seconds)
    params = query(url)
    assert params["X-Amz-Expires"] == str(seconds)
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"  # SigV4
    assert "X-Amz-Signature" in params


def test_url_expired_emulates_s3_expiry(client: Any) -> None:
    url = presign(client, StagedObject("stage-bucket", "k.csv.gz", 1), 600)
    signed_at = datetime.strptime(query(url)["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert not url_expired(url)
    assert not url_expired(url, signed_at)
    assert not url_expired(url, signed_at + timedelta(seconds=600))
    assert url_expired(url, signed_at + timedelta(seconds=601))
    assert url_expired(url, (signed_at + timedelta(seconds=601)).replace(tzinfo=None))  # naive=UTC


@pytest.mark.parametrize(
    ("url", "expired"),
    [
        ("http://127.0.0.1:1/b/k.csv.gz", False),  # not presigned: never expires
        ("http://h/k?X-Amz-Date=20240101T000000Z", True),  # no X-Amz-Expires
        ("http://h/k?X-Amz-Date=2024-01-01&X-Amz-Expires=60", True),
        ("http://h/k?X-Amz-Date=20240101T000000Z&X-Amz-Expires=soon", True),
        ("http://h/k?X-Amz-Date=20240101T000000Z&X-Amz-Expires=0", True),
        ("http://h/k?X-Amz-Date=20240101T000000Z&X-Amz-Expires=604801", True),
        ("http://h/k?X-Amz-Date=20240101T000000Z&X-Amz-Expires=60", True),
        ("http://h/k?X-Amz-Date=29990101T000000Z&X-Amz-Expires=60", False),
    ],
)
def test_url_expired_edge_cases(url: str, expired: bool) -> None:
    assert url_expired(url) is expired


def test_presigned_expiry_can_be_emulated_end_to_end(
    client: Any, settings: StagingSettings, run_id: str, http: httpx.Client
) -> None:
    """moto serves a stale URL; url_expired is how a sandbox refuses it like S3 would."""
    staged = stage_batch(client, settings, run_id, "batch-00001", BATCH)
    url = presign(client, staged, 1)
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert url_expired(url, later)
    assert http.get(url).status_code == 200  # moto itself does not enforce it


# --------------------------------------------------------------------------------------------
# redaction and errors
# --------------------------------------------------------------------------------------------


def test_redact_url_strips_signature_and_credentials(client: Any) -> None:
    url = presign(client, StagedObject("stage-bucket", "runs/r1/batch-00001.csv.gz", 1), 60)
    assert "X-Amz-Signature=" in url
    plain = redact_url(url)
    assert "?" not in plain
    assert "Signature" not in plain
    assert "testing" not in plain  # the access key id is in X-Amz-Credential
    assert plain.endswith("/stage-bucket/runs/r1/batch-00001.csv.gz")
    assert redact_url("https://user:pw@h.example:8443/p/k.gz?a=1#frag") == (
        "https://h.example:8443/p/k.gz"
    )
    assert redact_url("/local/k.gz?X-Amz-Signature=abc") == "/local/k.gz"


def test_upload_to_a_missing_bucket_is_one_safe_line(
    moto: EmbeddedS3, run_id: str, tmp_path: Path
) -> None:
    settings = moto.settings(bucket="no-such-staging-bucket")
    secret = {"aws_access_key_id": SECRET_KEY_ID, "aws_secret_access_key": SECRET_KEY}
    client = s3_client(settings, credentials=secret)
    path = tmp_path / "b.csv.gz"
    path.write_bytes(BATCH)
    for body in (BATCH, path):
        with pytest.raises(StagingError) as caught:
            stage_batch(client, settings, run_id, "batch-00007", body)
        message = str(caught.value)
        assert message == (
            f"upload of batch batch-00007 to s3://no-such-staging-bucket/runs/{run_id}/"
            "batch-00007.csv.gz failed: NoSuchBucket"
        )
        assert caught.value.__cause__ is None
        assert caught.value.__suppress_context__
        assert SECRET_KEY_ID not in message
        assert SECRET_KEY not in message


def test_transport_errors_are_named_by_class_not_text(
    settings: StagingSettings, run_id: str
) -> None:
    from botocore.exceptions import EndpointConnectionError  # type: ignore[import-untyped]

    class Unreachable:
        def upload_fileobj(self, *args: Any, **kwargs: Any) -> None:
            raise EndpointConnectionError(endpoint_url=f"http://h/k?X-Amz-Signature={signature}")

    # Not hex: the message names the run id, whose random hex once held "abc" by chance.
    signature = "SIGzzqvw"
    with pytest.raises(StagingError, match=r"failed: EndpointConnectionError$") as caught:
        stage_batch(Unreachable(), settings, run_id, "batch-00001", BATCH)
    assert signature not in str(caught.value)


def test_non_gzip_and_unreadable_batches_are_refused(
    client: Any, settings: StagingSettings, run_id: str, tmp_path: Path
) -> None:
    with pytest.raises(StagingError, match="not gzip data"):
        stage_batch(client, settings, run_id, "batch-00001", CSV)
    with pytest.raises(StagingError, match=r"cannot read .*missing\.csv\.gz"):
        stage_batch(client, settings, run_id, "batch-00001", tmp_path / "missing.csv.gz")


def test_staging_error_is_one_line_and_scrubs_secrets() -> None:
    error = StagingError(
        "boom\nat http://h/k.gz?X-Amz-Credential=AKIAEXAMPLEKEY123456%2F&X-Amz-Signature=abc\r\n"
        f"key {SECRET_KEY_ID} X-Amz-Signature=def"
    )
    text = str(error)
    assert "\n" not in text
    assert "\r" not in text
    for secret in ("abc", "def", SECRET_KEY_ID):
        assert secret not in text
    assert "http://h/k.gz" in text


def test_logs_never_show_a_signature(
    client: Any,
    settings: StagingSettings,
    run_id: str,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    staged = stage_batch(client, settings, run_id, "batch-00001", BATCH)
    url = presign(client, staged, 60)
    assert http.get(url).status_code == 200
    delete_staged(client, staged)
    signature = query(url)["X-Amz-Signature"]
    # Ours and the server's; botocore's own DEBUG log prints signatures: keep it above DEBUG.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("pipelines.")]
    assert any(m.startswith("moto info:") and "GET /" in m for m in ours)
    assert any("?<redacted>" in m for m in ours)
    assert any("staged batch batch-00001" in m for m in ours)
    assert not [r for r in caplog.records if r.name == "werkzeug"]
    assert not [m for m in ours if signature in m or "Credential" in m or "\x1b" in m]


# --------------------------------------------------------------------------------------------
# client and settings
# --------------------------------------------------------------------------------------------


def test_client_configuration(settings: StagingSettings) -> None:
    client = s3_client(
        settings, credentials={"aws_access_key_id": "a", "aws_secret_access_key": "b"}
    )
    config = client.meta.config
    assert config.signature_version == "s3v4"
    # botocore counts max_attempts=5 as retries: six tries in all.
    assert config.retries == {"mode": "standard", "total_max_attempts": 6}
    assert (config.connect_timeout, config.read_timeout) == (10, 60)
    assert config.s3 == {"addressing_style": "path"}
    assert client.meta.region_name == "us-east-1"
    assert client.meta.endpoint_url == settings.endpoint_url


def test_client_without_endpoint_uses_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = s3_client(StagingSettings("s3://stage-bucket/", region="eu-west-2"))
    assert client.meta.region_name == "eu-west-2"
    assert client.meta.endpoint_url == "https://s3.eu-west-2.amazonaws.com"


def test_unknown_profile_is_a_staging_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(StagingError, match="cannot create an S3 client: ProfileNotFound"):
        s3_client(StagingSettings("s3://stage-bucket/"))


ENV_NAMES = (
    "KINDFUL_ETL_STAGING_URI",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "KINDFUL_ETL_URL_EXPIRY",
    "KINDFUL_ETL_KEEP_STAGED",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_from_env_reads_every_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KINDFUL_ETL_STAGING_URI", "s3://stage-bucket/kindful")
    assert StagingSettings.from_env() == StagingSettings("s3://stage-bucket/kindful")
    clean_env.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    clean_env.setenv("AWS_REGION", "eu-west-1")
    clean_env.setenv("AWS_DEFAULT_REGION", "us-west-2")
    clean_env.setenv("KINDFUL_ETL_URL_EXPIRY", "900")
    clean_env.setenv("KINDFUL_ETL_KEEP_STAGED", "1")
    settings = StagingSettings.from_env()
    assert settings == StagingSettings(
        uri="s3://stage-bucket/kindful",
        endpoint_url="http://127.0.0.1:9000",
        region="eu-west-1",
        url_expiry_seconds=900,
        keep_objects=True,
    )
    assert settings.prefix == "kindful/"


def test_from_env_fallbacks_and_overrides(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KINDFUL_ETL_STAGING_URI", "s3://stage-bucket/")
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9001")
    clean_env.setenv("AWS_DEFAULT_REGION", "us-west-2")
    clean_env.setenv("AWS_REGION", "")  # empty counts as unset
    settings = StagingSettings.from_env()
    assert (settings.endpoint_url, settings.region) == ("http://127.0.0.1:9001", "us-west-2")
    overridden = StagingSettings.from_env(uri="s3://other-bucket/p/", url_expiry_seconds=60)
    assert (overridden.bucket, overridden.prefix) == ("other-bucket", "p/")
    assert overridden.url_expiry_seconds == 60
    with pytest.raises(TypeError, match="unknown staging settings: bucket"):
        StagingSettings.from_env(bucket="x")


@pytest.mark.parametrize(
    ("value", "keep"), [("1", True), ("true", True), ("TRUE", True), ("0", False), ("false", False)]
)
def test_from_env_keep_staged(clean_env: pytest.MonkeyPatch, value: str, keep: bool) -> None:
    clean_env.setenv("KINDFUL_ETL_STAGING_URI", "s3://stage-bucket/")
    clean_env.setenv("KINDFUL_ETL_KEEP_STAGED", value)
    assert StagingSettings.from_env().keep_objects is keep


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KINDFUL_ETL_URL_EXPIRY", "1h", "whole number of seconds"),
        ("KINDFUL_ETL_URL_EXPIRY", "0", "between 1 and 604800"),
        ("KINDFUL_ETL_URL_EXPIRY", "604801", "between 1 and 604800"),
        ("KINDFUL_ETL_KEEP_STAGED", "maybe", "1/true or 0/false"),
        ("AWS_ENDPOINT_URL_S3", "minio:9000", "http"),
    ],
)
def test_from_env_refuses_bad_values(
    clean_env: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    clean_env.setenv("KINDFUL_ETL_STAGING_URI", "s3://stage-bucket/")
    clean_env.setenv(name, value)
    with pytest.raises(StagingError, match=message):
        StagingSettings.from_env()


def test_from_env_without_a_uri(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(StagingError, match="KINDFUL_ETL_STAGING_URI"):
        StagingSettings.from_env()


# --------------------------------------------------------------------------------------------
# the embedded server itself
# --------------------------------------------------------------------------------------------


def test_embedded_server_starts_fast_on_loopback_and_stops_cleanly(http: httpx.Client) -> None:
    started = time.perf_counter()
    with running_moto() as server:
        elapsed = time.perf_counter() - started
        assert elapsed < 1.5
        assert urlsplit(server.endpoint_url).hostname == "127.0.0.1"
        assert server.credentials() == {
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        settings = server.settings()
        assert (settings.bucket, settings.prefix) == ("kindful-etl-staging", "runs/")
        assert settings.endpoint_url == server.endpoint_url
        assert http.get(f"{server.endpoint_url}/moto-api/").status_code == 200
    server.stop()  # twice is fine
    with pytest.raises(httpx.ConnectError):
        http.get(f"{server.endpoint_url}/moto-api/")

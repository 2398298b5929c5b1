"""`kindful-etl check` as a user runs it: a subprocess against the sandbox Kindful and moto S3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.embedded.s3 import EmbeddedS3
from pipelines.staging.s3 import ensure_bucket
from sandbox.serve import SandboxHandle

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "kindful-etl")
TOKEN = "check-token-7f3a9c"


@pytest.fixture
def env(kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path) -> dict[str, str]:
    staging = moto_s3.settings(bucket="check-staging", prefix="runs/")
    ensure_bucket(moto_s3.client(staging), staging)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KINDFUL_", "AWS_"))}
    return clean | {
        "KINDFUL_BASE_URL": kindful.base_url,
        "KINDFUL_TOKEN": TOKEN,
        "KINDFUL_ETL_STAGING_URI": staging.uri,
        "KINDFUL_ETL_LEDGER_URL": str(tmp_path / "ledger.db"),
        "AWS_ENDPOINT_URL_S3": moto_s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }


def check(env: dict[str, str], **changes: str) -> subprocess.CompletedProcess[str]:
    return check_env(env | changes)


def check_env(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "check"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """check name -> its line, for the checklist lines."""
    found = {}
    for line in result.stdout.splitlines():
        if line.startswith(("ok  ", "FAIL")):
            found[line[6:].split(":", 1)[0]] = line
    return found


def test_with_good_settings_every_check_passes(env: dict[str, str], moto_s3: EmbeddedS3) -> None:
    result = check(env)
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result)
    assert list(found) == [
        "auth style",
        "Kindful token",
        "Kindful import queue",
        "staging write",
        "staging presign+fetch",
        "staging delete",
        "ledger",
    ]
    assert all(line.startswith("ok  ") for line in found.values())
    assert result.stdout.rstrip().endswith("all checks passed")
    # The test object is gone again.
    listing = moto_s3.client().list_objects_v2(Bucket="check-staging", Prefix="runs/")
    assert listing.get("KeyCount", 0) == 0


def test_a_wrong_token_fails_its_check_without_showing_the_token(env: dict[str, str]) -> None:
    result = check(env, KINDFUL_TOKEN="not-the-token-91b2")
    assert result.returncode == 1
    line = lines(result)["Kindful token"]
    assert line.startswith("FAIL") and "refused the token" in line and "fix: " in line
    assert "not-the-token-91b2" not in result.stdout + result.stderr
    assert lines(result)["staging write"].startswith("ok  ")  # the rest is still checked
    assert result.stdout.rstrip().endswith("1 check(s) failed")


def test_an_auth_style_that_does_not_fit_the_base_url_is_named(env: dict[str, str]) -> None:
    result = check(env, KINDFUL_AUTH="bearer")
    assert result.returncode == 1
    line = lines(result)["auth style"]
    assert line.startswith("FAIL") and "KINDFUL_AUTH=bearer" in line and "takes token" in line
    oauth = env["KINDFUL_BASE_URL"].replace("/api/v1", "/admin/oauth2/api/v1")
    result = check(env, KINDFUL_BASE_URL=oauth, KINDFUL_AUTH="token")
    assert lines(result)["auth style"].startswith("FAIL")
    assert "takes bearer" in lines(result)["auth style"]


def test_a_bucket_that_cannot_be_written_fails_with_how_to_fix_it(env: dict[str, str]) -> None:
    result = check(env, KINDFUL_ETL_STAGING_URI="s3://no-such-bucket-here/runs/")
    assert result.returncode == 1
    line = lines(result)["staging write"]
    assert line.startswith("FAIL") and "NoSuchBucket" in line
    assert "create the bucket no-such-bucket-here" in line
    assert "testing" not in result.stdout  # no AWS key in the output
    assert lines(result)["Kindful token"].startswith("ok  ")


def test_missing_settings_are_failed_checks_not_tracebacks(env: dict[str, str]) -> None:
    bare = {k: v for k, v in env.items() if k not in {"KINDFUL_TOKEN", "KINDFUL_ETL_STAGING_URI"}}
    result = check_env(bare)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    found = lines(result)
    assert (
        found["Kindful settings"].startswith("FAIL")
        and "KINDFUL_TOKEN" in found["Kindful settings"]
    )
    assert found["staging"].startswith("FAIL")

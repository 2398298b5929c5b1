"""`kindful-etl sandbox` as a command: in a subprocess on a loopback port, a
contact_with_transaction batch served over HTTP as gzipped CSV and submitted by data_url is
created once, skipped when sent again, and updated only by newer records; its help and token."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from conftest import FileServer, finish, make_client

from pipelines.kindful.models import ImportRequest, ImportResult
from sandbox.cli import sandbox_command

HEADER = [
    "id",
    "first_name",
    "last_name",
    "email",
    "updated_at",
    "transaction_id",
    "amount_in_cents",
    "transaction_time",
    "transaction_updated_at",
    "fund",
    "campaign",
]
ROWS = 25


def batch(stamp: str, amount: int = 1000) -> list[list[object]]:
    return [
        [
            f"donor-{i}",
            "Ada",
            f"Lovelace {i}",
            f"ada{i}@example.org",
            stamp,
            f"gift-{i}",
            amount + i,
            "2021-03-01T12:00:00Z",
            stamp,
            "General",
            "Spring Appeal",
        ]
        for i in range(ROWS)
    ]


@pytest.fixture
def cli_sandbox() -> Iterator[tuple[str, str]]:
    """`kindful-etl sandbox --port 0 --token T` as a real process; yields (base_url, token)."""
    token = "sandbox-cli-token"
    code = "from sandbox.cli import sandbox_command; sandbox_command()"
    process = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-c",
            code,
            "--port",
            "0",
            "--token",
            token,
            "--processing-delay",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/v1)", line)
        assert match, line
        yield match.group(1), token
    finally:
        process.terminate()
        process.wait(10)


def submit(base_url: str, token: str, url: str, action: str) -> ImportResult:
    with make_client(base_url, token) as client:
        request = ImportRequest(
            data_format="contact_with_transaction",
            action_type=action,  # type: ignore[arg-type]
            data_url=url,
            data_type="csv",
            compression="gzip",
        )
        return finish(client, client.submit_import(request).id)


def test_a_data_url_batch_is_created_once_and_updated_only_by_newer_records(
    cli_sandbox: tuple[str, str], files: FileServer
) -> None:
    base_url, token = cli_sandbox
    url = files.put_csv("gifts.csv.gz", HEADER, batch("2021-03-01T12:00:00Z"))

    first = submit(base_url, token, url, "create")
    assert first.status == "complete"
    assert (first.stats.get("Contact", 0), first.stats.get("Transaction", 0)) == (ROWS, ROWS)

    second = submit(base_url, token, url, "create")
    assert second.status == "complete"
    assert not any(second.stats.values()) and not any(second.update_stats.values())

    older = files.put_csv("older.csv.gz", HEADER, batch("2020-01-01T00:00:00Z", amount=5))
    stale = submit(base_url, token, older, "update")
    assert stale.status == "complete"
    assert not any(stale.stats.values()) and not any(stale.update_stats.values())

    newer = files.put_csv("newer.csv.gz", HEADER, batch("2022-01-01T00:00:00Z", amount=7))
    fresh = submit(base_url, token, newer, "update")
    assert fresh.status == "complete"
    assert (fresh.update_stats.get("Contact", 0), fresh.update_stats.get("Transaction", 0)) == (
        ROWS,
        ROWS,
    )
    assert not any(fresh.stats.values())

    with make_client(base_url, token) as client:
        gifts = list(client.query_transactions(["linked"]))
    assert sorted(g["amount_in_cents"] for g in gifts) == [7 + i for i in range(ROWS)]


def test_cli_help_and_loopback_only() -> None:
    result = CliRunner().invoke(sandbox_command, ["--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--token" in result.output and "--db" in result.output


def test_cli_prints_a_generated_token(tmp_path: object) -> None:
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", "from sandbox.cli import sandbox_command; sandbox_command()"],
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": "", "PYTHONPATH": ":".join(sys.path)},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert "127.0.0.1" in lines[0]
        assert lines[2].startswith("Token: ")
    finally:
        process.terminate()
        process.wait(10)

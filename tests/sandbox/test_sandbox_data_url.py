"""data_url loading: fetched when the job runs, gzip, CSV or JSON lines, strict like Kindful."""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import FileServer, Run, finish, make_client

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.errors import KindfulRejected
from pipelines.kindful.models import ImportRequest
from sandbox.serve import SandboxHandle, running_sandbox

HEADER = [
    "id",
    "first_name",
    "last_name",
    "transaction_id",
    "amount_in_cents",
    "transaction_time",
    "fund",
]


def cwt_rows(count: int) -> list[list[object]]:
    return [
        [f"c{i}", f"First{i}", f"Last{i}", f"t{i}", 100 + i, "2021-05-01T10:00:00Z", "General"]
        for i in range(count)
    ]


def by_url(url: str, data_type: str = "csv", **fields: object) -> ImportRequest:
    fields.setdefault("compression", "gzip")
    fields.setdefault("data_format", "contact_with_transaction")
    return ImportRequest.model_validate(fields | {"data_url": url, "data_type": data_type})


def test_gzipped_csv_by_data_url(run: Run, files: FileServer, sandbox: SandboxHandle) -> None:
    url = files.put_csv("batch-ok.csv.gz", HEADER, cwt_rows(250))
    result = run(by_url(url))
    assert result.status == "complete"
    assert (result.stats.get("Contact", 0), result.stats.get("Transaction", 0)) == (250, 250)
    assert len(sandbox.records()["transactions"]) == 250


def test_data_url_is_fetched_when_the_job_runs(
    client: KindfulClient, files: FileServer, sandbox: SandboxHandle
) -> None:
    """Not at submit: a held job has not touched the URL yet."""
    url = files.put_csv("batch-late.csv.gz", HEADER, cwt_rows(1))
    sandbox.set_faults(hold_jobs=True)
    job = client.submit_import(by_url(url))
    assert files.hits.get("batch-late.csv.gz", 0) == 0
    assert client.get_import(job.id).status == "ready"
    sandbox.set_faults(hold_jobs=False)
    assert finish(client, job.id).status == "complete"
    assert files.hits["batch-late.csv.gz"] == 1


def test_csv_with_a_bom_fails_to_load(run: Run, files: FileServer) -> None:
    """002: no BOM in CSV files."""
    url = files.put("bom.csv.gz", gzip.compress(b"\xef\xbb\xbfid,first_name,last_name\n1,A,B\n"))
    result = run(by_url(url, data_format="contact"))
    assert result.status == "load_failed"
    assert result.message == "CSV contains a BOM"
    assert result.stats == {}


def test_expired_presigned_url_fails_to_load(run: Run, files: FileServer) -> None:
    url = files.put("expired.csv.gz", b"<Error>AccessDenied</Error>", status=403)
    result = run(by_url(url))
    assert (result.status, result.message) == (
        "load_failed",
        "data_url could not be fetched: HTTP 403",
    )


def test_unreadable_bodies_fail_to_load(run: Run, files: FileServer) -> None:
    cases = {
        "not-gzip.csv.gz": (b"id,first_name\n1,A\n", "gzip", "not valid gzip"),
        "gzip-undeclared.csv": (gzip.compress(b"id\n1\n"), None, "compression=gzip?"),
        "latin1.csv": ("id,first_name\n1,Jos\xe9\n".encode("latin-1"), None, "not valid UTF-8"),
        "ragged.csv": (b"id,first_name\n1,A,extra\n", None, "has 3 fields"),
        "empty.csv": (b"", None, "empty"),
    }
    for name, (body, compression, expected) in cases.items():
        url = files.put(name, body)
        result = run(by_url(url, compression=compression))
        assert result.status == "load_failed", name
        assert expected in (result.message or ""), (name, result.message)


def test_json_lines_by_data_url(run: Run, files: FileServer) -> None:
    rows = [{"id": f"j{i}", "first_name": "A", "last_name": f"B{i}"} for i in range(3)]
    body = "\n".join(json.dumps(row) for row in rows).encode()
    url = files.put("rows.jsonl.gz", gzip.compress(body))
    result = run(by_url(url, "json", data_format="contact"))
    assert result.stats.get("Contact", 0) == 3


def test_json_array_is_not_json_lines(run: Run, files: FileServer) -> None:
    """002: "a single json object per line, and not a single json array"."""
    url = files.put("array.json", json.dumps([{"id": "1", "first_name": "A"}]).encode())
    result = run(by_url(url, "json", data_format="contact", compression=None))
    assert result.status == "load_failed"
    assert "not an array" in (result.message or "")


def test_invalid_rows_are_dropped_with_the_record_they_would_have_made(
    run: Run, files: FileServer
) -> None:
    """The sandbox checks every row; a dropped row's notification carries its record (001)."""
    rows = cwt_rows(6)
    rows[1][4] = 0  # amount must be > 0
    rows[3][5] = ""  # transaction_time required
    rows[4][1] = rows[4][2] = ""  # no name, unknown contact
    rows[5][6] = ""  # no fund (nor fund_id): 001 says "Yes"
    url = files.put_csv("some-bad.csv.gz", HEADER, rows)
    result = run(by_url(url))
    # Campaign: the partner-name default campaign, made for the first gift (001).
    assert result.stats == {"Contact": 2, "Transaction": 2, "Campaign": 1}
    dropped = {(n.external_id, n.contact_external_id, n.code) for n in result.notifications}
    assert dropped == {
        ("t1", "c1", "invalid_value"),
        ("t3", "c3", "missing_required"),
        ("t4", "c4", "contact_not_found"),
        ("t5", "c5", "missing_required"),
    }
    assert {n.record_type for n in result.notifications} == {"transaction"}
    texts = {n.external_id: n.desc for n in result.notifications}
    assert "amount_in_cents" in texts["t1"]
    assert "transaction_time" in texts["t3"]
    assert texts["t4"] == "Couldn't find contact information for transaction"
    assert "fund" in texts["t5"]
    for note in result.notifications:
        assert "row" not in note.record and "dropped" not in note.record


def test_unknown_columns_are_reported_once(run: Run, files: FileServer) -> None:
    url = files.put_csv(
        "extra-col.csv.gz", [*HEADER, "shoe_size"], [[*row, 42] for row in cwt_rows(3)]
    )
    result = run(by_url(url))
    assert result.stats.get("Transaction", 0) == 3
    assert [(n.code, n.external_id) for n in result.notifications] == [("unknown_column", "t0")]
    assert "shoe_size" in result.notifications[0].desc


def test_data_url_host_allow_list(files: FileServer) -> None:
    with (
        running_sandbox(allowed_data_url_hosts=frozenset({"uploads.example"})) as strict,
        make_client(strict.base_url, strict.token) as client,
    ):
        url = files.put("host.csv", b"id\n1\n")
        with pytest.raises(KindfulRejected, match="not allowed"):
            client.submit_import(by_url(url))

"""`preview` against the sandbox Kindful over HTTP: verdicts per row, and nothing written."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from flows.cli.preview import preview_command
from pipelines.embedded.defaults import EMBEDDED_TOKEN
from pipelines.kindful.client import KindfulClient
from pipelines.kindful.models import ImportRequest
from pipelines.kindful.settings import KindfulSettings
from pipelines.preview.plan import PREVIEW_COLUMNS, PreviewResult, preview_export, resolve_run
from pipelines.transform.prepare import prepare_export
from sandbox.serve import SandboxHandle, running_sandbox

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"
CLASSY = SAMPLES / "classy_transactions.csv"
CLASSY_MAPPING = SAMPLES / "classy_transactions.mapping.yaml"
TOKEN = "preview-test-token"
HEADER = "id,first_name,last_name,email,updated_at,transaction_id,amount_in_cents,transaction_time"
FIRST = [
    f"{HEADER},transaction_updated_at",
    "C-1001,Ann,Lee,ann@example.org,2024-01-01T00:00:00Z,T-3001,5000,2024-01-01T00:00:00Z,",
    "C-1002,Bob,Ray,bob@example.org,2024-01-02T00:00:00Z,T-3002,7000,2024-01-02T00:00:00Z,",
]


@pytest.fixture
def kindful() -> Iterator[SandboxHandle]:
    with running_sandbox(token=TOKEN) as handle:
        yield handle


@pytest.fixture
def client(kindful: SandboxHandle) -> Iterator[KindfulClient]:
    settings = KindfulSettings(token=SecretStr(TOKEN), base_url=kindful.base_url)
    with KindfulClient(settings) as kindful_client:
        yield kindful_client


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_inline(client: KindfulClient, source: Path, fmt: str | None, **options: Any) -> None:
    """Import SOURCE's accepted rows (<= 100) inline, as prepared for a real run."""
    mapping, run = resolve_run(data_format=fmt, **options)
    rows = [
        {str(k): v for k, v in row.items() if not pd.isna(v)}
        for chunk in prepare_export(str(source), mapping, run)
        for row in chunk.accepted.to_dict("records")
    ]
    job = client.submit_import(
        ImportRequest(
            data_format=run.data_format,  # type: ignore[arg-type]
            action_type=run.action,  # type: ignore[arg-type]
            data=rows,
            match_by=run.match_by or None,
        )
    )
    assert client.wait_for_import(job.id, poll_interval=0.02, timeout=30).status == "complete"


def preview(client: KindfulClient, source: Path, fmt: str, **options: Any) -> PreviewResult:
    email_exist_max = options.pop("email_exist_max", 20)
    mapping, run = resolve_run(data_format=fmt, **options)
    return preview_export(str(source), client, run, mapping, email_exist_max=email_exist_max)


def verdicts(result: PreviewResult) -> dict[int, str]:
    return dict(zip(result.rows["source_row"], result.rows["verdict"], strict=True))


def reason(result: PreviewResult, row: int) -> str:
    return str(result.rows.set_index("source_row").at[row, "reason"])


def posts(kindful: SandboxHandle) -> int:
    return kindful.sandbox_requests().get("POST /imports", 0)


def test_must_show_a_rerun_of_an_imported_sample_is_left_alone(
    kindful: SandboxHandle, client: KindfulClient, tmp_path: Path
) -> None:
    # The Classy sample, prepared as `import` prepares it (mapping, derived ids), sent inline.
    import_inline(client, CLASSY, None, mapping_path=str(CLASSY_MAPPING))
    assert len(kindful.records()["transactions"]) == 23
    submitted = posts(kindful)

    args = [str(CLASSY), "--mapping", str(CLASSY_MAPPING), "--out", str(tmp_path / "preview")]
    env = {"KINDFUL_TOKEN": TOKEN, "KINDFUL_BASE_URL": kindful.base_url}
    result = CliRunner().invoke(preview_command, args, env=env)

    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "preview" / "preview.csv", dtype=str)
    assert tuple(frame.columns) == PREVIEW_COLUMNS
    accepted = frame[frame["verdict"] != "rejected"]
    assert len(accepted) == 23 and set(accepted["verdict"]) == {"leave alone"}
    assert set(accepted["contact_verdict"]) == {"leave alone"}
    assert frame.loc[frame["verdict"] == "rejected", "source_row"].tolist() == ["8", "17"]
    assert "leave alone        23" in result.output and "create             0" in result.output
    assert "transaction matched by external_id '41230001' (Kindful id" in result.output
    assert posts(kindful) == submitted  # the preview never submits an import
    assert kindful.sandbox_requests()["POST /transactions/query"] == 1


def test_update_create_and_rejected_rows(client: KindfulClient, tmp_path: Path) -> None:
    import_inline(client, write(tmp_path / "first.csv", FIRST), "contact_with_transaction")
    later = write(
        tmp_path / "later.csv",
        [
            f"{HEADER},transaction_updated_at",
            "C-1001,Ann,Lee,ann@example.org,2024-06-01T00:00:00Z,T-3001,5000,"
            "2024-01-01T00:00:00Z,2024-06-01T00:00:00Z",
            "C-1002,Bob,Ray,bob@example.org,2023-12-01T00:00:00Z,T-3002,7000,2024-01-02T00:00:00Z,",
            "C-1003,Cy,New,cy@example.org,2024-06-01T00:00:00Z,T-3003,900,2024-06-01T00:00:00Z,",
            "C-1003,Cy,New,cy@example.org,2024-06-01T00:00:00Z,T-3004,0,2024-06-02T00:00:00Z,",
            "C-1003,Cy,New,cy@example.org,2024-06-01T00:00:00Z,T-3005,100,2024-06-03T00:00:00Z,",
        ],
    )

    updated = preview(client, later, "contact_with_transaction", action="update")

    assert verdicts(updated) == {
        1: "update",
        2: "leave alone",
        3: "create",
        4: "rejected",
        5: "create",
    }
    rows = updated.rows.set_index("source_row")
    assert (
        rows.at[1, "contact_verdict"] == "update" and rows.at[2, "contact_verdict"] == "leave alone"
    )
    assert reason(updated, 1).startswith("transaction matched by external_id 'T-3001' (Kindful id")
    assert "is newer than Kindful's 2024-01-01 00:00:00 UTC" in reason(updated, 1)
    assert "contact matched by external_id 'C-1001' (Kindful id" in reason(updated, 1)
    assert "updated_at 2023-12-01 00:00:00 UTC is older than Kindful's" in reason(updated, 2)
    assert "no transaction with external_id 'T-3003'" in reason(updated, 3)
    assert "no contact with external_id 'C-1003'" in reason(updated, 3)
    assert "same contact as source row 3" in reason(updated, 5)
    assert reason(updated, 4).startswith("amount_in_cents: ")
    assert updated.counts == {
        "create": 2,
        "update": 1,
        "leave alone": 1,
        "cannot preview": 0,
        "rejected": 1,
    }

    created = preview(client, later, "contact_with_transaction", action="create")
    assert verdicts(created)[1] == "leave alone"
    assert "a create run leaves existing records as they are" in reason(created, 1)


def test_match_by_email_names_the_email_match(
    kindful: SandboxHandle,
    client: KindfulClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import_inline(client, write(tmp_path / "first.csv", FIRST), "contact_with_transaction")
    kindful.sandbox.seed_contact(
        kindful.app, {"first_name": "Dee", "last_name": "Old", "email": "dee@example.org"}
    )
    other_ids = write(
        tmp_path / "contacts.csv",
        [
            "id,first_name,last_name,email,updated_at",
            "X-1,Ann,Lee,ANN@example.org,2024-01-01T00:00:00Z",
            "X-2,Dee,Old,dee@example.org,2024-01-01T00:00:00Z",
            "X-3,Eve,New,eve@example.org,2024-01-01T00:00:00Z",
        ],
    )
    by_email = ("contact=email",)

    with caplog.at_level(logging.DEBUG):
        quick = preview(client, other_ids, "contact", match_by=by_email)
    assert "example.org" not in caplog.text  # httpx logs URLs; email_exist's hold emails
    assert verdicts(quick) == {1: "leave alone", 2: "leave alone", 3: "create"}
    assert quick.rows["match_key"].tolist() == ["email"] * 3
    assert reason(quick, 1).startswith("contact matched by email 'ann@example.org'")
    assert reason(quick, 3) == "no contact with email 'eve@example.org'"
    assert quick.kindful_reads == {"contacts/email_exist": 3}

    bulk = preview(client, other_ids, "contact", match_by=by_email, email_exist_max=0)
    assert verdicts(bulk) == verdicts(quick)
    assert "contact matched by email 'ann@example.org' (Kindful id" in reason(bulk, 1)
    assert "the import links it to id 'X-2'" in reason(bulk, 2)  # Dee was entered in Kindful
    assert bulk.kindful_reads == {"contacts/query": 3}
    assert kindful.sandbox_requests()["POST /contacts/query"] == 1
    assert posts(kindful) == 1  # the import above, nothing since


def test_notes_cannot_be_previewed_and_say_so(client: KindfulClient) -> None:
    result = preview(client, SAMPLES / "contact_with_note.jsonl", "contact_with_note")
    rows = result.rows[result.rows["verdict"] != "rejected"]
    assert set(rows["verdict"]) == {"cannot preview"} and set(rows["record"]) == {"note"}
    assert set(rows["contact_verdict"]) == {"create"}
    assert (
        rows["reason"]
        .str.startswith("Kindful offers no query for notes: contact verdict only")
        .all()
    )
    assert result.rows.loc[result.rows["verdict"] == "rejected", "source_row"].tolist() == [9]


class _ReferenceShapes:
    """Answers shaped like 001's examples: no email, organization_name, unix updated_at."""

    def query_contacts(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield {"id": 100000, "record_type": "contact", "external_id": "C-1", "sync_version": 5}
        yield {"id": 101000, "external_id": "C-2", "updated_at": 1509645789}

    def query_transactions(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield {"id": 5000, "external_id": "T-1", "updated_at": "2016-04-05 10:36:52 UTC"}


def test_answers_shaped_like_the_reference_examples(tmp_path: Path) -> None:
    source = write(
        tmp_path / "gifts.csv",
        [
            f"{HEADER},transaction_updated_at",
            "C-1,Joe,Smith,,2016-04-06T00:00:00Z,T-1,500,2016-03-31T15:36:52Z,2016-04-05T10:36:52Z",
            "C-2,Jane,Smith,,2017-11-03T00:00:00Z,T-2,500,2016-03-31T15:36:52Z,",
        ],
    )
    mapping, run = resolve_run(data_format="contact_with_transaction", action="update")
    result = preview_export(str(source), cast(KindfulClient, _ReferenceShapes()), run, mapping)
    rows = result.rows.set_index("source_row")
    assert rows.at[1, "verdict"] == "leave alone" and rows.at[2, "verdict"] == "create"
    assert rows.at[1, "contact_verdict"] == "cannot preview"  # no updated_at in the answer
    assert rows.at[2, "contact_verdict"] == "update"  # 1509645789 = 2017-11-02 18:03:09 UTC
    assert "is the same as Kindful's" in str(rows.at[1, "reason"])


def test_embedded_default_reads_the_saved_sandbox_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "state"
    home.mkdir()
    db = home / "sandbox.db"
    source = write(tmp_path / "first.csv", FIRST)
    with (
        running_sandbox(token=EMBEDDED_TOKEN, db=str(db)) as sandbox,
        KindfulClient(
            KindfulSettings(token=SecretStr(EMBEDDED_TOKEN), base_url=sandbox.base_url)
        ) as embedded,
    ):
        import_inline(embedded, source, "contact_with_transaction")

    def state() -> tuple[Any, ...]:
        with sqlite3.connect(db) as conn:
            return (
                conn.execute("SELECT count(*), max(updated_at) FROM records").fetchone(),
                conn.execute("SELECT count(*) FROM jobs").fetchone(),
            )

    before = state()
    env = {"KINDFUL_ETL_HOME": str(home), "KINDFUL_TOKEN": None, "KINDFUL_BASE_URL": None}
    args = [str(source), "--format", "contact_with_transaction"]
    result = CliRunner().invoke(preview_command, args, env=env)

    assert result.exit_code == 0, result.output
    assert "embedded sandbox Kindful" in result.stderr and "Nothing is written" in result.stderr
    (out,) = list((home / "previews").iterdir())
    frame = pd.read_csv(out / "preview.csv", dtype=str)
    assert frame["verdict"].tolist() == ["leave alone", "leave alone"]
    assert state() == before


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(preview_command, [str(tmp_path / "nope.csv"), "--format", "contact"])
    assert missing.exit_code == 2
    assert missing.stderr.strip().splitlines() == [
        f"kindful-etl: error: source not found: {tmp_path / 'nope.csv'}"
    ]
    bad_match = runner.invoke(
        preview_command, [str(CLASSY), "--format", "contact", "--match-by", "contact"]
    )
    assert bad_match.exit_code == 2 and "Traceback" not in bad_match.output
    assert len(bad_match.stderr.strip().splitlines()) == 1

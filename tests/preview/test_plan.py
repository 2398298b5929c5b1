"""`preview` end to end through the CLI: preview.csv's verdicts, and nothing written to Kindful."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
from click.testing import CliRunner
from preview_helpers import CLASSY, CLASSY_MAPPING, FIRST, TOKEN, import_inline, posts, write
from pydantic import SecretStr

from flows.cli.preview import preview_command
from pipelines.embedded.defaults import EMBEDDED_TOKEN
from pipelines.kindful.client import KindfulClient
from pipelines.kindful.settings import KindfulSettings
from pipelines.preview.verdicts import PREVIEW_COLUMNS
from sandbox.serve import SandboxHandle, running_sandbox


def test_must_show_a_rerun_of_an_imported_sample_is_left_alone(
    kindful: SandboxHandle, client: KindfulClient, tmp_path: Path
) -> None:
    # The Classy sample, prepared as `import` prepares it (mapping, derived ids), sent inline.
    import_inline(client, CLASSY, None, mapping=str(CLASSY_MAPPING))
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

"""`mapping suggest` and `mapping check` through click, and their one-line errors (exit 2)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flows.cli.mapping import mapping_group
from pipelines.mapping.spec import load_mapping

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
STRIPE = str(SAMPLES / "stripe_payments.csv")
STRIPE_MAPPING = str(SAMPLES / "stripe_payments.mapping.yaml")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(mapping_group, list(args))


def test_suggest_writes_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    result = invoke("suggest", STRIPE)
    assert result.exit_code == 0, result.output
    flat = " ".join(line.removeprefix("# ") for line in result.stdout.splitlines())
    assert "so this starts from the shipped preset stripe_payments" in flat
    assert "- {column: Status, in: [failed, declined], reason: payment failed}" in result.stdout
    target = tmp_path / "stripe.mapping.yaml"
    result = invoke("suggest", STRIPE, "--format", "contact_with_transaction", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert f"wrote {target}" in result.stderr
    mapping = load_mapping(target)
    assert mapping.name == "stripe" and mapping.source_system == "stripe"
    again = invoke("suggest", STRIPE, "-o", str(target))
    assert again.exit_code == 2 and "exists; pass --force" in again.stderr
    assert invoke("suggest", STRIPE, "-o", str(target), "--force").exit_code == 0


def test_suggest_for_a_plain_export_needs_a_format() -> None:
    result = invoke("suggest", str(SAMPLES / "contacts.csv"), "--format", "contact")
    assert result.exit_code == 0
    assert "  first_name: first_name" in result.stdout and "# 1.0 exact name" in result.stdout


def test_check_explains_the_first_rows(tmp_path: Path) -> None:
    result = invoke("check", STRIPE_MAPPING, STRIPE)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "mapping stripe_payments: contact_with_transaction (action create), "
        "first 5 row(s) of " + STRIPE
    )
    assert lines[1] == "ignored columns: Converted Amount, Fee, Card Last4"
    assert [line for line in lines if line.startswith("row ")] == [
        f"row {n}: accepted" for n in range(1, 6)
    ]
    first = lines[2 : lines.index("row 2: accepted")]
    by_column = {line.split()[0]: line for line in first}
    assert by_column["first_name"].split() == [
        "first_name",
        "Alan",
        "<-",
        "Card",
        "Name",
        "(full",
        "name:",
        "first",
        "name)",
    ]
    assert by_column["amount_in_cents"].endswith("<- Amount (in dollars) = 100.00")
    assert "10000" in by_column["amount_in_cents"]
    assert by_column["was_refunded"].split()[1:] == [
        "false",
        "<-",
        "Amount",
        "Refunded",
        "(>",
        "0)",
    ]
    assert by_column["transaction_time"].split()[1] == "2024-09-17T05:37:12+00:00"
    assert "derived id (source system stripe)" in by_column["id"]
    assert "<- constant" in by_column["fund"] and "<- id" in by_column["stripe_charge_id"]


def test_check_shows_skips_rejects_and_warnings(tmp_path: Path) -> None:
    result = invoke("check", STRIPE_MAPPING, STRIPE, "--rows", "22")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "row 6: skipped: payment failed (Status = Failed)\n" in out
    assert "row 13: skipped: payment failed (Status = failed)\n" in out
    assert "row 20: rejected\n" in out
    assert "  REJECTED first_name/last_name/company_name: needs first_name and last_name" in out
    row22 = out[out.index("row 22: rejected") :]
    assert "amount_in_cents          REJECTED: must be greater than 0" in row22
    mapping = tmp_path / "m.mapping.yaml"
    mapping.write_text(
        "data_format: contact\n"
        "columns: {first_name: first_name, last_name: last_name, email: email}\n"
    )
    warned = invoke("check", str(mapping), str(SAMPLES / "contacts.csv"), "--rows", "12")
    assert "row 12: accepted, 1 warning(s)" in warned.stdout
    assert "email = not-an-email  (warning: invalid email, cleared)" in warned.stdout


def test_check_logs_no_donor_data(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        result = invoke("check", STRIPE_MAPPING, STRIPE)
    assert result.exit_code == 0 and "alan.tester1@example.com" in result.stdout
    assert not [r for r in caplog.records if "alan" in r.getMessage().lower()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check", "nope.yaml", STRIPE), "mapping file not found: nope.yaml"),
        (("check", STRIPE_MAPPING, "missing.csv"), "cannot read missing.csv: file not found"),
        (
            ("check", str(SAMPLES / "classy_transactions.mapping.yaml"), STRIPE),
            "mapped column(s) not in the file",
        ),
        (("check", STRIPE_MAPPING, STRIPE, "--format", "contact"), "disagrees with the mapping"),
        (("suggest", str(SAMPLES / "contacts.csv")), "pass --format"),
        (("suggest", STRIPE, "--format", "gifts"), "'gifts' is not one of 'contact'"),
        (("suggest", "missing.csv", "--format", "contact"), "file not found"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("kindful-etl: error: ")
    assert message in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.slow  # CLI subprocesses: ~5-30 s
def test_a_broken_mapping_or_file_never_shows_a_traceback(tmp_path: Path) -> None:
    mapping = tmp_path / "broken.mapping.yaml"
    mapping.write_text("skip: [{column: Status, in: [failed]}]\n")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    runner = [sys.executable, "-c", "from flows.cli.mapping import mapping_group; mapping_group()"]
    for args, message in (
        (["check", str(mapping), STRIPE], "skip rule 1 needs reason"),
        (["suggest", str(empty), "--format", "contact"], "the file is empty"),
        (["suggest", STRIPE, "-o", str(tmp_path / "no" / "such" / "dir.yaml")], "cannot write"),
    ):
        done = subprocess.run(
            [*runner, *args], capture_output=True, text=True, cwd=ROOT, check=False
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
        assert message in done.stderr

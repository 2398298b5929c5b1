"""Every command ends an error the same way: bad input is its one line and exit 2; a bug is
its type and project location only (exit 1), because an exception's text can quote a cell."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli.main import cli
from pipelines.errors import InputError, KindfulEtlError, error_line
from pipelines.kindful.errors import KindfulError
from pipelines.read.errors import ExportError
from pipelines.staging.s3 import StagingError

DONOR_VALUE = "Secretson"


def crash(*args: object, **kwargs: object) -> None:
    int(DONOR_VALUE)  # a bug whose message quotes a donor's value


@pytest.fixture
def export(tmp_path: Path) -> Path:
    source = tmp_path / "gifts.csv"
    source.write_text("first_name,last_name,email\nAda,Example,ada@example.org\n")
    return source


@pytest.mark.parametrize(
    ("target", "args"),
    [
        ("pipelines.transform.job.validate_export", ["validate", "--format", "contact"]),
        ("flows.cli.preview.preview_export", ["preview", "--format", "contact"]),
        ("flows.cli.mapping.suggest_mapping", ["mapping", "suggest"]),
        ("flows.cli.mapping.prepare_chunk", ["mapping", "check", "MAPPING"]),
    ],
)
def test_a_bug_in_any_command_is_one_line_with_its_type_and_place_only(
    target: str, args: list[str], export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KINDFUL_ETL_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(target, crash)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("data_format: contact\n")
    argv = [str(mapping) if a == "MAPPING" else a for a in args]
    extra = ["--out", str(tmp_path / "out")] if args[0] in {"validate", "preview"} else []
    result = CliRunner().invoke(cli, [*argv, str(export), *extra])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("kindful-etl:")]
    assert errors == [
        "kindful-etl: error: internal error ValueError at tests/cli/test_errors.py:21"
        " (a bug in kindful-etl; please report it)"
    ]
    assert "Traceback" not in result.output
    assert DONOR_VALUE not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--format", "contact", "--out", "OUT"],
        ["preview", "--format", "contact", "--out", "OUT"],
        ["mapping", "suggest"],
    ],
)
def test_a_missing_source_is_one_line_and_exit_2_in_every_command(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KINDFUL_ETL_HOME", str(tmp_path / "home"))
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    result = CliRunner().invoke(cli, [*argv, str(tmp_path / "nope.csv")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kindful-etl: error: "), result.output
    assert "nope.csv" in lines[0]


def test_runs_show_of_an_unknown_run_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["runs", "--ledger", str(tmp_path / "l.db"), "show", "x"])
    assert result.exit_code == 2
    assert result.output.strip() == "kindful-etl: error: no run x in the ledger"


@pytest.mark.parametrize("kind", [InputError, ExportError, StagingError, KindfulError])
def test_every_reported_error_is_one_family_and_one_line(kind: type[Exception]) -> None:
    error = kind("first line\nsecond line\r\n  third")
    assert isinstance(error, KindfulEtlError)
    assert str(error) == "first line second line third"
    assert error_line(error) == ("first line second line third", True)


def test_an_os_error_names_the_file_and_the_reason_without_a_traceback() -> None:
    error = FileNotFoundError(2, "No such file or directory", "/data/gifts.csv")
    assert error_line(error) == ("/data/gifts.csv: No such file or directory", True)

"""The command line follows click's conventions: --version, choices listed in --help, help on
every option, environment variables shown, and --json where a script reads the result."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import get_args

import click
import pytest
from click.testing import CliRunner

from flows.cli.main import cli
from schemas.columns import DataFormat

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "kindful-etl")
CONTACTS = ROOT / "data_samples" / "contacts.csv"


def every_command() -> list[tuple[str, click.Command]]:
    found = []

    def walk(group: click.Group, prefix: str) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            found.append((f"{prefix}{name}", command))
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")

    walk(cli, "")
    return found


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"kindful-etl, version {version('kindful-etl')}"


@pytest.mark.parametrize(("name", "command"), every_command())
def test_every_option_has_help_and_shows_its_environment_variable(
    name: str, command: click.Command
) -> None:
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts[0]} has no help"
            if param.envvar:
                assert param.show_envvar, f"{name} {param.opts[0]} hides {param.envvar}"


def test_format_is_a_choice_of_the_eight_kindful_formats_listed_in_help() -> None:
    assert len(get_args(DataFormat)) == 8
    for args in (["validate", "--help"], ["import", "--help"], ["mapping", "suggest", "--help"]):
        shown = CliRunner().invoke(cli, args).output
        flat = " ".join(shown.split())
        assert all(name in flat for name in get_args(DataFormat)), args
    refused = CliRunner().invoke(cli, ["validate", str(CONTACTS), "--format", "contacts"])
    assert refused.exit_code == 2
    assert "'contacts' is not one of" in refused.output


def test_validate_json_is_the_summary_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [CLI, "validate", str(CONTACTS), "--format", "contact", "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == json.loads((out / "summary.json").read_text())


@pytest.mark.slow
def test_import_and_runs_json_are_the_reconciliation_and_the_ledgers_runs(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KINDFUL_ETL_HOME": str(tmp_path)}
    done = subprocess.run(
        [CLI, "import", str(CONTACTS), "--format", "contact", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    report = json.loads(done.stdout)
    saved = json.loads((Path(report["out_dir"]) / "reconciliation.json").read_text())
    assert report == saved
    listed = subprocess.run(
        [CLI, "runs", "--json"], capture_output=True, text=True, check=True, env=env
    )
    (run,) = json.loads(listed.stdout)
    assert run["run_id"] == report["run_id"] and run["status"] == report["status"]


def test_shell_completion_is_documented_and_works() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "_KINDFUL_ETL_COMPLETE=bash_source kindful-etl" in readme
    done = subprocess.run(
        [CLI], env={"_KINDFUL_ETL_COMPLETE": "bash_source", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "_kindful_etl_completion" in done.stdout

"""`kindful-etl import` reports a bug as `validate` does: one line, the exception's type and the
innermost project frame, exit 1, and never the exception's text (it may quote a donor value)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import flows.cli.imports
import flows.import_export
import flows.prefect_api
import pipelines.load.importing
import pipelines.transform.options
from flows.cli.main import cli
from pipelines.load.run import ImportFailed, LoadResult

pytestmark = pytest.mark.slow
SECRET = "Secretson"


def crash(*args: object, **kwargs: object) -> Any:
    return int(SECRET)  # raises ValueError quoting a donor value


def invoke(tmp_path: Path) -> Any:
    source = tmp_path / "fine.csv"
    source.write_text("first_name,last_name\nAda,Example\n")
    return CliRunner().invoke(cli, ["import", str(source), "--format", "contact"])


def assert_one_line_internal_error(output: str, prefix: str) -> None:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith(f"{prefix}internal error ValueError at "), lines[0]
    assert "tests/cli/test_import_cli_errors.py:" in lines[0]  # the innermost project frame
    assert lines[0].endswith("(a bug in kindful-etl; please report it)")
    assert SECRET not in output


def test_an_internal_error_in_import_is_one_line_without_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipelines.transform.options, "resolve_run", crash)
    result = invoke(tmp_path)
    assert result.exit_code == 1
    assert_one_line_internal_error(result.output, "kindful-etl: error: ")


class FailedState:
    """What the flow returns when a task raised: a failed state holding the exception."""

    message = "Flow run encountered an exception"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def is_failed(self) -> bool:
        return True

    def result(self, raise_on_failure: bool = True) -> BaseException:
        return self.error


@contextlib.contextmanager
def no_settings(**kwargs: object) -> Iterator[None]:
    yield None


def failing_flow(error: BaseException) -> Any:
    def run(**kwargs: object) -> FailedState:
        return FailedState(error)

    return run


@pytest.fixture
def prefect_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command sees a Prefect API (PREFECT_API_URL or `kindful-etl server`): the flow path."""
    monkeypatch.setattr(flows.prefect_api, "configured_api", lambda home: "http://prefect.test/api")
    monkeypatch.setattr(flows.prefect_api, "prefect_api", lambda url: contextlib.nullcontext())
    monkeypatch.setattr(flows.cli.imports, "import_settings", no_settings)


@pytest.mark.usefixtures("prefect_configured")
def test_a_flow_that_failed_on_a_bug_is_reported_without_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        crash()
    except ValueError as error:
        raised = error
    monkeypatch.setattr(flows.import_export, "import_export", failing_flow(raised))
    result = invoke(tmp_path)
    assert result.exit_code == 1
    assert_one_line_internal_error(result.output, "kindful-etl: error: ")


@pytest.mark.usefixtures("prefect_configured")
def test_a_failed_kindful_job_still_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = ImportFailed("import r1 failed: batch-0001: failed", {})
    monkeypatch.setattr(flows.import_export, "import_export", failing_flow(failed))
    result = invoke(tmp_path)
    assert result.exit_code == 1
    assert (
        result.output.strip() == "kindful-etl: import failed: import r1 failed: batch-0001: failed"
    )


def test_a_bug_in_an_ad_hoc_import_is_reported_without_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flows.cli.imports, "import_settings", no_settings)
    monkeypatch.setattr(pipelines.load.importing, "import_file", crash)
    result = invoke(tmp_path)
    assert result.exit_code == 1
    assert_one_line_internal_error(result.output, "kindful-etl: error: ")


def test_a_failed_kindful_job_in_an_ad_hoc_import_says_why_and_prints_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failed_run(*args: object, **kwargs: object) -> tuple[LoadResult, dict[str, Any]]:
        return LoadResult({}, "import r1 failed: batch-0001: failed"), {}

    monkeypatch.setattr(flows.cli.imports, "import_settings", no_settings)
    monkeypatch.setattr(pipelines.load.importing, "import_file", failed_run)
    result = invoke(tmp_path)
    assert result.exit_code == 1
    assert (
        result.output.strip() == "kindful-etl: import failed: import r1 failed: batch-0001: failed"
    )

"""`pipelines.api`, the notebook API: each function against what the CLI does with the input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from flows.cli.main import cli
from pipelines import api
from pipelines.errors import InputError, KindfulEtlError
from pipelines.kindful.client import KindfulClient
from pipelines.kindful.settings import KindfulSettings
from pipelines.load.settings import ImportSettings
from pipelines.mapping.spec import load_mapping
from pipelines.preview.verdicts import PREVIEW_COLUMNS
from pipelines.read.errors import ExportError
from sandbox.serve import running_sandbox

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
CLASSY = SAMPLES / "classy_transactions.csv"
CLASSY_MAPPING = SAMPLES / "classy_transactions.mapping.yaml"
RUN_FILES = {"accepted": "normalized.csv", "rejects": "rejects.csv", "warnings": "warnings.csv"}


@pytest.fixture
def no_kindful(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Kindful configured and a state folder of the test's own: the embedded default."""
    for name in ("KINDFUL_TOKEN", "KINDFUL_BASE_URL", "KINDFUL_ETL_LEDGER_URL"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("KINDFUL_ETL_HOME", str(home))
    return home


def file_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def frame_rows(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(c) for c in frame.columns], *frame.astype(str).to_numpy().tolist()]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("classy_transactions.csv", ["--mapping", str(CLASSY_MAPPING)]),
        ("contacts.csv", ["--format", "contact"]),  # a warning (row 12) and two rejects
    ],
)
def test_validate_returns_what_the_cli_files_hold(
    tmp_path: Path, name: str, args: list[str]
) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(cli, ["validate", str(SAMPLES / name), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    options = dict(zip(args[::2], args[1::2], strict=True))

    found = api.validate(
        SAMPLES / name, data_format=options.get("--format"), mapping=options.get("--mapping")
    )

    for attribute, file_name in RUN_FILES.items():
        frame = getattr(found, attribute)
        assert frame_rows(frame) == file_rows(out / file_name), attribute
    assert found.summary == json.loads((out / "summary.json").read_text())
    assert found.out_dir is None
    assert found.rejects["source_row"].dtype == "int64"
    assert len(found.accepted) == found.summary["rows_accepted"]
    if name == "contacts.csv":
        assert found.warnings["source_row"].tolist() == [12]


def test_a_mapping_as_path_as_object_or_suggested_gives_the_same(tmp_path: Path) -> None:
    draft = api.suggest_mapping(CLASSY)
    assert draft.preset == "classy_transactions" and draft.name == "classy_transactions"
    saved = draft.save(tmp_path / f"{draft.name}.mapping.yaml")
    assert saved.read_text(encoding="utf-8") == draft.text  # unedited: comments and all

    runs = [
        api.validate(CLASSY, mapping=draft),
        api.validate(CLASSY, mapping=saved),
        api.validate(CLASSY, mapping=str(saved)),
        api.validate(CLASSY, mapping=load_mapping(saved)),
    ]

    first = runs[0]
    for other in runs[1:]:
        for attribute in RUN_FILES:
            pd.testing.assert_frame_equal(getattr(first, attribute), getattr(other, attribute))
        assert other.summary == first.summary
    assert first.summary["rows_rejected"] == 2


def test_editing_a_suggested_mapping_changes_what_validate_finds(tmp_path: Path) -> None:
    source = tmp_path / "donors.csv"
    source.write_text(
        "Frist Name,Last Name,Email\nAda,Lovelace,ada@example.org\nAlan,Turing,alan@example.org\n",
        encoding="utf-8",
    )
    draft = api.suggest_mapping(source, "contact")
    assert [hint.source for hint in draft.hints] == ["Frist Name"]  # left unmapped
    with pytest.raises(InputError, match="missing column"):
        api.validate(source, mapping=draft)

    draft.columns["Frist Name"] = "first_name"  # the README's documented edit
    draft.constants["country"] = "US"
    found = api.validate(source, mapping=draft)

    assert draft.edited
    assert found.summary["rows_accepted"] == 2
    assert found.accepted["first_name"].tolist() == ["Ada", "Alan"]
    assert set(found.accepted["country"]) == {"United States"}  # normalized as any value
    # Saved and loaded again, the edit holds (the suggestion's comments do not).
    saved = draft.save(tmp_path / f"{draft.name}.mapping.yaml")
    assert "Frist Name: first_name" in saved.read_text(encoding="utf-8")
    assert load_mapping(saved) == draft.mapping
    again = api.validate(source, mapping=saved)
    pd.testing.assert_frame_equal(again.accepted, found.accepted)


def test_a_bad_edit_is_refused_in_one_line() -> None:
    draft = api.suggest_mapping(CLASSY)
    draft.document["day_first"] = "sometimes"
    with pytest.raises(InputError, match="day_first must be true or false"):
        api.validate(CLASSY, mapping=draft)
    with pytest.raises(InputError):
        draft.to_yaml()


def test_without_out_dir_nothing_is_left_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, temp = tmp_path / "cwd", tmp_path / "temp"
    cwd.mkdir()
    temp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    found = api.validate(CLASSY, mapping=CLASSY_MAPPING)

    assert found.summary["rows_read"] == 25 and len(found.rejects) > 0
    assert list(cwd.iterdir()) == [] and list(temp.iterdir()) == []


def test_with_out_dir_the_files_stay_private(tmp_path: Path) -> None:
    out = tmp_path / "run"
    found = api.validate(CLASSY, mapping=CLASSY_MAPPING, out_dir=out)
    assert found.out_dir == out
    names = {"normalized.csv", "rejects.csv", "warnings.csv", "summary.json"}
    assert {p.name for p in out.iterdir()} == names
    assert out.stat().st_mode & 0o777 == 0o700
    assert {(out / n).stat().st_mode & 0o777 for n in names} == {0o600}
    assert frame_rows(found.rejects) == file_rows(out / "rejects.csv")


def test_options_are_the_clis(tmp_path: Path) -> None:
    found = api.validate(
        SAMPLES / "contacts.csv",
        "contact",
        action="update",
        match_by={"contact": "email"},
        source_timezone="America/Chicago",
    )
    assert found.summary["action"] == "update"
    assert found.summary["match_by"] == {"contact": "email"}
    assert found.summary["source_timezone"] == "America/Chicago"
    pairs = api.validate(SAMPLES / "contacts.csv", "contact", match_by=["contact=email"])
    assert pairs.summary["match_by"] == {"contact": "email"}


@pytest.fixture
def sandbox_client() -> Iterator[KindfulClient]:
    with (
        running_sandbox(token="api-test-token") as sandbox,
        KindfulClient(
            KindfulSettings(token=SecretStr(sandbox.token), base_url=sandbox.base_url)
        ) as client,
    ):
        yield client


def test_preview_returns_a_verdict_per_row(sandbox_client: KindfulClient) -> None:
    frame = api.preview(CLASSY, mapping=CLASSY_MAPPING, kindful=sandbox_client)
    assert tuple(frame.columns) == PREVIEW_COLUMNS
    assert frame["source_row"].tolist() == list(range(1, 26))
    assert frame.loc[frame["verdict"] == "rejected", "source_row"].tolist() == [8, 17]


def test_preview_without_kindful_reads_the_embedded_state(
    no_kindful: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    frame = api.preview(CLASSY, mapping=api.suggest_mapping(CLASSY))
    assert tuple(frame.columns) == PREVIEW_COLUMNS and len(frame) == 25
    assert not no_kindful.exists()  # a preview never creates the state folder


def test_import_export_returns_the_reconciliation(
    make_settings: Callable[..., ImportSettings], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    report = api.import_export(
        CLASSY, mapping=api.suggest_mapping(CLASSY), settings=make_settings(), out_dir=out
    )
    assert report["status"] == "complete"
    assert report["rows_created"] == 23 and report["rows_rejected"] == 2
    assert json.loads((out / "reconciliation.json").read_text()) == json.loads(
        json.dumps(report, default=str)
    )


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text and "\n" not in text
    return text


def test_bad_input_raises_the_products_errors_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as missing:
        api.validate(tmp_path / "missing.csv", "contact")
    assert "file not found" in one_line(missing.value)
    with pytest.raises(ExportError) as broken:
        api.validate(ROOT / "tests" / "bad_inputs" / "unclosed_quote.csv", "contact")
    one_line(broken.value)
    with pytest.raises(InputError) as zone:
        api.validate(CLASSY, mapping=CLASSY_MAPPING, source_timezone="Mars/Olympus_Mons")
    assert "unknown source timezone" in one_line(zone.value)
    with pytest.raises(InputError) as mapping:
        api.validate(CLASSY, mapping=tmp_path / "nope.yaml")
    assert "mapping file not found" in one_line(mapping.value)
    with pytest.raises(KindfulEtlError):
        api.suggest_mapping(SAMPLES / "contacts.csv")  # not a preset: needs a format


def test_import_export_refuses_bad_options_before_starting_anything(
    no_kindful: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_servers(**_: object) -> None:
        raise AssertionError("settings chosen for a run that should not start")

    monkeypatch.setattr(api, "chosen_settings", no_servers)
    with pytest.raises(InputError) as bad:
        api.import_export(CLASSY, mapping=CLASSY_MAPPING, match_by={"donor": "email"})
    assert "unknown match_by key" in one_line(bad.value)
    assert not no_kindful.exists()


def test_the_api_imports_neither_prefect_nor_flows() -> None:
    code = (
        "import sys, pipelines.api\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'flows'}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True
    )
    assert result.stdout.strip() == "[]"

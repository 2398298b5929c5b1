"""Run files: donor data in 0600 files and 0700 folders whatever the umask, never in a folder
another user owns, and preview.csv safe to open in a spreadsheet."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.outputs.private_files import open_private, private_dir
from pipelines.preview.report import PreviewResult, write_preview
from pipelines.preview.verdicts import PREVIEW_COLUMNS
from pipelines.transform.job import validate_export

pytestmark = pytest.mark.slow

OTHER_UID = 4242


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask that made run files 0644 and folders 0755."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
def test_validate_writes_0600_files_in_0700_folders(tmp_path: Path) -> None:
    source = tmp_path / "gifts.csv"
    source.write_text(
        "first_name,last_name,email\nAda,Lovelace,ada@example.org\n,,nobody@example.org\n"
    )
    out = tmp_path / "runs" / "2024" / "run-1"
    summary = validate_export(str(source), data_format="contact", out_dir=out)
    assert summary["rows_rejected"] == 1
    for folder in (tmp_path / "runs", tmp_path / "runs" / "2024", out):
        assert mode(folder) == 0o700, folder
    files = sorted(p.name for p in out.iterdir())
    assert files == ["normalized.csv", "rejects.csv", "summary.json", "warnings.csv"]
    for name in files:
        assert mode(out / name) == 0o600, name


@pytest.mark.usefixtures("loose_umask")
def test_a_rerun_tightens_files_a_previous_version_left_open(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    stale = out / "summary.json"
    stale.write_text("{}")
    os.chmod(stale, 0o644)
    source = tmp_path / "gifts.csv"
    source.write_text("first_name,last_name\nAda,Lovelace\n")
    validate_export(str(source), data_format="contact", out_dir=out)
    assert mode(out / "summary.json") == 0o600


def test_a_link_planted_where_a_run_file_goes_is_not_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    planted = tmp_path / "findings.csv"
    planted.symlink_to(target)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        open_private(planted, "w")  # O_NOFOLLOW: ELOOP
    assert target.read_text() == "untouched"


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder away needs root")


@needs_root
def test_a_run_folder_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "theirs"
    out.mkdir()
    os.chown(out, OTHER_UID, OTHER_UID)
    with pytest.raises(InputError, match="owned by another user"):
        private_dir(out)


@needs_root
def test_a_run_folder_under_a_shared_folder_another_user_owns_is_refused(tmp_path: Path) -> None:
    """/tmp/kindful-etl made by someone else: they could swap or read what goes under it."""
    shared = tmp_path / "kindful-etl"
    shared.mkdir(mode=0o777)
    os.chown(shared, OTHER_UID, OTHER_UID)
    source = tmp_path / "gifts.csv"
    source.write_text("first_name,last_name\nAda,Lovelace\n")
    with pytest.raises(InputError, match=f"{shared} is owned by another user"):
        validate_export(str(source), data_format="contact", out_dir=shared / "runs" / "r1")


# --------------------------------------------------------------------------------------------
# preview.csv
# --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("loose_umask")
def test_preview_csv_neutralizes_formulas_and_is_private(tmp_path: Path) -> None:
    rows = pd.DataFrame(
        [
            [1, "create", "contact", "create", "email", '=HYPERLINK("http://evil","x")'],
            [2, "update", "contact", "update", "-2+3", "@SUM(A1)"],
            [3, "leave alone", "contact", "leave alone", "email", "+cmd|' /C calc'!A0"],
        ],
        columns=list(PREVIEW_COLUMNS),
    )
    result = PreviewResult(
        rows=rows,
        data_format="contact",
        action="create",
        match_by={},
        source="gifts.csv",
        rows_read=3,
        kindful_reads={},
    )
    path = write_preview(result, tmp_path / "preview")
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert written["reason"].tolist() == [
        '\'=HYPERLINK("http://evil","x")',
        "'@SUM(A1)",
        "'+cmd|' /C calc'!A0",
    ]
    assert written["match_key"].tolist() == ["email", "'-2+3", "email"]
    assert written["source_row"].tolist() == ["1", "2", "3"]

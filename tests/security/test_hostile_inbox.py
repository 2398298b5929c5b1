"""Hostile inbox entries: links, FIFOs and odd names are refused with a reason and never
opened; S3 keys too long for a file name still work; scratch folders go."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pipelines.errors import InputError
from pipelines.inbox.listing import (
    ATTACHMENT_MODE,
    InboxFile,
    LocalInbox,
    S3Inbox,
    local_name,
    open_inbox,
)

pytestmark = pytest.mark.slow

SECRET = "KINDFUL_TOKEN=not-a-real-token-0000"
T = TypeVar("T")


def within(seconds: float, action: Callable[[], T]) -> T:
    """Run `action`, failing (not hanging) if it blocks: opening a FIFO to read blocks."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(action())
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked: something opened a FIFO"
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture
def hostile_inbox(tmp_path: Path) -> tuple[LocalInbox, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "credentials").write_text(f"[default]\naws_secret_access_key = {SECRET}\n")
    os.mkfifo(outside / "pipe")  # a link to it that anything read would block on
    root = tmp_path / "inbox"
    (root / "2024").mkdir(parents=True)
    (root / "good.csv").write_text("first_name,last_name\nAda,Lovelace\n")
    (root / "creds.csv").symlink_to(outside / "credentials")
    (root / "env.csv").symlink_to("/proc/self/environ")
    (root / "2024" / "blocked.csv").symlink_to(outside / "pipe")
    os.mkfifo(root / "fifo.csv")
    (root / "folder-link.csv").symlink_to(outside, target_is_directory=True)
    (root / "forged\nINFO done.csv").write_text("first_name\nx\n")
    (root / "notes.txt.bak").symlink_to(outside / "credentials")  # not an export: ignored
    return LocalInbox(root), outside


def test_only_regular_files_inside_the_inbox_are_pending(
    hostile_inbox: tuple[LocalInbox, Path],
) -> None:
    inbox, _ = hostile_inbox
    pending = within(10, inbox.pending)
    assert [f.relative for f in pending] == ["good.csv"]
    assert all(f.refused is None for f in pending)


def test_links_fifos_and_forged_names_are_refused_with_a_reason(
    hostile_inbox: tuple[LocalInbox, Path],
) -> None:
    inbox, _ = hostile_inbox
    refused = {f.relative: f.refused for f in within(10, inbox.refused)}
    assert set(refused) == {
        "creds.csv",
        "env.csv",
        "2024/blocked.csv",
        "fifo.csv",
        "folder-link.csv",
        "forged\nINFO done.csv",
    }
    assert refused["creds.csv"] == "a symbolic link (links are not followed)"
    assert refused["env.csv"] == refused["creds.csv"]
    assert refused["fifo.csv"] == "a FIFO (named pipe), not a file"
    assert refused["forged\nINFO done.csv"] is not None
    assert "control character" in refused["forged\nINFO done.csv"]


def test_a_refused_entry_moves_to_failed_unread(
    hostile_inbox: tuple[LocalInbox, Path], tmp_path: Path
) -> None:
    """The sync files a refused entry in failed/ with its reason; the link moves as a link."""
    inbox, outside = hostile_inbox
    error = tmp_path / "error.txt"
    for entry in within(10, inbox.refused):
        assert entry.refused is not None
        error.write_text(entry.refused + "\n")

        def file_it(entry: InboxFile = entry) -> str:
            return inbox.finish(entry, "failed", {"error.txt": error})

        within(10, file_it)
    failed = inbox.root / "failed"
    assert os.path.islink(failed / "creds.csv")
    assert os.readlink(failed / "creds.csv") == str(outside / "credentials")
    assert stat.S_ISFIFO(os.lstat(failed / "fifo.csv").st_mode)
    assert (failed / "2024" / "blocked.error.txt").read_text().startswith("a symbolic link")
    assert (outside / "credentials").read_text().endswith(f"{SECRET}\n")  # untouched
    for path in failed.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET not in path.read_text(errors="replace")
    assert [f.relative for f in inbox.pending()] == ["good.csv"]
    assert inbox.refused() == []


def test_a_mapping_that_is_a_link_is_refused_unread(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    root.mkdir()
    (root / "gifts.csv").write_text("first_name\nAda\n")
    os.mkfifo(tmp_path / "pipe")
    (root / "gifts.mapping.yaml").symlink_to(tmp_path / "pipe")
    inbox = LocalInbox(root)
    (export,) = inbox.pending()
    with pytest.raises(InputError, match=r"mapping gifts\.mapping\.yaml is a symbolic link"):
        within(10, lambda: inbox.mapping_for(export))


def test_a_done_folder_that_links_elsewhere_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "processed").symlink_to(elsewhere, target_is_directory=True)
    (root / "gifts.csv").write_text("first_name\nAda\n")
    inbox = LocalInbox(root)
    (export,) = inbox.pending()
    with pytest.raises(InputError, match="leads outside"):
        inbox.finish(export, "processed", {})
    assert (root / "gifts.csv").exists() and not list(elsewhere.iterdir())


def test_run_files_copied_into_the_inbox_are_not_world_readable(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    root.mkdir()
    (root / "gifts.csv").write_text("first_name\nAda\n")
    rejects = tmp_path / "rejects.csv"
    rejects.write_text("source_row,column,value,reason\n")
    os.chmod(rejects, 0o644)
    inbox = LocalInbox(root)
    (export,) = inbox.pending()
    inbox.finish(export, "processed", {"rejects.csv": rejects})
    copied = root / "processed" / "gifts.rejects.csv"
    assert stat.S_IMODE(copied.stat().st_mode) == ATTACHMENT_MODE == 0o640


# --------------------------------------------------------------------------------------------
# S3: long keys, scratch folders
# --------------------------------------------------------------------------------------------


class FakeS3:
    """download_file as boto3 has it: writes the object to a local path, 404 when missing."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def download_file(self, bucket: str, key: str, filename: str) -> None:
        if key not in self.objects:
            raise RuntimeError("An error occurred (404) when calling the HeadObject operation")
        Path(filename).write_bytes(self.objects[key])  # OSError when the name is too long

    def get_paginator(self, name: str) -> Any:
        objects = self.objects

        class Pages:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                contents = [
                    {"Key": key, "LastModified": datetime(2024, 1, 1, tzinfo=UTC)}
                    for key in objects
                ]
                return [{"Contents": contents}]

        return Pages()


def test_a_240_character_key_gets_a_hashed_local_name(tmp_path: Path) -> None:
    folder = "inbox/" + "deeply-nested-folder/" * 10
    stem = "x" * (240 - len(folder) - len(".csv"))
    key = f"{folder}{stem}.csv"
    assert len(key) == 240
    mapping_key = f"{folder}{stem}.mapping.yaml"
    client = FakeS3({key: b"first_name\nAda\n", mapping_key: b"data_format: contact\n"})
    with S3Inbox("drops", "inbox/", client) as inbox:
        (export,) = inbox.pending()
        found = inbox.mapping_for(export)
        assert found is not None and found.read_text() == "data_format: contact\n"
        assert len(found.name.encode()) <= 255 and found.name.endswith(".mapping.yaml")
        scratch = found.parent
        assert stat.S_IMODE(scratch.stat().st_mode) == 0o700
    assert not scratch.exists()  # removed on leaving the block


def test_short_keys_keep_their_readable_local_names() -> None:
    """The name a mapping gets on disk names its source system: unchanged for short keys."""
    assert local_name("inbox/gifts.mapping.yaml") == "inbox__gifts.mapping.yaml"
    assert len(local_name("k/" * 200 + "m.mapping.yaml")) < 100


def test_close_removes_the_scratch_folder_and_an_unused_inbox_makes_none(tmp_path: Path) -> None:
    before = set(Path("/tmp").glob("kindful-etl-inbox-*"))
    inbox = open_inbox("s3://drops/inbox/", FakeS3({"inbox/mapping.yaml": b"action: create\n"}))
    assert set(Path("/tmp").glob("kindful-etl-inbox-*")) == before  # nothing made yet
    export = InboxFile("s3://drops/inbox/a.csv", "a.csv", datetime.now(UTC))
    found = inbox.mapping_for(export)
    assert found is not None and found.exists()
    inbox.close()
    assert not found.exists()
    assert set(Path("/tmp").glob("kindful-etl-inbox-*")) == before
    with open_inbox(str(tmp_path)) as local:  # a local inbox closes too (nothing to remove)
        assert local.pending() == []

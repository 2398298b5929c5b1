"""Run folders and files only the user running kindful-etl can read: they hold donor data.

Folders are created 0700 and files 0600 whatever the umask. A run folder must be somewhere this
user controls: the folder and each folder above it owned by this user or by root (as /tmp is),
never by another user, who could read, swap or replace what is written there.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import IO, Any, TextIO, cast

from pipelines.errors import InputError

__all__ = [
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "copy_private",
    "open_private",
    "open_private_text",
    "private_dir",
    "write_private_text",
]

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def _owner_ok(uid: int) -> bool:
    return uid in (os.geteuid(), 0)


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents as 0700; refuse a location another user owns.

    An existing `path` must be a directory owned by this user; every folder above it must be
    owned by this user or by root. Returns `path`.
    """
    missing: list[Path] = []
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # made meanwhile (another worker); checked below like any existing one
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path} is not a folder")
    if info.st_uid != os.geteuid():
        raise InputError(f"{path} is owned by another user; choose a folder of your own")
    for parent in path.resolve().parents:
        if not _owner_ok(os.stat(parent).st_uid):
            raise InputError(f"{parent} is owned by another user; choose a folder of your own")
    return path


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)` for writing ("w", "a", "wb", "ab"), the file 0600, never through a
    symbolic link (one planted where the file goes would redirect the write)."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_APPEND if mode.startswith("a") else os.O_TRUNC
    descriptor = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)  # an existing file keeps its mode otherwise
        return os.fdopen(descriptor, mode, **kwargs)
    except BaseException:
        os.close(descriptor)
        raise


def open_private_text(path: Path, mode: str = "w", newline: str | None = "") -> TextIO:
    """`open_private` in text mode, UTF-8 (newline="" by default, as CSV writers want)."""
    return cast(TextIO, open_private(path, mode, encoding="utf-8", newline=newline))


def write_private_text(path: Path, text: str) -> None:
    """`path.write_text(text)` (UTF-8), the file 0600."""
    with open_private_text(path, "w", newline=None) as handle:
        handle.write(text)


def copy_private(source: Path, target: Path, mode: int = PRIVATE_FILE) -> None:
    """Copy a file's bytes to `target` created with `mode` (default 0600)."""
    with source.open("rb") as reader, open_private(target, "wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        os.fchmod(writer.fileno(), mode)

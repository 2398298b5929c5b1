"""An inbox of exports waiting to be imported: a local folder or an `s3://bucket/prefix/`.

Pending exports are every export file not under `processed/` or `failed/`, oldest first, so a
paused schedule that resumes catches up on everything it missed. Each export's mapping is the
file beside it (`<name>.mapping.yaml`), else the folder's `mapping.yaml`, else the caller's.
After its run an export moves to `processed/` or `failed/` with its run files beside it.

An inbox takes files from many hands, so only what it can safely read is pending: in a local
folder, regular files inside the folder. A symbolic link (to `/proc/self/environ`, to a
credentials file), a FIFO, a device or a socket named like an export, and any name holding a
control character (which would forge log lines), are listed by `refused()` with the reason,
never opened, so the sync can file them in `failed/`. An S3 inbox downloads mappings into a
private scratch folder that `close()` removes (or use the inbox as a context manager).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, Protocol, Self

from pipelines.errors import InputError
from pipelines.outputs.private_files import copy_private

EXPORT_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt", ".xlsx", ".jsonl", ".ndjson", ".jsonl.gz")
DONE_FOLDERS = ("processed", "failed")
FOLDER_MAPPING = "mapping.yaml"
# Run files copied into an inbox: the inbox's group may read them (a setgid inbox folder gives
# them its group), nobody else; they hold donor names and emails.
ATTACHMENT_MODE = 0o640
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LOCAL_NAME_MAX = 200  # bytes; file names may be at most 255


def is_export(name: str) -> bool:
    lowered = name.lower()
    return not lowered.startswith((".", "_")) and lowered.endswith(EXPORT_SUFFIXES)


def export_stem(name: str) -> str:
    """`gifts.csv.gz` -> `gifts`: the name run files and mappings are keyed by."""
    lowered = name.lower()
    for suffix in sorted(EXPORT_SUFFIXES, key=len, reverse=True):
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class InboxFile:
    """One pending export, or (with `refused`) an entry that must not be read."""

    uri: str  # what the reader opens: a local path or s3://bucket/key
    relative: str  # path inside the inbox, "/"-separated
    modified: datetime
    refused: str | None = None  # why it is not read ("a symbolic link (not followed)", ...)

    @property
    def name(self) -> str:
        return PurePosixPath(self.relative).name

    @property
    def folder(self) -> str:
        parent = str(PurePosixPath(self.relative).parent)
        return "" if parent == "." else parent


class Inbox(Protocol):
    location: str

    def pending(self) -> list[InboxFile]: ...

    def refused(self) -> list[InboxFile]: ...

    def mapping_for(self, export: InboxFile) -> Path | None: ...

    def finish(self, export: InboxFile, outcome: str, attachments: dict[str, Path]) -> str: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def _attachment_name(export: InboxFile, name: str) -> str:
    return f"{export_stem(export.name)}.{name}"


def _by_age(files: list[InboxFile]) -> list[InboxFile]:
    return sorted(files, key=lambda f: (f.modified, f.relative))


def _name_refusal(relative: str) -> str | None:
    if _CONTROL.search(relative):
        return "a name with a control character (line break, escape, ...)"
    return None


def _kind_refusal(mode: int) -> str | None:
    """Why an entry of this lstat mode is not read (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link (links are not followed)"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    return "not a regular file"


class _Closing:
    """Context-manager plumbing shared by both inboxes."""

    def close(self) -> None:
        """Release local resources (scratch folders)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LocalInbox(_Closing):
    """A folder on a disk every worker of the sync can see."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def _entries(self) -> list[InboxFile]:
        """Every export-named entry outside processed/ and failed/, read or refused.

        Walked without following links; each entry is judged by lstat, so nothing is opened.
        """
        root = os.path.realpath(self.root)
        found: list[InboxFile] = []
        for folder, dirs, files in os.walk(root, followlinks=False):
            if folder == root:
                dirs[:] = [d for d in dirs if d not in DONE_FOLDERS]
            for entry in [*files, *(d for d in dirs if os.path.islink(os.path.join(folder, d)))]:
                if not is_export(entry):
                    continue
                path = os.path.join(folder, entry)
                relative = os.path.relpath(path, root).replace(os.sep, "/")
                info = os.lstat(path)
                reason = _name_refusal(relative) or _kind_refusal(info.st_mode)
                if reason is None and not _inside(root, os.path.realpath(path)):
                    reason = "outside the inbox"  # pragma: no cover - walk stays inside
                modified = datetime.fromtimestamp(info.st_mtime, UTC)
                uri = str(self.root / relative)
                found.append(InboxFile(uri, relative, modified, reason))
        return found

    def pending(self) -> list[InboxFile]:
        """Regular files to import, oldest first."""
        return _by_age([f for f in self._entries() if f.refused is None])

    def refused(self) -> list[InboxFile]:
        """Entries named like exports that must not be read, each with its `refused` reason."""
        return _by_age([f for f in self._entries() if f.refused is not None])

    def mapping_for(self, export: InboxFile) -> Path | None:
        """The export's own mapping, else its folder's; a mapping that is a link, or not a
        regular file, is refused (InputError) rather than skipped for another one."""
        folder = self.root / export.folder
        for candidate in (
            folder / f"{export_stem(export.name)}.mapping.yaml",
            folder / FOLDER_MAPPING,
        ):
            try:
                info = os.lstat(candidate)
            except FileNotFoundError:
                continue
            reason = _kind_refusal(info.st_mode)
            if reason is not None:
                raise InputError(f"mapping {candidate.name} is {reason}; it was not read")
            return candidate
        return None

    def _target(self, outcome: str, folder: str) -> Path:
        """processed/ or failed/ (and the export's folder under it), refused if a link leads
        it elsewhere: run files hold donor data."""
        target = self.root / outcome / folder
        target.mkdir(parents=True, exist_ok=True)
        if not _inside(os.path.realpath(self.root), os.path.realpath(target)):
            raise InputError(f"{outcome}/ in the inbox leads outside it (a symbolic link)")
        return target

    def finish(self, export: InboxFile, outcome: str, attachments: dict[str, Path]) -> str:
        """Move the export to processed/ or failed/ (keeping its folder) with its run files.

        A refused entry is moved as it is (a link as the link itself), never read.
        """
        target = self._target(outcome, export.folder)
        destination = target / export.name
        if os.path.lexists(destination):  # the same name delivered again later
            stem = export_stem(export.name)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            destination = target / f"{stem}.{stamp}{export.name[len(stem) :]}"
        for name, path in attachments.items():
            if path.exists():
                attached = target / _attachment_name(export, name)
                attached.unlink(missing_ok=True)
                copy_private(path, attached, ATTACHMENT_MODE)
        try:
            os.rename(export.uri, destination)  # a link moves as the link, a FIFO unopened
        except OSError as error:
            if error.errno != errno.EXDEV or export.refused is not None:
                raise
            shutil.move(export.uri, destination)  # processed/ on another file system
        return str(destination)


def _inside(root: str, path: str) -> bool:
    return os.path.commonpath([root, path]) == root


def local_name(key: str) -> str:
    """A local file name for an S3 key: its "/"s as "__", or when that is too long for a file
    name, a hash of the key (keeping the `.mapping.yaml` ending)."""
    name = key.replace("/", "__")
    if len(name.encode()) <= _LOCAL_NAME_MAX:
        return name
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{digest}.mapping.yaml" if key.endswith(".mapping.yaml") else digest


class S3Inbox(_Closing):
    """`s3://bucket/prefix/`: exports are objects; moving is copy then delete."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.client = client
        self.location = f"s3://{bucket}/{self.prefix}"
        self._scratch: Path | None = None  # made on the first mapping download

    def close(self) -> None:
        """Remove the scratch folder of downloaded mappings (paths from `mapping_for` go too)."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _objects(self) -> list[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        objects: list[dict[str, Any]] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            objects += page.get("Contents", [])
        return objects

    def _entries(self) -> list[InboxFile]:
        found = []
        for item in self._objects():
            relative = item["Key"][len(self.prefix) :]
            parts = PurePosixPath(relative).parts
            if not parts or parts[0] in DONE_FOLDERS or not is_export(parts[-1]):
                continue
            uri = f"s3://{self.bucket}/{item['Key']}"
            found.append(InboxFile(uri, relative, item["LastModified"], _name_refusal(relative)))
        return found

    def pending(self) -> list[InboxFile]:
        """Objects to import, oldest first."""
        return _by_age([f for f in self._entries() if f.refused is None])

    def refused(self) -> list[InboxFile]:
        """Objects named like exports whose names must not be used (control characters)."""
        return _by_age([f for f in self._entries() if f.refused is not None])

    def mapping_for(self, export: InboxFile) -> Path | None:
        folder = f"{self.prefix}{export.folder}/" if export.folder else self.prefix
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="kindful-etl-inbox-"))  # 0700
        for key in (
            f"{folder}{export_stem(export.name)}.mapping.yaml",
            f"{folder}{FOLDER_MAPPING}",
        ):
            local = self._scratch / local_name(key)
            try:
                self.client.download_file(self.bucket, key, str(local))
            except Exception as error:  # botocore ClientError 404: no mapping there
                if "404" in str(error) or "Not Found" in str(error) or "NoSuchKey" in str(error):
                    continue
                raise
            return local
        return None

    def finish(self, export: InboxFile, outcome: str, attachments: dict[str, Path]) -> str:
        folder = f"{self.prefix}{outcome}/" + (f"{export.folder}/" if export.folder else "")
        source_key = f"{self.prefix}{export.relative}"
        destination = f"{folder}{export.name}"
        for name, path in attachments.items():
            if path.exists():
                self.client.upload_file(
                    str(path),
                    self.bucket,
                    f"{folder}{_attachment_name(export, name)}",
                    ExtraArgs={"ServerSideEncryption": "AES256"},
                )
        self.client.copy_object(
            Bucket=self.bucket,
            Key=destination,
            CopySource={"Bucket": self.bucket, "Key": source_key},
            ServerSideEncryption="AES256",
        )
        self.client.delete_object(Bucket=self.bucket, Key=source_key)
        return f"s3://{self.bucket}/{destination}"


def open_inbox(location: str, s3_client: Any | None = None) -> Inbox:
    """A LocalInbox for a folder, an S3Inbox for s3://bucket/prefix/."""
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if s3_client is None:
            raise ValueError("an S3 inbox needs an S3 client")
        return S3Inbox(bucket, prefix, s3_client)
    return LocalInbox(Path(location))

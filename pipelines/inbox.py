"""An inbox of exports waiting to be imported: a local folder or an `s3://bucket/prefix/`.

Pending exports are every export file not under `processed/` or `failed/`, oldest first, so a
paused schedule that resumes catches up on everything it missed. Each export's mapping is the
file beside it (`<name>.mapping.yaml`), else the folder's `mapping.yaml`, else the caller's.
After its run an export moves to `processed/` or `failed/` with its run files beside it.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

EXPORT_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt", ".xlsx", ".jsonl", ".ndjson", ".jsonl.gz")
DONE_FOLDERS = ("processed", "failed")
FOLDER_MAPPING = "mapping.yaml"


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
    """One pending export."""

    uri: str  # what the reader opens: a local path or s3://bucket/key
    relative: str  # path inside the inbox, "/"-separated
    modified: datetime

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

    def mapping_for(self, export: InboxFile) -> Path | None: ...

    def finish(self, export: InboxFile, outcome: str, attachments: dict[str, Path]) -> str: ...


def _attachment_name(export: InboxFile, name: str) -> str:
    return f"{export_stem(export.name)}.{name}"


class LocalInbox:
    """A folder on a disk every worker of the sync can see."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def pending(self) -> list[InboxFile]:
        found = []
        for path in self.root.rglob("*"):
            relative = path.relative_to(self.root)
            if not path.is_file() or relative.parts[0] in DONE_FOLDERS or not is_export(path.name):
                continue
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            found.append(InboxFile(str(path), relative.as_posix(), modified))
        return sorted(found, key=lambda f: (f.modified, f.relative))

    def mapping_for(self, export: InboxFile) -> Path | None:
        folder = self.root / export.folder
        for candidate in (
            folder / f"{export_stem(export.name)}.mapping.yaml",
            folder / FOLDER_MAPPING,
        ):
            if candidate.is_file():
                return candidate
        return None

    def finish(self, export: InboxFile, outcome: str, attachments: dict[str, Path]) -> str:
        """Move the export to processed/ or failed/ (keeping its folder) with its run files."""
        target = self.root / outcome / export.folder
        target.mkdir(parents=True, exist_ok=True)
        destination = target / export.name
        if destination.exists():  # the same name delivered again later
            stem = export_stem(export.name)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            destination = target / f"{stem}.{stamp}{export.name[len(stem) :]}"
        for name, path in attachments.items():
            if path.exists():
                shutil.copyfile(path, target / _attachment_name(export, name))
        shutil.move(export.uri, destination)
        return str(destination)


class S3Inbox:
    """`s3://bucket/prefix/`: exports are objects; moving is copy then delete."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.client = client
        self.location = f"s3://{bucket}/{self.prefix}"
        self._scratch = Path(tempfile.mkdtemp(prefix="kindful-etl-inbox-"))

    def _objects(self) -> list[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        objects: list[dict[str, Any]] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            objects += page.get("Contents", [])
        return objects

    def pending(self) -> list[InboxFile]:
        found = []
        for item in self._objects():
            relative = item["Key"][len(self.prefix) :]
            parts = PurePosixPath(relative).parts
            if not parts or parts[0] in DONE_FOLDERS or not is_export(parts[-1]):
                continue
            uri = f"s3://{self.bucket}/{item['Key']}"
            found.append(InboxFile(uri, relative, item["LastModified"]))
        return sorted(found, key=lambda f: (f.modified, f.relative))

    def mapping_for(self, export: InboxFile) -> Path | None:
        folder = f"{self.prefix}{export.folder}/" if export.folder else self.prefix
        for key in (
            f"{folder}{export_stem(export.name)}.mapping.yaml",
            f"{folder}{FOLDER_MAPPING}",
        ):
            local = self._scratch / key.replace("/", "__")
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

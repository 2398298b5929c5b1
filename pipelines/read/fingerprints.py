"""Content hashes that let the ledger recognize a source and a run's settings."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipelines.errors import InputError


def source_content_hash(uri: str) -> str:
    """sha256 of the source's bytes as stored (before gunzip), streamed.

    Read through the reader's own checks (regular files only, size limit, no private http
    addresses or foreign redirects), so hashing a hostile source is refused like reading it.
    """
    from pipelines.read.errors import ExportError
    from pipelines.read.export import open_source_bytes

    digest = hashlib.sha256()
    try:
        with open_source_bytes(uri) as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except ExportError as error:
        raise InputError(str(error)) from None
    return digest.hexdigest()


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """sha256 of the settings that change what Kindful does with the same rows."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()

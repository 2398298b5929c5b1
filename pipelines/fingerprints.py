"""Content hashes that let the ledger recognize a source and a run's settings."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from smart_open import open as smart_open_file

from pipelines.errors import InputError


def source_content_hash(uri: str) -> str:
    """sha256 of the source's bytes as stored (before gunzip), streamed."""
    digest = hashlib.sha256()
    try:
        with smart_open_file(uri, "rb", compression="disable") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise InputError(f"source not found: {uri.split('?', 1)[0]}") from None
    except OSError as error:
        raise InputError(f"cannot read {uri.split('?', 1)[0]}: {type(error).__name__}") from None
    return digest.hexdigest()


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """sha256 of the settings that change what Kindful does with the same rows."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()

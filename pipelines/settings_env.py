"""Whole-number settings from the environment, refused in one line that names the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pipelines.errors import InputError

__all__ = ["positive_whole_number"]


def positive_whole_number(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """`name`'s value (surrounding spaces ignored), `default` when unset or blank; anything but
    a whole number of 1 or more is an InputError, never a ValueError's traceback."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise InputError(f"{name} must be a positive whole number")
    return int(raw)

"""The product's one error family: every failure a user is shown inherits from KindfulEtlError.

A caller (the CLI, a flow, a notebook) can then tell "the input or an outside service said no"
from "a bug" with one `isinstance`, and print `str(error)` as it is: one line, safe to log.
Messages name files, columns, row numbers and settings, never a cell's value (donor data).
"""

from __future__ import annotations

import traceback
from pathlib import Path


class KindfulEtlError(Exception):
    """Base of every error kindful-etl reports; `str()` is always a single line."""

    def __str__(self) -> str:
        # Collapse line breaks so a log line or a CLI error can never be split or spoofed.
        return " ".join(super().__str__().split())


class InputError(KindfulEtlError):
    """Bad input or settings that stop a run before anything is sent."""


class InternalError(Exception):
    """A bug reported where it happened (a worker process): its text is `internal_error`'s line."""


def internal_error(error: BaseException) -> str:
    """A bug's one-line report: its type and the innermost project frame, not its message.

    An exception's text often quotes the value it choked on (`int('...')`), which is donor data.
    """
    if isinstance(error, InternalError):
        return str(error)
    root = Path(__file__).resolve().parents[1]
    where = ""
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)  # compiled modules (.pyx) give relative names: not ours
        if path.is_absolute() and path.is_relative_to(root) and ".venv" not in path.parts:
            where = f" at {path.relative_to(root)}:{frame.lineno}"
    return f"internal error {type(error).__name__}{where} (a bug in kindful-etl; please report it)"


def error_line(error: BaseException) -> tuple[str, bool]:
    """The one line to show for `error`, and whether it is the user's to fix (not a bug).

    Our own errors say what to fix; an OS error names the file and the reason (paths are the
    user's own, not donor data); anything else is a bug, reported by type and place only.
    """
    if isinstance(error, KindfulEtlError):
        return str(error), True
    if isinstance(error, OSError):
        reason = error.strerror or type(error).__name__
        return (f"{error.filename}: {reason}" if error.filename else reason), True
    return internal_error(error), False

"""Ctrl-C and SIGTERM stop a command cleanly: every `finally` runs, then one line, exit 130.

Python's default SIGTERM ends the process without running `finally` blocks or `atexit`, so the
temporary Prefect server, the embedded sandbox and S3 were left running. Both signals raise
`Stopped` instead: a BaseException that no `except Exception` swallows and that click does not
turn into its "Aborted!" exit 1. The ledger has recorded every submitted job as it went, so the
same command run again follows those jobs up instead of submitting them twice.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

EXIT_STOPPED = 130
MESSAGE = (
    "kindful-etl: stopped; run the same command again to resume (submitted jobs are followed "
    "up, not resubmitted)"
)


class Stopped(BaseException):
    """The operator (Ctrl-C) or the system (SIGTERM) asked the command to stop."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signal.Signals(signum).name)


def is_stop(error: BaseException) -> bool:
    """Whether an error is a stop: ours, Python's Ctrl-C, or Prefect's SIGTERM bridge.

    While a flow runs, Prefect's engine installs its own SIGTERM handler, which raises
    TerminationSignal and may leave the flow's state Crashed with that signal as its result.
    """
    if isinstance(error, Stopped | KeyboardInterrupt):
        return True
    # Only a run that imported Prefect can have met its signal (and `--help` must not import it).
    prefect_exceptions = sys.modules.get("prefect.exceptions")
    return prefect_exceptions is not None and isinstance(
        error, prefect_exceptions.TerminationSignal
    )


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM raise Stopped in the main thread.

    SIGINT is set even when the process started with it ignored (a shell's background job),
    or the command would run to its end whatever the operator pressed.
    """
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

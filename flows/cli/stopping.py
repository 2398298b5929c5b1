"""Ctrl-C and SIGTERM stop a command cleanly: every `finally` runs, then one line, exit 130.

Python's default SIGTERM ends the process without running `finally` blocks or `atexit`, so the
temporary Prefect server, the embedded sandbox and S3 were left running. Both signals raise
`Stopped` instead: a BaseException that no `except Exception` swallows and that click does not
turn into its "Aborted!" exit 1. The ledger has recorded every submitted job as it went, so the
same command run again follows those jobs up instead of submitting them twice.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

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
    sys.unraisablehook = _StopNotLost(sys.unraisablehook)


class _StopNotLost:
    """Send the signal again when its Stopped was raised where Python swallows exceptions.

    A handler runs between two bytecodes of the main thread, which may be inside a weakref
    callback or `__del__` run by the garbage collector (SQLAlchemy has such callbacks); an
    exception there is printed as "Exception ignored in ..." and dropped, so the command would
    carry on as if nobody had asked it to stop. Sent again, the signal is handled a moment
    later, in the command's own code (and sent once more should it land in a callback again).
    """

    def __init__(self, previous: Callable[[Any], object]) -> None:
        self._previous = previous

    def __call__(self, unraisable: Any) -> None:
        error = unraisable.exc_value
        if (
            isinstance(error, Stopped)
            and error.args
            and error.args[0] in signal.Signals.__members__
        ):
            # from another thread, a moment later: sent from here, it would be handled here
            again = threading.Timer(0.05, os.kill, (os.getpid(), signal.Signals[error.args[0]]))
            again.daemon = True
            again.start()
            return
        self._previous(unraisable)

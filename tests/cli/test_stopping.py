"""A stop is never lost: not even when its signal lands inside a garbage-collector callback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The signal arrives while a weakref callback runs (as SQLAlchemy's do during a collection), so
# its handler's Stopped is raised where Python prints "Exception ignored" and drops it.
_SCRIPT = """
import os, signal, weakref
from flows.cli.stopping import Stopped, stop_on_signals

stop_on_signals()

class Thing:
    pass

def callback(ref):
    os.kill(os.getpid(), signal.{name})
    for _ in range(10_000):
        pass

thing = Thing()
ref = weakref.ref(thing, callback)
try:
    del thing
    for _ in range(50_000_000):
        pass
    print("ran on")
except Stopped as stop:
    print("stopped", stop)
"""


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_stop_raised_inside_a_gc_callback_is_raised_again(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(name=name)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.split() == ["stopped", name]
    assert "Exception ignored" not in result.stderr
    assert "Traceback" not in result.stderr

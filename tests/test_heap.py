"""pipelines.heap: free pages inside glibc's arenas go back to the system."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# 2,000 blocks of 64 KB (under malloc's mmap threshold: they come from the heap), every other one
# freed: the holes cannot be trimmed from the heap's top, only handed back page by page.
_PROBE = """
import ctypes, sys
from pipelines.heap import give_back_free_memory
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
blocks = [ctypes.create_string_buffer(b"x" * 65_536, 65_536) for _ in range(2_000)]
del blocks[::2]
before = rss()
done = give_back_free_memory()
print(done, before - rss())
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_free_pages_go_back_to_the_system() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=REPO, capture_output=True, text=True, check=True
    )
    done, released = out.stdout.split()
    assert done == "True"
    assert int(released) > 40_000_000  # most of the ~65 MB freed in holes

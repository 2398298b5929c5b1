"""`kindful-etl --help` is instant: it lists the lazily loaded commands without importing them."""

from __future__ import annotations

import subprocess
import sys

import click

from flows.cli.main import LazyGroup, cli

# The console script's own entry point, as `kindful-etl --help` runs it.
PROBE = """
import contextlib, io, sys
from flows.cli.main import main
sys.argv = ["kindful-etl", "--help"]
shown = io.StringIO()
with contextlib.redirect_stdout(shown):
    try:
        main()
    except SystemExit as exit:
        assert exit.code in (0, None), exit.code
heavy = [m for m in ("pandas", "prefect", "pandera", "sandbox.app", "boto3") if m in sys.modules]
print(",".join(heavy))
print(shown.getvalue())
"""


def test_help_lists_every_command_without_importing_pandas_or_prefect() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    heavy, _, output = done.stdout.partition("\n")
    assert heavy == ""
    for name in ("check", "import", "mapping", "preview", "runs", "sandbox", "validate"):
        assert f"\n  {name} " in output


def test_the_listed_help_of_a_lazy_command_is_its_own_first_line() -> None:
    ctx = click.Context(cli)
    for name, (_, listed) in LazyGroup.lazy.items():
        command = cli.get_command(ctx, name)
        assert command is not None
        assert command.get_short_help_str(limit=200) == listed

"""`kindful-etl server`: a local Prefect server with its UI, for the runs of this state folder.

Ad-hoc commands use no Prefect server of their own (see flows.prefect_api); an analyst who
wants to browse runs, logs and artifacts starts this one, and every later `import` in the same
state folder (KINDFUL_ETL_HOME or ./.kindful-etl/) records its run there, until Ctrl-C.
"""

from __future__ import annotations

import signal

import click

from flows.cli.errors import Command


@click.command("server", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--port", default=4200, show_default=True, type=click.IntRange(1, 65535), help="UI/API port."
)
def server_command(port: int) -> None:
    """Run a local Prefect server with its UI; later commands here record their runs in it."""
    from flows.prefect_api import serve
    from pipelines.load.settings import state_home

    home = state_home()
    with serve(home, port) as ui:
        click.echo(f"Prefect UI: {ui}  (state in {home / 'prefect'}; Ctrl-C stops it)")
        click.echo("`kindful-etl import` in this state folder records its runs here until it stops")
        while True:  # until Ctrl-C or SIGTERM (flows.cli.stopping raises Stopped)
            signal.pause()

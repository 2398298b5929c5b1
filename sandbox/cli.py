"""`kindful-etl sandbox`: run the sandbox Kindful on a loopback port until Ctrl-C."""

from __future__ import annotations

import click

from sandbox.serve import serve


@click.command("sandbox")
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option(
    "--token",
    envvar="KINDFUL_SANDBOX_TOKEN",
    show_envvar=True,
    default=None,
    help=(
        "Accepted API token; a random one is printed if unset. Prefer the environment "
        "variable KINDFUL_SANDBOX_TOKEN: an option's value is visible to every user in `ps`."
    ),
)
@click.option("--db", type=click.Path(dir_okay=False), default=None, help="SQLite file for state.")
@click.option(
    "--processing-delay", type=float, default=0.5, show_default=True, help="Seconds per job."
)
def sandbox_command(port: int, token: str | None, db: str | None, processing_delay: float) -> None:
    """Serve a Kindful Imports API sandbox on 127.0.0.1.

    data_url files are fetched from loopback hosts only; KINDFUL_SANDBOX_FETCH_HOSTS lists more
    (e.g. "*.amazonaws.com" to rehearse with a real bucket).
    """
    serve(
        port=port,
        token=token,
        db=db,
        processing_delay=processing_delay,
        announce=lambda line: click.echo(line, nl=True),
    )

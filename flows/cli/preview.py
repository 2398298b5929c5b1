"""`kindful-etl preview`: a dry run of `import`, row by row, against Kindful's current state.

Real Kindful when KINDFUL_TOKEN / KINDFUL_BASE_URL are set; otherwise the embedded sandbox's
persisted records (sandbox.db in the state folder), which it only reads: its jobs are held, so
not even a job left pending by an interrupted import runs. It never POSTs /imports.
Exit status: 0 done, 2 bad input, settings or Kindful errors, 1 a bug (one line on stderr).
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
from pathlib import Path

import click

from flows.cli.errors import Command
from flows.cli.options import source_options
from flows.cli.progress import cli_progress
from flows.cli.tables import print_table
from pipelines.errors import InputError
from pipelines.load.settings import state_home
from pipelines.preview.client import preview_client
from pipelines.preview.plan import preview_export
from pipelines.preview.report import PreviewResult, write_preview
from pipelines.transform.options import RunOptions

SHOWN_ROWS = 10  # the first rows' verdicts printed; the rest are in preview.csv


def default_out_dir() -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return state_home() / "previews" / f"{stamp}-{secrets.token_hex(3)}"


def print_preview(result: PreviewResult, csv_path: Path) -> None:
    """Counts per verdict, then the first rows' verdicts (ids shown: this is the terminal)."""
    match = " ".join(f"{k}={v}" for k, v in sorted(result.match_by.items())) or "defaults"
    click.echo(
        f"preview of {result.source}: {result.data_format} ({result.action}, match_by {match})"
        " - nothing was written to Kindful"
    )
    read = ", ".join(
        f"{n} {'emails checked' if endpoint.endswith('email_exist') else 'records'} ({endpoint})"
        for endpoint, n in result.kindful_reads.items()
    )
    labels: list[tuple[str, object]] = [("rows read", result.rows_read), *result.counts.items()]
    if read:
        labels.append(("read from Kindful", read))
    print_table(labels)
    head = result.rows.head(SHOWN_ROWS)
    if len(head):
        click.echo("first rows:")
    for row in head.itertuples(index=False):
        click.echo(f"  row {row.source_row:>6}  {row.verdict:<14}  {row.reason}")
    click.echo(f"every row's verdict: {csv_path}")
    sys.stdout.flush()


@click.command("preview", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@source_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for preview.csv (default: <state folder>/previews/<time>-<id>/).",
)
def preview_command(
    source: str, options: RunOptions, mapping_path: str | None, out_dir: str | None
) -> None:
    """Dry run: say per row whether `import` would create, update or leave it alone, and why.

    Reads Kindful (contacts/query, transactions/query, contacts/email_exist) and writes
    nothing to it. With no Kindful configured it reads the embedded sandbox's state.
    """
    if "://" not in source and not Path(source).exists():
        raise InputError(f"source not found: {source}")
    with (
        preview_client(notice=lambda line: click.echo(line, err=True)) as client,
        cli_progress("preview") as progress,
    ):
        result = preview_export(source, client, options, options.mapping, progress=progress)
    csv_path = write_preview(result, Path(out_dir) if out_dir else default_out_dir())
    print_preview(result, csv_path)

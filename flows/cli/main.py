"""The `kindful-etl` command line.

Commands import their heavy dependencies (Prefect, the sandbox) lazily so `validate` starts fast.
Bad input ends with a one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import importlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import click

from flows.cli.errors import Group
from flows.cli.options import json_option, ledger_option, source_options
from flows.cli.tables import print_table
from pipelines.read.chunk_rows import DEFAULT_CHUNK_ROWS

if TYPE_CHECKING:
    from pipelines.transform.options import RunOptions


@functools.cache  # once: a command's process runs one command
def freeze_imports() -> None:
    """Puts what the imports built (pandas, pyarrow, ours: ~75,000 objects) beyond the cyclic
    garbage collector's reach, so a run's full collections stop walking them again and again:
    validate at 1M rows, 3% less wall time (8 pairs, 2026-11-30). They live as long as the
    process anyway; only garbage cycles that exist already would stay, and there are few."""
    gc.freeze()


class LazyGroup(Group):
    """Loads heavy subcommands on first use (click docs, "Lazily Loading Subcommands").

    `--help` lists them from their one-line help here, so it imports none of them (pandas,
    Prefect and the sandbox cost seconds to import; `--help` should not).
    """

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "check": (
            "flows.cli.check:check_command",
            "Check the settings a real import uses: Kindful token and auth style, staging, ledger.",
        ),
        "import": (
            "flows.cli.imports:import_command",
            "Import SOURCE into Kindful: validate, batch, stage on S3, submit, reconcile.",
        ),
        "mapping": (
            "flows.cli.mapping:mapping_group",
            "Write a starting mapping file from an export's headers, or check what one does.",
        ),
        "preview": (
            "flows.cli.preview:preview_command",
            "Dry run: say per row whether `import` would create, update or leave it alone, "
            "and why.",
        ),
        "server": (
            "flows.cli.server:server_command",
            "Run a local Prefect server with its UI; later commands here record their runs in it.",
        ),
        "sandbox": (
            "sandbox.cli:sandbox_command",
            "Serve a Kindful Imports API sandbox on 127.0.0.1.",
        ),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attribute = self.lazy[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, self.lazy[name][1]))
            elif (command := super().get_command(ctx, name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kindful-etl", prog_name="kindful-etl")
def cli() -> None:
    """Move donor data into Kindful through its Imports API, every row accounted for."""


@cli.command()
@source_options
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for normalized.csv, rejects.csv, warnings.csv and summary.json.",
)
@click.option("--fail-on-rejects", is_flag=True, help="Exit 1 when any record is rejected.")
@click.option(
    "--chunk-rows",
    default=DEFAULT_CHUNK_ROWS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows read and validated at a time (bounds memory).",
)
@json_option
def validate(
    source: str,
    options: RunOptions,
    mapping_path: str | None,
    out_dir: str,
    fail_on_rejects: bool,
    chunk_rows: int,
    as_json: bool,
) -> None:
    """Normalize and validate SOURCE; write normalized, rejects, warnings and summary files."""
    from flows.cli.progress import cli_progress
    from pipelines.transform.job import validate_export

    freeze_imports()
    with cli_progress("validate") as progress:
        summary = validate_export(
            source, options=options, out_dir=Path(out_dir), chunk_rows=chunk_rows, progress=progress
        )
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        click.echo(f"{summary['data_format']} ({summary['action']}) from {summary['source']}")
        print_table(
            [
                ("rows read", summary["rows_read"]),
                ("accepted", summary["rows_accepted"]),
                ("rejected", summary["rows_rejected"]),
                ("warnings", summary["warnings"]),
            ]
        )
        for reason, count in list(summary["reasons"].items())[:10]:
            click.echo(f"    reject  {count:>6}  {reason}")
        click.echo(f"files in {out_dir}: normalized.csv rejects.csv warnings.csv summary.json")
    if fail_on_rejects and summary["rows_rejected"]:
        sys.exit(1)


@cli.group(invoke_without_command=True)
@ledger_option
@click.option("--limit", default=30, show_default=True, help="How many of the latest runs.")
@json_option
@click.pass_context
def runs(ctx: click.Context, ledger: str | None, limit: int, as_json: bool) -> None:
    """List recent import runs from the ledger."""
    from pipelines.load.ledger import Ledger
    from pipelines.load.settings import default_ledger

    ctx.obj = ledger or default_ledger()
    if ctx.invoked_subcommand is not None:
        return
    book = Ledger(ctx.obj)
    found = book.runs(limit)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(run) for run in found], indent=2, default=str))
        return
    if not found:
        click.echo("no runs recorded in this ledger")
    for run in found:
        summary = run.summary or {}
        click.echo(
            f"{run.run_id}  {run.status:<9} {run.settings.get('data_format', ''):<26} "
            f"read {summary.get('rows_read', '-'):>6}  "
            f"created {summary.get('rows_created', '-'):>6}  "
            f"updated {summary.get('rows_updated', '-'):>6}  {run.source_uri}"
        )


@runs.command("show")
@click.argument("run_id")
@click.pass_obj
def runs_show(ledger: str, run_id: str) -> None:
    """Show one run and its batches."""
    from pipelines.errors import InputError
    from pipelines.load.ledger import Ledger

    found = Ledger(ledger).run(run_id)
    if found is None:
        raise InputError(f"no run {run_id} in the ledger")
    run, batches = found
    click.echo(f"run {run.run_id}: {run.status}")
    print_table(
        [
            ("source", run.source_uri),
            ("source sha256", run.source_hash),
            ("Kindful", run.target),
            ("settings", json.dumps(run.settings, sort_keys=True)),
            ("started", run.started_at),
            ("finished", run.finished_at or "-"),
        ]
    )
    if run.summary:
        from pipelines.load.reconcile import summary_rows

        print_table(summary_rows(run.summary))
    for batch in batches:
        click.echo(
            f"  batch {batch.number:>4}  {batch.rows:>6} rows  {batch.status:<9} "
            f"job {batch.job_id or '-'}  created {batch.stats}  updated {batch.update_stats}"
            + (f"  ({batch.message})" if batch.message else "")
        )


def main() -> None:
    """Console entry point."""
    # Prefect's temporary server races on its telemetry row and prints a traceback for it.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary server can take longer than Prefect's 20 s on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # Console log lines without tracebacks: a failed run ends with one line, not a stack.
    os.environ.setdefault(
        "PREFECT_LOGGING_SETTINGS_PATH", str(Path(__file__).with_name("logging.yml"))
    )
    from flows.cli.stopping import EXIT_STOPPED, MESSAGE, is_stop, stop_on_signals

    stop_on_signals()
    try:
        cli()
    except BaseException as error:
        if not is_stop(error):
            raise
        click.echo(MESSAGE, err=True)
        sys.exit(EXIT_STOPPED)


if __name__ == "__main__":
    main()

"""The `kindful-etl` command line.

Commands import their heavy dependencies (Prefect, the sandbox) lazily so `validate` starts fast.
Bad input ends with a one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, ClassVar

import click

EXIT_BAD_INPUT = 2


def _fail(message: str) -> None:
    click.echo(f"kindful-etl: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


class LazyGroup(click.Group):
    """Loads heavy subcommands on first use (click docs, "Lazily Loading Subcommands")."""

    lazy: ClassVar[dict[str, str]] = {"sandbox": "sandbox.cli:sandbox_command"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Move donor data into Kindful through its Imports API, every row accounted for."""


def print_summary_table(rows: list[tuple[str, Any]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"  {label.ljust(width)}  {value}")


@cli.command()
@click.argument("source")
@click.option("--format", "data_format", help="Kindful import format (or the mapping's).")
@click.option("--action", type=click.Choice(["create", "update"]), help="Default: create.")
@click.option("--mapping", "mapping_path", type=click.Path(), help="YAML mapping file.")
@click.option("--match-by", multiple=True, help="KEY=VALUE, e.g. contact=email (repeatable).")
@click.option("--source-timezone", help="IANA timezone of values without an offset (UTC).")
@click.option("--day-first", is_flag=True, default=None, help="Dates are dd/mm/yyyy.")
@click.option("--custom-field", multiple=True, help="Source column passed as a custom field.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--fail-on-rejects", is_flag=True, help="Exit 1 when any record is rejected.")
@click.option("--chunk-rows", default=100_000, show_default=True, type=click.IntRange(min=1))
def validate(
    source: str,
    data_format: str | None,
    action: str | None,
    mapping_path: str | None,
    match_by: tuple[str, ...],
    source_timezone: str | None,
    day_first: bool | None,
    custom_field: tuple[str, ...],
    out_dir: str,
    fail_on_rejects: bool,
    chunk_rows: int,
) -> None:
    """Normalize and validate SOURCE; write normalized, rejects, warnings and summary files."""
    from pipelines.errors import InputError
    from pipelines.read_export import ExportError
    from pipelines.validate_export import validate_export

    try:
        summary = validate_export(
            source,
            data_format=data_format,
            mapping_path=mapping_path,
            action=action,
            match_by=match_by,
            source_timezone=source_timezone,
            day_first=day_first,
            custom_fields=custom_field,
            out_dir=Path(out_dir),
            chunk_rows=chunk_rows,
        )
    except (InputError, ExportError) as error:
        _fail(str(error))
        return
    click.echo(f"{summary['data_format']} ({summary['action']}) from {summary['source']}")
    print_summary_table(
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


def main() -> None:
    """Console entry point."""
    cli()


if __name__ == "__main__":
    main()

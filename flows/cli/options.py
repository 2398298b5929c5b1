"""Command-line options shared by the commands that read an export (validate, import, preview)."""

from __future__ import annotations

from typing import Any, get_args

import click

from schemas.columns import Action, DataFormat


def source_options(command: Any) -> Any:
    """The options `validate` and `import` share."""
    for option in reversed(
        [
            click.argument("source"),
            click.option(
                "--format",
                "data_format",
                type=click.Choice(get_args(DataFormat)),
                help="Kindful import format (default: the mapping's data_format).",
            ),
            click.option(
                "--action",
                type=click.Choice(get_args(Action)),
                help="create (only new records) or update; default: the mapping's, else create.",
            ),
            click.option("--mapping", "mapping_path", type=click.Path(), help="YAML mapping file."),
            click.option("--match-by", multiple=True, help="KEY=VALUE, e.g. contact=email."),
            click.option("--source-timezone", help="IANA timezone of values without an offset."),
            click.option("--day-first", is_flag=True, default=None, help="Dates are dd/mm/yyyy."),
            click.option(
                "--custom-field", multiple=True, help="Source column sent as a custom field."
            ),
        ]
    ):
        command = option(command)
    return command

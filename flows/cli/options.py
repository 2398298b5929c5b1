"""Command-line options shared by the commands that read an export (validate, import, preview)."""

from __future__ import annotations

from typing import Any

import click


def source_options(command: Any) -> Any:
    """The options `validate` and `import` share."""
    for option in reversed(
        [
            click.argument("source"),
            click.option(
                "--format", "data_format", help="Kindful import format (or the mapping's)."
            ),
            click.option(
                "--action", type=click.Choice(["create", "update"]), help="Default: create."
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

"""Command-line options shared by several commands, each declared once.

`source_options` turns the options that say what a run asks of the data into the run's one
`RunOptions` (resolved here, once: the mapping loaded, every value checked), so a command gets
`options` and never passes the options on one by one. `target_options` are where an import
goes (staging, Kindful, ledger), for `import` and `check`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, get_args

import click

from schemas.columns import Action, DataFormat

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _apply(command: Callable[..., Any], options: list[Decorator]) -> Callable[..., Any]:
    for option in reversed(options):
        command = option(command)
    return command


def source_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """SOURCE and the run's options; the command receives `source`, `options`, `mapping_path`."""

    @functools.wraps(command)
    def resolved(
        *,
        data_format: str | None,
        action: str | None,
        mapping_path: str | None,
        match_by: tuple[str, ...],
        source_timezone: str | None,
        day_first: bool | None,
        custom_field: tuple[str, ...],
        **rest: Any,
    ) -> Any:
        from pipelines.transform.options import resolve_run

        options = resolve_run(
            data_format,
            mapping_path,
            action=action,
            match_by=match_by,
            source_timezone=source_timezone,
            day_first=day_first,
            custom_fields=custom_field,
        )
        return command(options=options, mapping_path=mapping_path, **rest)

    return _apply(
        resolved,
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
        ],
    )


ledger_option = click.option(
    "--ledger",
    envvar="KINDFUL_ETL_LEDGER_URL",
    show_envvar=True,
    help="The run ledger: a SQLite path or a SQLAlchemy URL (default: <state folder>/ledger.db).",
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout instead."
)


def target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where an import goes: staging, Kindful (never its token: KINDFUL_TOKEN) and the ledger."""
    return _apply(
        command,
        [
            click.option(
                "--staging-uri",
                envvar="KINDFUL_ETL_STAGING_URI",
                show_envvar=True,
                help="Where batches are staged: s3://bucket/prefix/.",
            ),
            click.option(
                "--kindful-base-url",
                envvar="KINDFUL_BASE_URL",
                show_envvar=True,
                help="Kindful API base URL (the token is KINDFUL_TOKEN, never an option).",
            ),
            click.option(
                "--kindful-auth",
                envvar="KINDFUL_AUTH",
                show_envvar=True,
                type=click.Choice(["token", "bearer"]),
                help="How the token is sent: Kindful's Token scheme or an OAuth bearer token.",
            ),
            click.option(
                "--token-block",
                envvar="KINDFUL_TOKEN_BLOCK",
                show_envvar=True,
                help="Prefect Secret block holding the Kindful token.",
            ),
            ledger_option,
        ],
    )

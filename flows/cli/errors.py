"""How every command ends on an error: one line on stderr, never a traceback.

Bad input or a refusal from outside (any KindfulEtlError, an OSError, a bad option): the
line, exit 2.
A bug: its type and project location only (its message may quote donor data), exit 1.
Commands and groups get this from their class, so a command invoked on its own (a test's
CliRunner, a lazily loaded subcommand) ends the same way as through `kindful-etl`.
"""

from __future__ import annotations

from typing import Any

import click

from pipelines.errors import error_line

EXIT_BUG, EXIT_BAD_INPUT = 1, 2


def _invoke_reporting(invoke: Any, ctx: click.Context) -> Any:
    try:
        return invoke(ctx)
    except click.UsageError as error:  # a subcommand's bad option: one line too, not usage
        click.echo(f"kindful-etl: error: {error.format_message()} (see --help)", err=True)
        ctx.exit(EXIT_BAD_INPUT)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as error:
        line, users = error_line(error)
        click.echo(f"kindful-etl: error: {line}", err=True)
        ctx.exit(EXIT_BAD_INPUT if users else EXIT_BUG)


class Command(click.Command):
    def invoke(self, ctx: click.Context) -> Any:
        return _invoke_reporting(super().invoke, ctx)


class Group(click.Group):
    command_class = Command
    group_class = type  # subgroups are of this class too

    def invoke(self, ctx: click.Context) -> Any:
        return _invoke_reporting(super().invoke, ctx)

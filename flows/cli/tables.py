"""The commands' two-column summaries (label, value), aligned the same way everywhere."""

from __future__ import annotations

from collections.abc import Sequence

import click


def print_table(rows: Sequence[tuple[str, object]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"  {label.ljust(width)}  {value}")

"""`kindful-etl mapping`: write a starting mapping from an export's headers, and explain one.

`suggest` drafts the YAML (or starts from a shipped preset) for the analyst to edit; `check`
shows what a mapping will do to the first rows. `check` prints donor values to the analyst's own
terminal, on purpose, and only there: nothing here logs. Bad input ends with one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import get_args

import click
import pandas as pd

from flows.cli.errors import Group
from pipelines.errors import InputError
from pipelines.mapping.spec import (
    Mapping,
    apply_mapping,
    column_sources,
    load_mapping,
    resolve_format,
)
from pipelines.mapping.suggest import SAMPLE_ROWS, suggest_mapping
from pipelines.normalize.frame import normalize_frame
from pipelines.read.export import display_name, first_rows
from pipelines.transform.ids import IdAssigner
from pipelines.transform.options import RunOptions, resolve_options
from pipelines.transform.prepare import PreparedChunk, prepare_chunk
from schemas.columns import DataFormat, ImportFormat

_NAME_WIDTH = 24
_VALUE_WIDTH = 32


@click.group("mapping", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def mapping_group() -> None:
    """Write a starting mapping file from an export's headers, or check what one does."""


@mapping_group.command()
@click.argument("source")
@click.option(
    "--format",
    "data_format",
    type=click.Choice(get_args(DataFormat)),
    help="Kindful import format (a preset knows its own).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here, not to stdout.")
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
def suggest(source: str, data_format: str | None, output: str | None, force: bool) -> None:
    """Suggest a mapping YAML for SOURCE from its headers.

    Each line carries its confidence; the unused columns are listed at the end, after a "did
    you mean" comment for each header that looks misspelled (never mapped). Exports of a shipped
    preset (Classy, Stripe, PayPal) start from that preset, skip rules included, fitted to the
    layout of the export the headers match; stderr names the preset and the layout.
    """
    sample = first_rows(source, SAMPLE_ROWS)
    suggested = suggest_mapping(sample, data_format, display_name(source))
    said = []  # for stderr once the mapping is out (bad input ends with its one line only)
    if suggested.preset is not None and suggested.layout is not None:
        said.append(
            f"{suggested.preset.title}, layout {suggested.layout.name!r}: "
            f"started from the shipped preset {suggested.preset.name}"
        )
    if suggested.hints:
        guesses = ", ".join(f"{h.source!r} ({h.target}?)" for h in suggested.hints)
        said.append(f"did you mean: {guesses} (left unmapped; see the comments)")
    if output is None:
        click.echo(suggested.text, nl=False)
    else:
        path = Path(output)
        if path.exists() and not force:
            raise InputError(f"{output} exists; pass --force to overwrite it")
        try:
            path.write_text(suggested.text, encoding="utf-8")
        except OSError as error:
            raise InputError(
                f"cannot write {output}: {error.strerror or type(error).__name__}"
            ) from None
        said.insert(0, f"wrote {output}")
    for line in said:
        click.echo(line, err=True)


@mapping_group.command()
@click.argument("mapping_path", metavar="MAPPING")
@click.argument("source")
@click.option(
    "--rows",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many of the first rows to explain.",
)
@click.option(
    "--format",
    "data_format",
    type=click.Choice(get_args(DataFormat)),
    help="Kindful import format (default: the mapping's).",
)
def check(mapping_path: str, source: str, rows: int, data_format: str | None) -> None:
    """Show what MAPPING does to the first rows of SOURCE.

    For each row: accepted, rejected or skipped, then each Kindful column with its value (or
    problem) and where it comes from. Prints donor values to this terminal only.
    """
    mapping = load_mapping(mapping_path)
    fmt = resolve_format(data_format, mapping)
    options = resolve_options(fmt.name, mapping)
    chunk = first_rows(source, rows)
    prepared = prepare_chunk(chunk, mapping, options, IdAssigner(fmt, options.source_system))
    mapped = apply_mapping(chunk, fmt, mapping, options.custom_fields)
    values = normalize_frame(mapped.frame, fmt, mapped.units, options, mapped.decimal).frame
    click.echo(
        f"mapping {mapping.name}: {fmt.name} (action {options.action}), "
        f"first {len(chunk)} row(s) of {display_name(source)}"
    )
    if prepared.ignored_columns:
        click.echo(f"ignored columns: {', '.join(prepared.ignored_columns)}")
    sources = _sources(mapping, fmt, options)
    for row in chunk.index:
        for line in _explain_row(int(row), prepared, values, mapped.frame, sources):
            click.echo(line)


def _sources(mapping: Mapping, fmt: ImportFormat, options: RunOptions) -> dict[str, str]:
    """Where each Kindful column comes from, including what the pipeline itself fills in."""
    sources = column_sources(mapping)
    for name in fmt.names:
        column = fmt.column(name)
        if name in sources or column is None:
            continue
        if column.default is not None:
            sources[name] = f"default {column.default!r} when blank"
        elif column.default_from is not None:
            sources[name] = f"{column.default_from} when blank"
        elif name == "id" or name.endswith("_id"):
            sources[name] = f"derived id (source system {options.source_system})"
    for name in options.custom_fields:
        sources.setdefault(name, f"{name} (custom field)")
    return sources


def _explain_row(
    row: int,
    prepared: PreparedChunk,
    values: pd.DataFrame,
    raw: pd.DataFrame,
    sources: dict[str, str],
) -> list[str]:
    """A row's verdict, then each column it produces: value (or problem) and its source."""
    number = row + 1
    rejects = prepared.rejects[prepared.rejects["source_row"] == number]
    warnings = prepared.warnings[prepared.warnings["source_row"] == number]
    skipped = rejects[rejects["reason"].astype(str).str.startswith("skipped: ")]
    if not skipped.empty:
        first = skipped.iloc[0]
        return [f"row {number}: {first['reason']} ({first['column']} = {_shown(first['value'])})"]
    accepted = row in prepared.accepted.index
    verdict = "accepted" if accepted else "rejected"
    if not warnings.empty:
        verdict += f", {len(warnings)} warning(s)"
    lines = [f"row {number}: {verdict}"]
    produced = prepared.accepted.loc[row] if accepted else values.loc[row]
    problems = {str(c): str(r) for c, r in zip(rejects["column"], rejects["reason"], strict=True)}
    notes = {str(c): str(r) for c, r in zip(warnings["column"], warnings["reason"], strict=True)}
    for name, value in produced.items():
        column = str(name)
        if column not in sources and _blank(value):
            continue
        shown = f"REJECTED: {problems[column]}" if column in problems else _shown(value)
        line = f"  {column.ljust(_NAME_WIDTH)} {shown.ljust(_VALUE_WIDTH)}"
        line += f" <- {sources.get(column, column)}"
        given = raw.at[row, column] if column in raw.columns else None
        if not _blank(given) and str(given) != str(value):
            line += f" = {_shown(given)}"
        if column in notes:
            line += f"  (warning: {notes[column]})"
        lines.append(line.rstrip())
    for column, reason in problems.items():
        if column not in produced.index:
            lines.append(f"  REJECTED {column}: {reason}")
    return lines


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _shown(value: object) -> str:
    if _blank(value):
        return "(blank)"
    text = str(value).replace("\n", "\\n")
    return text if len(text) <= 60 else text[:57] + "..."

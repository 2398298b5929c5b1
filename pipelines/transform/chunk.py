"""Source chunk -> accepted normalized rows + rejects + warnings: the transform of one chunk.

Works chunk by chunk so a large export never needs to fit in memory; a chunk's index holds the
0-based record numbers of the whole file, so row numbers do not depend on the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.mapping.spec import MappedFrame, Mapping, apply_mapping
from pipelines.normalize.frame import NormalizeResult, normalize_frame
from pipelines.transform.ids import IdAssigner
from pipelines.transform.options import RunOptions
from pipelines.transform.required_columns import check_required_columns
from pipelines.transform.validation import validate_frame
from schemas.columns import FORMATS


@dataclass(frozen=True)
class PreparedChunk:
    """One chunk's outcome; every source record is in exactly one of accepted or rejected."""

    source: pd.DataFrame  # the chunk as read (original column names and values)
    accepted: pd.DataFrame  # normalized rows, Kindful columns, index = record numbers
    rejects: pd.DataFrame  # one line per problem: source_row, column, value, reason
    warnings: pd.DataFrame  # source_row, column, value, reason
    rejected_rows: pd.Index  # record numbers (0-based) of the rejected records
    ignored_columns: tuple[str, ...]

    @property
    def rows_read(self) -> int:
        return len(self.source)


def prepare_chunk(
    chunk: pd.DataFrame,
    mapping: Mapping | None,
    options: RunOptions,
    assigner: IdAssigner | None = None,
) -> PreparedChunk:
    """Map, normalize, fill missing ids and validate one chunk."""
    return finish_chunk(normalize_chunk(chunk, mapping, options), options, assigner)


@dataclass(frozen=True)
class NormalizedChunk:
    """A chunk mapped and normalized: the half of its transform that needs no other chunk."""

    source: pd.DataFrame
    mapped: MappedFrame
    normalized: NormalizeResult


def normalize_chunk(
    chunk: pd.DataFrame, mapping: Mapping | None, options: RunOptions
) -> NormalizedChunk:
    """Map and normalize one chunk; may run ahead of the chunks before it (`transform.ahead`)."""
    fmt = FORMATS[options.data_format]
    mapped = apply_mapping(chunk, fmt, mapping, options.custom_fields)
    check_required_columns(mapped.frame.columns, fmt, options)
    normalized = normalize_frame(mapped.frame, fmt, mapped.units, options, mapped.decimal)
    return NormalizedChunk(chunk, mapped, normalized)


def finish_chunk(
    done: NormalizedChunk, options: RunOptions, assigner: IdAssigner | None = None
) -> PreparedChunk:
    """Fill missing ids and validate a normalized chunk: in file order, since a derived id
    counts the identical records before it (`assigner`)."""
    fmt = FORMATS[options.data_format]
    chunk, mapped, normalized = done.source, done.mapped, done.normalized
    frame = normalized.frame
    if assigner is not None:
        frame = assigner.assign(frame)
        order = [c for c in fmt.names if c in frame.columns]
        frame = frame[order + [c for c in frame.columns if c not in order]]
    schema_rejects = validate_frame(
        frame, mapped.frame, options.data_format, options.action, options.contact_match
    )
    # A value the normalizer refused is NA to the schema too: keep only the first reason.
    # A row a mapping's skip rule matched has that rule as its one reject; nothing else counts.
    skipped = mapped.skipped["source_row"]
    others = [f[~f["source_row"].isin(skipped)] for f in (normalized.rejects, schema_rejects)]
    found = [mapped.skipped, *others]
    rejects = (
        pd.concat([f for f in found if not f.empty] or [schema_rejects], ignore_index=True)
        .drop_duplicates(["source_row", "column"])
        .sort_values(["source_row"], kind="stable", ignore_index=True)
    )
    rejected_rows = pd.Index(rejects["source_row"].astype("int64").unique() - 1)
    accepted = frame.drop(index=rejected_rows)
    found_warnings = [w for w in (mapped.warnings, normalized.warnings) if not w.empty]
    warnings = (
        pd.concat(found_warnings, ignore_index=True) if found_warnings else normalized.warnings
    )
    if not warnings.empty:
        # A rejected record's warnings would only distract: its reject says what to fix.
        warnings = warnings[~warnings["source_row"].isin(rejects["source_row"])]
        warnings = warnings.sort_values(["source_row"], kind="stable", ignore_index=True)
    return PreparedChunk(
        source=chunk,
        accepted=accepted,
        rejects=rejects,
        warnings=warnings,
        rejected_rows=rejected_rows,
        ignored_columns=mapped.ignored_columns,
    )

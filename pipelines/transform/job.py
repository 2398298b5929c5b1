"""The `validate` job: read, map, normalize and validate an export into the run's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.mapping.spec import Mapping
from pipelines.outputs.validation_files import OutputWriter
from pipelines.staging.safe_urls import safe_url
from pipelines.transform.options import RunOptions, parse_match_by, resolve_run
from pipelines.transform.prepare import prepare_export

# The one URL cleaner (query, fragment and user:password@ removed), under its older name here.
strip_query = safe_url


def validate_export(
    source: str,
    *,
    data_format: str | None,
    out_dir: Path,
    mapping_path: str | None = None,
    action: str | None = None,
    match_by: tuple[str, ...] = (),
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: tuple[str, ...] = (),
    chunk_rows: int = 100_000,
) -> dict[str, Any]:
    """Write normalized.csv, rejects.csv, warnings.csv and summary.json; return the summary.

    Once reading starts, a failure leaves none of the four in `out_dir` (no partial file).
    """
    mapping, options = resolve_run(
        data_format,
        mapping_path,
        action=action,
        match_by=parse_match_by(match_by),
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=custom_fields,
    )
    with OutputWriter(out_dir) as writer:  # a failure partway leaves no output files
        for chunk in prepare_export(source, mapping, options, chunk_rows=chunk_rows):
            writer.write(chunk)
        return writer.close(**summary_fields(source, options, mapping))


def summary_fields(source: str, options: RunOptions, mapping: Mapping | None) -> dict[str, Any]:
    """What summary.json says about the run's input and options (URLs without their query)."""
    return {
        "source": safe_url(source),
        "data_format": options.data_format,
        "action": options.action,
        "match_by": options.match_by,
        "source_timezone": options.source_timezone,
        "custom_fields": list(options.custom_fields),
        "mapping": mapping.name if mapping else None,
    }

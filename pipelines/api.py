"""kindful-etl in a notebook: suggest a mapping, validate, preview, import.

    from pipelines.api import validate, preview, suggest_mapping, import_export

    m = suggest_mapping("export.csv")          # a MappingDraft: edit m.columns, m.save(path)
    v = validate("export.csv", mapping=m)      # v.accepted, v.rejects, v.warnings, v.summary
    preview("export.csv", mapping=m)           # one verdict per row, as a DataFrame
    import_export("export.csv", mapping=m)     # the reconciliation (reconciliation.json)

Each function resolves its options once, as the CLI does (`resolve_run`; the keywords are the
CLI's options), and calls the pipeline entry the CLI calls. `mapping` is a mapping file's path,
a `MappingDraft` or a `pipelines.mapping.spec.Mapping`. Without KINDFUL_TOKEN/KINDFUL_BASE_URL,
`preview` reads the embedded sandbox's saved state and `import_export` runs against the
embedded sandbox and a local S3 (state in KINDFUL_ETL_HOME or ./.kindful-etl/); a line on
stderr says so. Errors are the product's own (`pipelines.errors.KindfulEtlError`: InputError,
ExportError, KindfulError, StagingError, ImportFailed), raised as they are, one line each.
No Prefect: nothing here starts or needs a Prefect server.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.kindful.client import KindfulClient
from pipelines.load.importing import import_file
from pipelines.load.settings import ImportSettings, chosen_settings
from pipelines.mapping.draft import MappingDraft, mapping_name
from pipelines.mapping.spec import Mapping
from pipelines.mapping.suggest import SAMPLE_ROWS
from pipelines.mapping.suggest import suggest_mapping as suggest_from_sample
from pipelines.outputs.batches import DEFAULT_BATCH_ROWS
from pipelines.preview.client import preview_client
from pipelines.preview.plan import preview_export
from pipelines.read.chunk_rows import DEFAULT_CHUNK_ROWS
from pipelines.read.export import display_name, first_rows
from pipelines.transform.job import validate_export
from pipelines.transform.options import RunOptions, resolve_run

__all__ = [
    "MappingDraft",
    "Validation",
    "import_export",
    "preview",
    "suggest_mapping",
    "validate",
]

MappingLike = str | Path | Mapping | MappingDraft | None


@dataclass(frozen=True, eq=False)
class Validation:
    """What `validate` found: the frames of normalized.csv, rejects.csv and warnings.csv, and
    summary.json's dict.

    Cells are text exactly as the files hold them (blank is ""), `source_row` a number.
    `accepted` is what Kindful would read; `rejects` (one line per problem, then the record's
    source columns) and `warnings` are for people, so a cell a spreadsheet would run as a
    formula starts with a quote there, as in the files. `out_dir` is where the files are, when
    `validate` was asked to write them.
    """

    accepted: pd.DataFrame
    rejects: pd.DataFrame
    warnings: pd.DataFrame
    summary: dict[str, Any]
    out_dir: Path | None = None


def _options(
    data_format: str | None,
    mapping: MappingLike,
    *,
    action: str | None,
    match_by: dict[str, str] | Sequence[str] | None,
    source_timezone: str | None,
    day_first: bool | None,
    custom_fields: Sequence[str],
) -> RunOptions:
    return resolve_run(
        data_format,
        mapping.mapping if isinstance(mapping, MappingDraft) else mapping,
        action=action,
        match_by=match_by,
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=custom_fields,
    )


def _notice(line: str) -> None:
    print(line, file=sys.stderr)


def _run_file(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError:  # no column at all: no record was accepted
        return pd.DataFrame()
    if "source_row" in frame.columns:
        frame["source_row"] = frame["source_row"].astype("int64")
    return frame


def suggest_mapping(source: str | Path, data_format: str | None = None) -> MappingDraft:
    """A starting mapping for `source` from its headers (a shipped preset's when they match).

    As `kindful-etl mapping suggest`: `data_format` is needed unless the headers are those of a
    preset. Edit the result (`m.columns[...] = ...`), pass it as `mapping=`, `m.save(path)`.
    """
    uri = str(source)
    name = display_name(uri)
    suggested = suggest_from_sample(first_rows(uri, SAMPLE_ROWS), data_format, name)
    return MappingDraft.from_suggestion(suggested, mapping_name(name))


def validate(
    source: str | Path,
    data_format: str | None = None,
    mapping: MappingLike = None,
    *,
    action: str | None = None,
    match_by: dict[str, str] | Sequence[str] | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: Sequence[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    out_dir: str | Path | None = None,
) -> Validation:
    """Normalize and validate `source`, as `kindful-etl validate` does.

    With `out_dir` the four files are written there (0600, in a 0700 folder) and stay; without
    it they go to a private temporary folder, removed once read back.
    """
    options = _options(
        data_format,
        mapping,
        action=action,
        match_by=match_by,
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=custom_fields,
    )
    if out_dir is not None:
        return _validated(str(source), options, Path(out_dir), chunk_rows, keep=True)
    with tempfile.TemporaryDirectory(prefix="kindful-etl-validate-") as folder:  # 0700
        return _validated(str(source), options, Path(folder), chunk_rows, keep=False)


def _validated(
    source: str, options: RunOptions, folder: Path, chunk_rows: int, *, keep: bool
) -> Validation:
    summary = validate_export(source, options=options, out_dir=folder, chunk_rows=chunk_rows)
    return Validation(
        accepted=_run_file(folder / "normalized.csv"),
        rejects=_run_file(folder / "rejects.csv"),
        warnings=_run_file(folder / "warnings.csv"),
        summary=summary,
        out_dir=folder if keep else None,
    )


def preview(
    source: str | Path,
    data_format: str | None = None,
    mapping: MappingLike = None,
    *,
    action: str | None = None,
    match_by: dict[str, str] | Sequence[str] | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: Sequence[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    kindful: KindfulClient | None = None,
) -> pd.DataFrame:
    """What importing `source` would do to each row, as `kindful-etl preview` says: one line
    per row (source_row, verdict, reason, ...), judged against Kindful's current state.

    Reads Kindful, never writes to it: `kindful` (a KindfulClient), else the configured
    Kindful, else the embedded sandbox's saved state.
    """
    options = _options(
        data_format,
        mapping,
        action=action,
        match_by=match_by,
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=custom_fields,
    )
    uri = str(source)
    if kindful is not None:
        return preview_export(uri, kindful, options, options.mapping, chunk_rows=chunk_rows).rows
    with preview_client(notice=_notice) as client:
        return preview_export(uri, client, options, options.mapping, chunk_rows=chunk_rows).rows


def import_export(
    source: str | Path,
    data_format: str | None = None,
    mapping: MappingLike = None,
    *,
    action: str | None = None,
    match_by: dict[str, str] | Sequence[str] | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: Sequence[str] = (),
    out_dir: str | Path | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    settings: ImportSettings | None = None,
) -> dict[str, Any]:
    """Import `source` into Kindful, as `kindful-etl import` does; return the reconciliation
    (reconciliation.json's dict: status, rows_created, rows_updated, ...).

    `settings` (ImportSettings), else the configured Kindful, else the embedded default.
    `out_dir`: the run files' folder (default: the run folder next to the ledger). A failed
    Kindful job raises ImportFailed; its `.report` is the reconciliation.
    """
    options = _options(
        data_format,
        mapping,
        action=action,
        match_by=match_by,
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=custom_fields,
    )
    uri = str(source)
    folder = None if out_dir is None else str(out_dir)
    if settings is not None:
        result, _ = import_file(uri, options, settings, out_dir=folder)
        return result.raise_failure()
    with chosen_settings(batch_rows=batch_rows, notice=_notice) as chosen:
        result, _ = import_file(uri, options, chosen, out_dir=folder)
    return result.raise_failure()

"""The product's main job as a Prefect flow: one export in, every row accounted for in Kindful.

Extract / transform: read, map, normalize, validate, write batches (one task).
Load: for each batch in order, stage it on S3, submit it by presigned data_url, poll the job,
reconcile its stats (pipelines/load/run.py, its steps run as tasks from flows/tasks.py).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, runtime
from prefect.client.schemas.objects import State

from flows.import_run import import_source
from flows.reporting import bad_input, source_name
from flows.run_settings import current_settings, full_source, handed_options
from pipelines.errors import InputError
from pipelines.transform.options import resolve_run
from schemas.columns import Action, DataFormat


def _import_run_name() -> str:
    return f"import {source_name(str(runtime.flow_run.parameters.get('source', '')))}"


@flow(name="import-export", flow_run_name=_import_run_name, log_prints=False)
def import_export(
    source: str,
    data_format: DataFormat | None = None,
    action: Action | None = None,
    mapping: str | None = None,
    match_by: dict[str, str] | None = None,
    out_dir: str | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: list[str] | None = None,
) -> dict[str, Any] | State:
    """Import one export into Kindful and return its reconciliation report.

    A file that cannot be processed at all ends the run Failed with the InputError or
    ExportError itself and a one-line message that starts with "bad input: "; a failed Kindful
    job raises ImportFailed after the report is written. The run files go to `out_dir`, else
    `<state folder>/runs/<run id>/` when the worker has a local state folder, else
    `s3://<staging bucket>/<prefix><run id>/`.

    Args:
        source: The export: a local path, s3:// or https:// URI (CSV, XLSX, JSON lines, gzip).
        data_format: Kindful import format, unless the mapping names it.
        action: create (only new records) or update (also newer versions); default create.
        mapping: Mapping file (YAML) from the export's columns to Kindful's.
        match_by: Kindful match_by, e.g. {"contact": "email"}.
        out_dir: Folder for the run files; default as above.
        source_timezone: IANA timezone of timestamps without an offset (default UTC).
        day_first: Dates are dd/mm/yyyy.
        custom_fields: Source columns sent untouched as Kindful custom fields.

    Where to import to is the worker's environment (flows.run_settings), never a parameter;
    the options are resolved once, here, unless the process that started the run (the CLI)
    handed them over already resolved.
    """
    source = full_source(source)
    try:
        options = handed_options(source) or resolve_run(
            data_format,
            mapping,
            action=action,
            match_by=match_by,
            source_timezone=source_timezone,
            day_first=day_first,
            custom_fields=custom_fields,
        )
    except InputError as error:
        return bad_input(error, source)
    return import_source(source, options, current_settings(), out_dir=out_dir)

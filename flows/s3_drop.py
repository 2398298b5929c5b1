"""The S3-drop import: a file lands in the drop bucket, an event names it, this flow imports it.

The `s3-drop-import` deployment (prefect.yaml) runs this flow from a Prefect deployment trigger
on `kindful-etl.s3.object.created` events, which come from the Lambda in
`flows/s3_event_lambda.py` (self-hosted server) or from a Prefect Cloud webhook fed by
EventBridge (deploy/README.md). The import itself is `import_export`, run as a subflow.

Duplicate deliveries import once, in three layers:

1. The event id is derived from bucket, key and the write's sequencer, so a redelivered event
   carries the same id and the Prefect server drops it before any trigger sees it.
2. This flow asks the ledger first: when a run of the same content (sha256 of the object), the
   same Kindful and the same settings already completed, it stops before reading the file
   (a redelivery past the server's dedup window, or the webhook path whose ids are not ours).
3. `import_export` itself skips every batch the ledger shows as imported, so even a run that
   slips past both submits nothing; the deployment's concurrency limit of one keeps two runs
   of the same drop from overlapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Failed

from flows.import_export import BAD_INPUT, import_export
from pipelines.errors import InputError
from pipelines.fingerprints import settings_fingerprint, source_content_hash
from pipelines.import_settings import ImportSettings, state_home
from pipelines.ledger import Ledger, new_run_id
from pipelines.mapping import load_mapping, resolve_format
from pipelines.run_options import RunOptions, resolve_options
from pipelines.validate_export import strip_query

ALREADY_IMPORTED = "already-imported"


def drop_uri(bucket: str, key: str) -> str:
    """`s3://bucket/key` for one dropped object; refuse what cannot name an object."""
    bucket, key = bucket.strip(), key.lstrip("/")
    if not bucket or "/" in bucket or not key or key.endswith("/"):
        raise InputError(f"not an S3 object: bucket {bucket!r}, key {key!r}")
    return f"s3://{bucket}/{key}"


def kindful_settings(settings: ImportSettings, options: RunOptions) -> dict[str, Any]:
    """What import_export fingerprints a run by (keep in step with it).

    Drifting apart is safe, only slower: the ledger check below then never matches and
    import_export's own batch check still submits nothing twice.
    """
    return {
        "data_format": options.data_format,
        "action": options.action,
        "match_by": options.match_by,
        "custom_fields": list(options.custom_fields),
        "update_exceptions": settings.submit.update_exceptions,
        "update_columns_except": settings.submit.update_columns_except,
        "update_columns_only": settings.submit.update_columns_only,
    }


def already_imported(source: str, settings: ImportSettings, options: RunOptions) -> bool:
    """Whether the ledger has a complete run of this exact content, target and settings."""
    ledger = Ledger(settings.ledger)
    try:
        return ledger.source_done(
            source_uri=strip_query(source),
            source_hash=source_content_hash(source),
            target=settings.target,
            fingerprint=settings_fingerprint(kindful_settings(settings, options)),
        )
    finally:
        ledger.close()


def _out_dir(settings: ImportSettings) -> str | None:
    """Run files beside a ledger file; under the state folder when the ledger is a database URL.

    import_export puts them next to the ledger path, which for a URL would name a directory
    after the URL, credentials included.
    """
    if "://" not in settings.ledger:
        return None
    return str(Path(state_home()) / "runs" / f"drop-{new_run_id()}")


@flow(name="import-dropped-object", flow_run_name="s3-drop {bucket}/{key}", log_prints=False)
def import_dropped_object(
    bucket: str,
    key: str,
    data_format: str | None = None,
    mapping: str | None = None,
    action: str | None = None,
    match_by: dict[str, str] | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: list[str] | None = None,
    settings: ImportSettings | None = None,
) -> dict[str, Any] | State:
    """Import one object dropped in S3, once, however many times its event arrives.

    Args:
        bucket: The S3 bucket the export was dropped in (from the event).
        key: The object's key, decoded (from the event).
        data_format: The Kindful import format, e.g. contact_with_transaction; optional when
            the mapping names one.
        mapping: Path to a mapping file (YAML) on the worker, relative to the working
            directory; it can name the format, action, match_by and columns.
        action: create or update (default: the mapping's, else create).
        match_by: Kindful match_by, e.g. {"contact": "email"} (default: the mapping's).
        source_timezone: IANA zone for timestamps without an offset (default: the mapping's,
            else UTC).
        day_first: Read ambiguous dates as dd/mm (default: the mapping's, else no).
        custom_fields: Source columns to pass to Kindful as custom fields.
        settings: Where to import (tests and the embedded default); deployments leave it
            empty and read the environment (ImportSettings.from_env).

    Returns the import's reconciliation report, or `{"status": "already-imported", ...}` when
    the ledger shows this content imported already. Bad input ends the run Failed with a
    message starting "bad input: ".
    """
    logger = get_run_logger()
    try:
        source = drop_uri(bucket, key)
        loaded = load_mapping(mapping) if mapping else None
        fmt = resolve_format(data_format, loaded)
        options = resolve_options(
            fmt.name,
            loaded,
            action=action,
            match_by=match_by,
            source_timezone=source_timezone,
            day_first=day_first,
            custom_fields=tuple(custom_fields or ()),
        )
        settings = settings or ImportSettings.from_env()
        done = already_imported(source, settings, options)
    except InputError as error:
        return Failed(message=f"{BAD_INPUT}{error}")
    if done:
        logger.info(
            "%s: this content was already imported into this Kindful with these settings; "
            "nothing to do",
            source,
        )
        return {"status": ALREADY_IMPORTED, "source": source, "data_format": fmt.name}
    state = import_export(
        source=source,
        data_format=fmt.name,
        action=action,
        mapping=mapping,
        match_by=match_by,
        out_dir=_out_dir(settings),
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=custom_fields,
        settings=settings,
        return_state=True,
    )
    if not state.is_completed():
        return state  # the import's own Failed state and message: the drop failed the same way
    report = state.result()
    if not isinstance(report, dict):  # import_export returns a dict or a Failed state
        return Failed(message=f"import of {source} returned no report")
    return report

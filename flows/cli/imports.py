"""`kindful-etl import`: pick the settings (real or embedded), run the flow, print the table.

Exit status: 0 complete, 1 a Kindful job failed, 2 bad input or settings (one line on stderr),
130 stopped by Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from flows.cli.stopping import Stopped, is_stop
from pipelines.errors import InputError, internal_error
from pipelines.kindful.errors import KindfulError
from pipelines.load.reconcile import summary_rows
from pipelines.load.settings import ImportSettings, default_ledger, state_home
from pipelines.read.errors import ExportError
from pipelines.staging.s3 import StagingError, StagingSettings
from pipelines.transform.options import parse_match_by, resolve_run

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


@contextmanager
def import_settings(
    *,
    staging_uri: str | None,
    url_expiry: int | None,
    keep_staged: bool,
    kindful_base_url: str | None,
    kindful_auth: str | None,
    token_block: str | None,
    ledger: str | None,
    batch_rows: int,
) -> Iterator[ImportSettings]:
    """Real settings when Kindful is configured; otherwise the embedded default's servers."""

    configured = ImportSettings.configured() or bool(kindful_base_url or token_block)
    if not configured:
        from pipelines.embedded.defaults import embedded_settings

        click.echo(
            "No Kindful configured (KINDFUL_TOKEN / KINDFUL_BASE_URL unset): running against "
            "the embedded sandbox Kindful and a local S3. Nothing is sent to Kindful.",
            err=True,
        )
        with embedded_settings(state_home()) as settings:
            staging = dataclasses.replace(
                settings.staging,
                keep_objects=keep_staged,
                url_expiry_seconds=url_expiry or settings.staging.url_expiry_seconds,
            )
            yield dataclasses.replace(
                settings,
                staging=staging,
                batch_rows=batch_rows,
                ledger=ledger or settings.ledger,
            )
        return
    from flows.run_settings import kindful_overrides
    from pipelines.kindful.settings import KindfulSettings

    overrides = kindful_overrides(kindful_base_url, kindful_auth, token_block)
    staging_overrides: dict[str, Any] = {"keep_objects": keep_staged}
    if staging_uri:
        staging_overrides["uri"] = staging_uri
    if url_expiry:
        staging_overrides["url_expiry_seconds"] = url_expiry
    yield ImportSettings(
        kindful=KindfulSettings.from_env(**overrides),
        staging=StagingSettings.from_env(**staging_overrides),
        ledger=ledger or default_ledger(),
        batch_rows=batch_rows,
    )


def run_import_command(
    *,
    source: str,
    data_format: str | None,
    action: str | None,
    mapping_path: str | None,
    match_by: tuple[str, ...],
    source_timezone: str | None,
    day_first: bool | None,
    custom_fields: tuple[str, ...],
    out_dir: str | None,
    batch_rows: int,
    keep_staged: bool,
    staging_uri: str | None,
    url_expiry: int | None,
    kindful_base_url: str | None,
    kindful_auth: str | None,
    token_block: str | None,
    ledger: str | None,
) -> int:
    """Run the import flow; return the exit status."""
    try:
        # Settle every option before the flow starts, so bad input never reaches Prefect; the
        # flow gets this very object through use_settings instead of resolving it again.
        options = resolve_run(
            data_format,
            mapping_path,
            action=action,
            match_by=(parsed_match := parse_match_by(match_by)),
            source_timezone=source_timezone,
            day_first=day_first,
            custom_fields=custom_fields,
        )
        if "://" not in source and not Path(source).exists():
            raise InputError(f"source not found: {source}")
        with import_settings(
            staging_uri=staging_uri,
            url_expiry=url_expiry,
            keep_staged=keep_staged,
            kindful_base_url=kindful_base_url,
            kindful_auth=kindful_auth,
            token_block=token_block,
            ledger=ledger,
            batch_rows=batch_rows,
        ) as settings:
            import flows.import_export
            from flows.prefect_api import prefect_api
            from flows.run_settings import use_settings
            from pipelines.staging.s3 import redact_url

            # Settings and a signed source URL stay in this process: Prefect stores parameters.
            with prefect_api(), use_settings(settings, source, options=options):
                state = flows.import_export.import_export(
                    source=redact_url(source) if "://" in source else source,
                    data_format=options.data_format,
                    action=action,
                    mapping=mapping_path,
                    match_by=parsed_match,
                    out_dir=out_dir,
                    source_timezone=source_timezone,
                    day_first=day_first,
                    custom_fields=list(custom_fields),
                    return_state=True,
                )
            # A Failed run holds what ended it: the report, or the exception itself.
            report: Any = state.result(raise_on_failure=False)
            if isinstance(report, BaseException) and is_stop(report):
                # Prefect may turn a signal during the flow into a Crashed state: still a stop.
                raise Stopped(type(report).__name__)
            if isinstance(report, InputError | ExportError):
                raise report  # bad input, found once the flow read the source: exit 2
    except (InputError, ExportError, StagingError, KindfulError) as error:
        click.echo(f"kindful-etl: error: {_one_line(str(error))}", err=True)
        return EXIT_BAD_INPUT
    except Exception as error:  # last line of defence: one line, no traceback, no message
        click.echo(f"kindful-etl: error: {internal_error(error)}", err=True)
        return EXIT_FAILED
    if isinstance(report, BaseException):
        from pipelines.load.run import ImportFailed

        # Only the project's own errors have messages written to be shown; any other text may
        # quote the value it choked on.
        known = (ImportFailed, InputError, ExportError, StagingError, KindfulError)
        shown = str(report) if isinstance(report, known) else internal_error(report)
        click.echo(f"kindful-etl: import failed: {_one_line(shown)}", err=True)
        report = getattr(report, "report", None)
    if not isinstance(report, dict) or not report:  # nothing to print: the line said it
        return EXIT_FAILED
    print_report(report)
    return 0 if report["status"] == "complete" else EXIT_FAILED


def print_report(report: dict[str, Any]) -> None:
    click.echo(
        f"run {report['run_id']}: {report['data_format']} ({report['action']}) "
        f"from {report['source']}"
    )
    rows = summary_rows(report)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"  {label.ljust(width)}  {value}")
    click.echo(f"files in {report['out_dir']}: reconciliation.json findings.csv rejects.csv ...")
    sys.stdout.flush()

"""`kindful-etl import`: pick the settings (real or embedded), run the import, print the table.

Exit status: 0 complete, 1 a Kindful job failed, 2 bad input or settings (one line on stderr),
130 stopped by Ctrl-C or SIGTERM. Loaded only when the command runs (Prefect is imported only
when a run goes through a Prefect API).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from flows.cli.errors import Command
from flows.cli.options import json_option, source_options, target_options
from flows.cli.stopping import Stopped, is_stop
from flows.cli.tables import print_table
from pipelines.errors import InputError, KindfulEtlError
from pipelines.load.reconcile import summary_rows
from pipelines.load.settings import ImportSettings, chosen_settings, state_home
from pipelines.read.errors import ExportError
from pipelines.transform.options import RunOptions

EXIT_FAILED = 1


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
    """Real settings when Kindful is configured (or named here); else the embedded default's."""
    real = ImportSettings.configured() or bool(kindful_base_url or token_block)
    overrides: dict[str, Any] = {}
    if real:
        from flows.run_settings import kindful_overrides  # a token block is read by Prefect

        overrides = kindful_overrides(kindful_base_url, kindful_auth, token_block)
    with chosen_settings(
        real=real,
        kindful=overrides,
        staging_uri=staging_uri,
        url_expiry=url_expiry,
        keep_staged=keep_staged,
        ledger=ledger,
        batch_rows=batch_rows,
        notice=lambda line: click.echo(line, err=True),
    ) as settings:
        yield settings


@click.command("import", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@source_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Run files folder (default: <state folder>/runs/<run id>/, or beside the staged batches).",
)
@click.option(
    "--batch-rows",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Rows per batch file (one Kindful import job each).",
)
@click.option("--keep-staged", is_flag=True, help="Keep the staged S3 objects after the run.")
@click.option("--url-expiry", type=int, help="Presigned URL lifetime, seconds (default 3600).")
@target_options
@json_option
def import_command(
    source: str,
    options: RunOptions,
    mapping_path: str | None,
    out_dir: str | None,
    batch_rows: int,
    keep_staged: bool,
    url_expiry: int | None,
    staging_uri: str | None,
    kindful_base_url: str | None,
    kindful_auth: str | None,
    token_block: str | None,
    ledger: str | None,
    as_json: bool,
) -> None:
    """Import SOURCE into Kindful: validate, batch, stage on S3, submit, reconcile.

    With no Kindful configured (KINDFUL_TOKEN / KINDFUL_BASE_URL unset) it runs against the
    embedded sandbox and a local S3, keeping state in KINDFUL_ETL_HOME or ./.kindful-etl/.
    With a Prefect API (PREFECT_API_URL, or `kindful-etl server` on this state folder) the run
    is the import-export flow, recorded there; otherwise its steps run as plain Python.

    Exit status: 0 complete, 1 a Kindful job failed, 2 bad input or settings.
    """
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
        from flows.prefect_api import configured_api

        api = configured_api(state_home())
        report: dict[str, Any] | None
        try:
            if api is None:
                report, failure = _import_plain(source, options, settings, out_dir)
            else:
                flow_parameters = {  # what Prefect stores and shows: the options as resolved
                    "action": options.action,
                    "mapping": mapping_path,
                    "match_by": options.match_by,
                    "source_timezone": options.source_timezone,
                    "day_first": options.day_first,
                    "custom_fields": list(options.custom_fields),
                }
                report, failure = _import_flow(
                    api, source, options, settings, out_dir, flow_parameters
                )
        except (InputError, ExportError):
            raise  # bad input found once the source was read: exit 2
        except KindfulEtlError as error:  # Kindful or S3 said no during the run
            report, failure = None, str(error)
    if failure is not None:
        click.echo(f"kindful-etl: import failed: {failure}", err=True)
    if not report:  # nothing to print: the line said it
        sys.exit(EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
    sys.exit(0 if report["status"] == "complete" else EXIT_FAILED)


def _import_plain(
    source: str, options: RunOptions, settings: ImportSettings, out_dir: str | None
) -> tuple[dict[str, Any], str | None]:
    from flows.cli.progress import cli_progress
    from pipelines.load.importing import import_file

    with cli_progress("import") as progress:
        result, _ = import_file(source, options, settings, out_dir=out_dir, progress=progress)
    return result.report, result.failure


def _import_flow(
    api: str,
    source: str,
    options: RunOptions,
    settings: ImportSettings,
    out_dir: str | None,
    parameters: dict[str, Any],
) -> tuple[dict[str, Any] | None, str | None]:
    """The import-export flow in this process, recorded in the Prefect API at `api`."""
    import flows.import_export
    from flows.prefect_api import prefect_api
    from flows.run_settings import use_settings
    from pipelines.load.run import ImportFailed
    from pipelines.staging.s3 import redact_url

    # Settings and a signed source URL stay in this process: Prefect stores parameters.
    with prefect_api(api), use_settings(settings, source, options=options):
        state = flows.import_export.import_export(
            source=redact_url(source) if "://" in source else source,
            data_format=options.data_format,
            out_dir=out_dir,
            return_state=True,
            **parameters,
        )
    # A Failed run holds what ended it: the report, or the exception itself.
    result: Any = state.result(raise_on_failure=False)
    if not isinstance(result, BaseException):
        return result, None
    if is_stop(result):  # Prefect may turn a signal during the flow into a Crashed state
        raise Stopped(type(result).__name__)
    if isinstance(result, ImportFailed):
        return result.report, str(result)
    raise result  # bad input (exit 2), Kindful/S3 (import failed), or a bug (type and place)


def print_report(report: dict[str, Any]) -> None:
    click.echo(
        f"run {report['run_id']}: {report['data_format']} ({report['action']}) "
        f"from {report['source']}"
    )
    print_table(summary_rows(report))
    where = report["out_dir"]
    click.echo(f"files in {where}: reconciliation.json findings.csv rejects.csv ...")
    click.echo(f"report: {where.rstrip('/')}/report.html")
    sys.stdout.flush()

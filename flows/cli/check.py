"""`kindful-etl check`: the pre-flight checklist for a first real import (pipelines.load.preflight).

Exit status: 0 when every check passes, 1 when any fails (one line each, with how to fix it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import click

from flows.cli.errors import Command
from flows.cli.options import target_options
from pipelines.load.preflight import Check, check_kindful, check_ledger, check_staging


def _checks(
    kindful_base_url: str | None,
    kindful_auth: str | None,
    token_block: str | None,
    staging_uri: str | None,
    ledger: str | None,
) -> Iterator[Check]:
    import os

    from flows.run_settings import TOKEN_BLOCK, kindful_overrides
    from pipelines.kindful.errors import KindfulConfigError
    from pipelines.kindful.settings import KindfulSettings
    from pipelines.load.settings import default_ledger
    from pipelines.staging.s3 import StagingError, StagingSettings

    overrides: dict[str, Any]
    try:
        overrides = kindful_overrides(kindful_base_url, kindful_auth, token_block)
    except Exception as error:  # the Secret block could not be read
        block = token_block or os.environ.get(TOKEN_BLOCK)
        yield Check(
            "Kindful token",
            False,
            f"Prefect Secret block {block!r} cannot be read ({type(error).__name__})",
            "create it (prefect block create secret) or set KINDFUL_TOKEN",
        )
        pairs = (("base_url", kindful_base_url), ("auth", kindful_auth))
        overrides = {name: value for name, value in pairs if value}
    try:
        kindful = KindfulSettings.from_env(**overrides)
    except KindfulConfigError as error:
        yield Check("Kindful settings", False, error.message, "set KINDFUL_TOKEN")
    except ValueError as error:  # pydantic: e.g. an unknown auth style
        shown = type(error).__name__
        yield Check("Kindful settings", False, f"invalid ({shown})", "check KINDFUL_AUTH")
    else:
        yield from check_kindful(kindful)
    try:
        staging = StagingSettings.from_env(**({"uri": staging_uri} if staging_uri else {}))
    except StagingError as error:
        message = str(error)
        fix = "" if "KINDFUL_ETL_STAGING_URI" in message else "set KINDFUL_ETL_STAGING_URI"
        yield Check("staging", False, message, fix)
    else:
        yield from check_staging(staging)
    yield check_ledger(ledger or default_ledger())


@click.command("check", cls=Command)
@target_options
def check_command(
    staging_uri: str | None,
    kindful_base_url: str | None,
    kindful_auth: str | None,
    token_block: str | None,
    ledger: str | None,
) -> None:
    """Check the settings a real import uses: Kindful token and auth style, staging, ledger.

    Nothing is imported: it reads /imports/stats, and writes, presigns, fetches and deletes
    one small test object in the staging location.
    """
    failed = 0
    for check in _checks(kindful_base_url, kindful_auth, token_block, staging_uri, ledger):
        click.echo(check.line())
        failed += not check.ok
    click.echo(f"{failed} check(s) failed" if failed else "all checks passed")
    sys.exit(1 if failed else 0)

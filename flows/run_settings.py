"""Where a flow imports to, resolved inside the run and never passed as a flow parameter.

Prefect stores every flow parameter in its database and shows it in the UI, so settings
(the Kindful token, AWS keys, a ledger URL with its password) and signed source URLs must not
be parameters. A deployed run reads its environment (`KINDFUL_TOKEN`, or the Prefect Secret
block named by `KINDFUL_TOKEN_BLOCK`); the CLI, tests and the embedded default hand their
settings to the flows they start in this process through `use_settings`, and with them the
options they resolved already, so a flow they start does not load and check them again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pipelines.load.settings import ImportSettings
from pipelines.staging.s3 import redact_url
from pipelines.transform.options import RunOptions

TOKEN_BLOCK = "KINDFUL_TOKEN_BLOCK"

_lock = threading.Lock()
_handed: list[ImportSettings] = []  # a stack: the innermost use_settings wins
_sources: dict[str, str] = {}
_options: dict[str, RunOptions] = {}  # by full source: options resolved by the caller


@contextmanager
def use_settings(
    settings: ImportSettings, *sources: str, options: RunOptions | None = None
) -> Iterator[None]:
    """Flows started in this process, from any thread, import with `settings`.

    `sources` are full source URLs (with a signature, say) that the caller passes to a flow
    as `redact_url(source)`; the flow gets the full URL back through `full_source`, and
    `options` (the caller's, resolved from the parameters it passes) through `handed_options`.
    """
    with _lock:
        saved = dict(_sources), dict(_options)
        _handed.append(settings)
        _sources.update({redact_url(s): s for s in sources})
        if options is not None:
            _options.update(dict.fromkeys(sources, options))
    try:
        yield
    finally:
        with _lock:
            _handed.pop()
            _sources.clear()
            _sources.update(saved[0])
            _options.clear()
            _options.update(saved[1])


def kindful_overrides(
    base_url: str | None = None, auth: str | None = None, token_block: str | None = None
) -> dict[str, Any]:
    """KindfulSettings fields the command line (or KINDFUL_TOKEN_BLOCK) sets over the env.

    The token comes from the Prefect Secret block only when KINDFUL_TOKEN is not set.
    """
    overrides: dict[str, Any] = {}
    if base_url:
        overrides["base_url"] = base_url
    if auth:
        overrides["auth"] = auth
    block = token_block or os.environ.get(TOKEN_BLOCK)
    if block and not os.environ.get("KINDFUL_TOKEN"):
        from prefect.blocks.system import Secret

        overrides["token"] = Secret.load(block).get()  # type: ignore[union-attr]
    return overrides


def current_settings() -> ImportSettings:
    """The settings handed over by `use_settings`, else the environment's."""
    with _lock:
        if _handed:
            return _handed[-1]
    return ImportSettings.from_env(**kindful_overrides())


def full_source(source: str) -> str:
    """The full URL behind a redacted source parameter (or the parameter itself)."""
    with _lock:
        return _sources.get(source, source)


def handed_options(source: str) -> RunOptions | None:
    """The options the caller resolved for the full `source`, if it handed any over."""
    with _lock:
        return _options.get(source)

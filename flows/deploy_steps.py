"""Deployment steps of our own, run by `prefect deploy` (prefect.yaml's `build:` section).

Prefect stores a pull step's `{{ $VAR }}` unresolved and fills it on the worker at run time, so
a variable missing there crashed every flow run with FileNotFoundError. A build step runs at
deploy time instead, and its output (`{{ checkout.directory }}`) is written into the stored pull
step as a real path: a bad value fails `prefect deploy`, once, with one line.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_DIR_VARIABLE = "KINDFUL_ETL_REPO_DIR"


class DeployStepError(SystemExit):
    """Ends `prefect deploy` with one line on stderr and exit status 1.

    A SystemExit, because Prefect wraps any Exception raised by a step in StepExecutionError
    and prints its traceback; a SystemExit passes through its CLI unchanged.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"kindful-etl deploy: {message}")


def checkout_dir() -> dict[str, str]:
    """The directory process workers run the flows from, for the pull step.

    `KINDFUL_ETL_REPO_DIR` when set (the checkout's path on the worker machine, which may not
    exist here, so it must only be absolute); else the directory `prefect deploy` runs in,
    which must be the checkout (it holds `flows/`), since entrypoints are relative to it.
    """
    configured = os.environ.get(REPO_DIR_VARIABLE)
    if configured is not None:
        value = configured.strip()
        if not value or not os.path.isabs(value):
            raise DeployStepError(
                f"{REPO_DIR_VARIABLE}={configured!r} must be the absolute path of the "
                "checkout on the worker machine (or unset it to use this directory)"
            )
        return {"directory": os.path.normpath(value)}
    here = Path.cwd().resolve()
    if not (here / "flows").is_dir():
        raise DeployStepError(
            f"run prefect deploy from the kindful-etl checkout ({here} has no flows/), "
            f"or set {REPO_DIR_VARIABLE} to the checkout's absolute path on the worker machine"
        )
    return {"directory": str(here)}

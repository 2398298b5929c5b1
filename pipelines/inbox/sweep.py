"""One sweep of an inbox: plan the pending exports, load each, file it under processed/ or
failed/ with why; plain Python, so the sync flow stays a few lines and this is testable alone.

An export that cannot be handled, for any reason, goes to failed/ with an error.txt and the
others are still imported; links, FIFOs and devices are filed without being opened. The ledger
decides what is done, so a file already imported goes straight to processed/.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pipelines.errors import error_line
from pipelines.inbox.listing import Inbox, InboxFile
from pipelines.load.ledger import Ledger, new_run_id
from pipelines.load.run import LedgerKey, ledger_key
from pipelines.load.settings import ImportSettings
from pipelines.outputs.private_files import private_dir, write_private_text
from pipelines.outputs.run_folder import RunFolder, release
from pipelines.transform.job import PreparedRun
from pipelines.transform.options import RunOptions

Logger = logging.Logger | logging.LoggerAdapter[Any]
LoadOne = Callable[
    [str, LedgerKey, PreparedRun, RunOptions, ImportSettings, str, RunFolder], object
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class Prepared(Protocol):
    def result(self) -> PreparedRun: ...


def printable(text: str) -> str:
    """`text` with control characters escaped: a file name is one log line, unforgeable."""
    return _CONTROL.sub(lambda found: repr(found.group())[1:-1], text)


def _error_file(out: Path, message: str) -> Path:
    path = private_dir(out) / "error.txt"
    write_private_text(path, message + "\n")
    return path


def _run_files(out: Path) -> dict[str, Path]:
    names = ("reconciliation.json", "findings.csv", "rejects.csv", "warnings.csv", "summary.json")
    return {name: out / name for name in names}


def _one_line(error: BaseException) -> str:
    """What error.txt and the log say: our own errors' line; for anything else (it may quote
    a value) only its type and place."""
    return error_line(error)[0]


@dataclass
class Planned:
    """One pending export with its options, resolved once, and its ledger key."""

    export: InboxFile
    options: RunOptions
    key: LedgerKey
    run_id: str
    folder: RunFolder


@dataclass
class Sweep:
    """One sweep of an inbox: what it filed where, and the filing itself.

    `load` is the caller's way to load one prepared export (the flow's: task steps, artifacts,
    events); a prepared export comes as anything with `.result()` (a Prefect future, say).
    """

    inbox: Inbox
    settings: ImportSettings
    logger: Logger
    load_prepared: LoadOne
    outcome: dict[str, list[str]] = field(
        default_factory=lambda: {"processed": [], "already_imported": [], "failed": []}
    )

    def file_refused(self) -> None:
        """Links, FIFOs, devices: filed under failed/ with the reason, never opened or hashed."""
        for entry in self.inbox.refused():
            folder = self.settings.run_folder(new_run_id())
            message = f"refused: {entry.refused}"
            self.logger.warning("%s: %s", printable(entry.relative), message)
            try:
                self.inbox.finish(entry, "failed", {"error.txt": _error_file(folder.path, message)})
            except Exception as error:
                self.logger.warning(
                    "%s: cannot move to failed/: %s", printable(entry.relative), _one_line(error)
                )
            self.outcome["failed"].append(entry.relative)
            release(folder)

    def fail(
        self, export: InboxFile, folder: RunFolder, message: str, files: dict[str, Path]
    ) -> None:
        self.logger.warning("%s: %s", printable(export.relative), message)
        try:
            self.inbox.finish(
                export, "failed", files | {"error.txt": _error_file(folder.path, message)}
            )
        except Exception as error:  # even filing it failed: leave it for the next sweep
            self.logger.warning(
                "%s: cannot move to failed/: %s", printable(export.relative), _one_line(error)
            )
        self.outcome["failed"].append(export.relative)

    def plan(self, options_for: Callable[[Path | None], RunOptions]) -> list[Planned]:
        """The pending exports to import, each with its options (from its own mapping, if it
        has one); those the ledger shows imported go to processed/ now, the unusable to failed/.
        """
        pending = self.inbox.pending()
        self.logger.info("%d export(s) pending in the inbox", len(pending))
        planned: list[Planned] = []
        ledger = Ledger(self.settings.ledger)
        try:
            for export in pending:
                run_id = new_run_id()
                folder = self.settings.run_folder(run_id)
                try:
                    options = options_for(self.inbox.mapping_for(export))
                    key = ledger_key(export.uri, options, self.settings)
                    done = key.completed_run(ledger)
                    if done is not None:
                        self.logger.info(
                            "%s: already imported by run %s, moved to processed/",
                            export.relative,
                            done,
                        )
                        self.inbox.finish(export, "processed", {})
                        self.outcome["already_imported"].append(export.relative)
                        release(folder)
                        continue
                except Exception as error:
                    self.fail(export, folder, _one_line(error), {})
                    release(folder)
                    continue
                planned.append(Planned(export, options, key, run_id, folder))
        finally:
            ledger.close()
        return planned

    def load(self, plan: Planned, future: Prepared) -> None:
        """Load one prepared export and file it under processed/, or failed/ with why."""
        export, folder = plan.export, plan.folder
        try:
            prepared = future.result()
            if prepared.error is not None:
                self.fail(export, folder, prepared.error, {})
                return
            try:
                self.load_prepared(
                    export.uri, plan.key, prepared, plan.options, self.settings, plan.run_id, folder
                )
            except Exception as error:
                self.fail(export, folder, _one_line(error), _run_files(folder.path))
                return
            self.inbox.finish(export, "processed", _run_files(folder.path))
            self.outcome["processed"].append(export.relative)
        except Exception as error:
            self.fail(export, folder, _one_line(error), {})
        finally:
            release(folder)

    def done(self) -> dict[str, list[str]]:
        self.logger.info(
            "inbox sync: %d processed, %d already imported, %d failed",
            len(self.outcome["processed"]),
            len(self.outcome["already_imported"]),
            len(self.outcome["failed"]),
        )
        return self.outcome

"""An inbox sweep in plain Python (no Prefect): each export is loaded or filed under failed/
with a one-line reason, and one export's failure never stops the others."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pipelines.inbox.listing import open_inbox
from pipelines.inbox.sweep import Sweep, printable
from pipelines.load.settings import ImportSettings
from pipelines.transform.job import PreparedRun, prepare_run
from pipelines.transform.options import resolve_run

DONOR_VALUE = "Secretson"


class Done:
    """A prepared export, as a future would hand it over."""

    def __init__(self, prepared: PreparedRun) -> None:
        self.prepared = prepared

    def result(self) -> PreparedRun:
        return self.prepared


def test_a_failed_load_is_filed_with_its_type_only_and_the_next_export_still_loads(
    tmp_path: Path, make_settings: Callable[..., ImportSettings]
) -> None:
    settings = make_settings()
    inbox_dir = tmp_path / "inbox"
    inbox_dir.mkdir()
    for name in ("a.csv", "b.csv"):
        (inbox_dir / name).write_text("first_name,last_name\nAda,Example\n")
    loaded: list[str] = []

    def load(source: str, *args: object) -> None:
        if source.endswith("a.csv"):
            int(DONOR_VALUE)  # a bug whose message quotes a donor value
        loaded.append(Path(source).name)

    with open_inbox(str(inbox_dir), None) as inbox:
        sweep = Sweep(inbox, settings, logging.getLogger("test"), load)
        planned = sweep.plan(lambda own: resolve_run("contact", own))
        for plan in planned:
            prepared = prepare_run(plan.export.uri, plan.options, plan.folder.path, 10)
            sweep.load(plan, Done(prepared))
        outcome = sweep.done()
    assert loaded == ["b.csv"]
    assert outcome == {"processed": ["b.csv"], "already_imported": [], "failed": ["a.csv"]}
    error = (inbox_dir / "failed" / "a.error.txt").read_text()
    assert error.startswith("internal error ValueError at tests/inbox/test_sweep.py:")
    assert DONOR_VALUE not in error


def test_a_file_name_is_one_log_line() -> None:
    assert printable("gifts\n2024\x1b[31m.csv") == "gifts\\n2024\\x1b[31m.csv"

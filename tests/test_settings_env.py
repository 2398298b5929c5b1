"""Whole-number settings: one-line refusals naming the variable; each setting its own."""

from __future__ import annotations

import pytest

from pipelines.errors import InputError
from pipelines.read.limits import Limits
from pipelines.settings_env import positive_whole_number
from pipelines.transform.parallel import PROCESSES_ENV, worker_count


@pytest.mark.parametrize(("text", "value"), [("3", 3), (" 12 ", 12), ("", 7), ("  ", 7)])
def test_a_whole_number_or_the_default(text: str, value: int) -> None:
    assert positive_whole_number("KINDFUL_ETL_X", 7, {"KINDFUL_ETL_X": text}) == value


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", "+2", "1e3", "٣"])
def test_anything_else_is_one_line_naming_the_variable(text: str) -> None:
    with pytest.raises(InputError, match=r"^KINDFUL_ETL_X must be a positive whole number$"):
        positive_whole_number("KINDFUL_ETL_X", 7, {"KINDFUL_ETL_X": text})


def test_limits_refuse_a_bad_value_by_name() -> None:
    with pytest.raises(InputError, match=r"^KINDFUL_ETL_MAX_COLUMNS must be a positive"):
        Limits.from_env({"KINDFUL_ETL_MAX_COLUMNS": "many"})
    assert Limits.from_env({"KINDFUL_ETL_MAX_COLUMNS": "12"}).columns == 12


def test_inbox_threads_do_not_set_transform_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """KINDFUL_ETL_WORKERS is how many files sync_inbox validates at once; were it also each
    validation's process count, 8 would start 64 processes."""
    monkeypatch.delenv(PROCESSES_ENV, raising=False)
    monkeypatch.setenv("KINDFUL_ETL_WORKERS", "8")
    assert worker_count() == 1
    monkeypatch.setenv(PROCESSES_ENV, "3")
    assert worker_count() == 3

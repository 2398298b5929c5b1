"""schemas.rules: the checks validation screens by are pandera's, and pandera waits until needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schemas.columns import FORMATS
from schemas.models import schema_columns
from schemas.rules import column_rules
from tests.schemas.pandera_helpers import check_name

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_the_rules_are_the_pandera_schemas_checks(fmt: str) -> None:
    schema, rules = schema_columns(fmt), column_rules(fmt)
    assert list(rules) == list(schema)
    for name, column in schema.items():
        pandera = [(c.name, c.statistics, check_name(c)) for c in column.checks]
        ours = [(c.name, c.statistics, c.failure) for c in rules[name].checks]
        assert ours == pandera, name  # same checks, same order, same names in rejects
        assert rules[name].nullable == column.nullable


_PROBE = """
import sys
import pandas as pd
from pipelines.transform.validation import validate_frame
frame = pd.DataFrame(
    {{"first_name": ["Ada", "{long}"], "last_name": ["Lovelace", "B"], "email": [None, None],
     "amount_in_cents": ["500", "0"], "currency": ["usd", "usd"],
     "transaction_time": ["2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00+00:00"]}},
    dtype="str",
)
issues = validate_frame(frame, frame, "contact_with_transaction", "create", None)
print(sorted(issues["reason"]), "pandera" in sys.modules)
frame.loc[1, "currency"] = "dollars"  # a set: pandera decides
issues = validate_frame(frame, frame, "contact_with_transaction", "create", None)
print("pandera" in sys.modules)
"""


def test_pandera_is_imported_only_for_values_the_screens_cannot_settle() -> None:
    probe = _PROBE.format(long="é" * 256)
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    first, second = out.stdout.splitlines()
    # a name too long and an amount of 0 are found without pandera
    assert first == "['longer than 255 characters', 'must be greater than 0'] False"
    assert second == "True"

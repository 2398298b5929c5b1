"""`mapping suggest`: "did you mean" comments for headers that look like misspelled Kindful
columns or synonyms. They carry the similarity, never map anything, and stay off headers that
merely share a word with a Kindful column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.mapping.spec import parse_mapping_text
from pipelines.mapping.suggest import (
    HINT_SIMILARITY,
    SWAP_SIMILARITY,
    suggest_columns,
    suggest_mapping,
    suggest_mapping_text,
)
from schemas.columns import FORMATS

TRANSACTION = FORMATS["contact_with_transaction"]
MISSPELLED = {
    "Frist Name": ("first_name", 90, "first_name"),
    "Emial": ("email", 80, "email"),  # a swap in a 5-letter word
    "Donation Amout": ("amount_in_cents", 97, "donation_amount"),  # close to a synonym
}


def _frame(*headers: str) -> pd.DataFrame:
    return pd.DataFrame({h: ["x"] for h in headers})


def test_the_three_misspellings_get_a_hint_with_its_similarity_and_stay_unmapped() -> None:
    sample = _frame("Last Name", *MISSPELLED)
    suggestion = suggest_columns(sample, TRANSACTION)
    got = {h.source: (h.target, h.similarity, h.like) for h in suggestion.hints}
    assert got == MISSPELLED
    assert all(h.similarity >= SWAP_SIMILARITY for h in suggestion.hints)
    assert [c.source for c in suggestion.columns] == ["Last Name"]
    assert set(MISSPELLED) <= set(suggestion.unmapped)

    text = suggest_mapping_text(sample, "contact_with_transaction", "gifts.csv")
    assert '# "Frist Name": did you mean first_name? (similarity 90)' in text.splitlines()
    assert '# "Emial": did you mean email? (similarity 80)' in text.splitlines()
    assert (
        '# "Donation Amout": did you mean amount_in_cents? (similarity 97, like donation_amount)'
        in text.splitlines()
    )
    mapping = parse_mapping_text(text, "gifts")  # the hints are comments: nothing is mapped
    assert mapping.source_columns == ("Last Name",)
    assert text.endswith("#   - Frist Name\n#   - Emial\n#   - Donation Amout\n")


@pytest.mark.parametrize(
    ("header", "data_format"),
    [
        ("Notes", "contact"),  # shares "note" with note_type, which contact does not have anyway
        ("Note Type", "contact_with_transaction"),
        ("Notes", "contact_with_cause_team"),
        ("Shoe Size", "contact"),
        ("Stage", "contact"),  # one letter from "state", but not a swap: another word
        ("Status", "contact"),
        ("Fee", "contact_with_transaction"),
        ("Card Last4", "contact_with_transaction"),
        ("Converted Amount", "contact_with_transaction"),
        ("Time zone", "contact_with_transaction"),
    ],
)
def test_unrelated_headers_get_no_hint(header: str, data_format: str) -> None:
    suggestion = suggest_columns(_frame("First Name", header), FORMATS[data_format])
    assert suggestion.hints == ()
    assert "did you mean" not in suggest_mapping_text(
        _frame("First Name", header), data_format, "a.csv"
    )


def test_the_threshold_sits_between_typos_and_other_words() -> None:
    assert (SWAP_SIMILARITY, HINT_SIMILARITY) == (80, 85)
    hints = suggest_columns(_frame("Emal", "Cty", "Stage"), FORMATS["contact"]).hints
    assert {h.source: (h.target, h.similarity) for h in hints} == {
        "Emal": ("email", 89),  # a missing letter
        "Cty": ("city", 86),
    }


def test_no_hint_for_a_column_another_header_already_fills() -> None:
    suggestion = suggest_columns(_frame("Email", "Emial", "Frist Name"), FORMATS["contact"])
    assert [(h.source, h.target) for h in suggestion.hints] == [("Frist Name", "first_name")]
    assert "Emial" in suggestion.unmapped


def test_hints_come_from_the_headers_alone() -> None:
    empty = pd.DataFrame({h: pd.Series([], dtype="str") for h in MISSPELLED})
    many = pd.DataFrame({h: ["Ada"] * 5000 for h in MISSPELLED})
    assert suggest_columns(empty, TRANSACTION).hints == suggest_columns(many, TRANSACTION).hints
    assert suggest_mapping(empty, "contact_with_transaction", "a.csv").hints


def test_mapping_suggest_shows_the_hints_from_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "gifts.csv"
    source.write_text(
        "Frist Name,Last Name,Emial,Donation Amout,Notes\n"
        "Ada,Lovelace,ada@example.org,25.00,first gift\n",
        encoding="utf-8",
    )
    command = Path(sys.executable).with_name("kindful-etl")
    done = subprocess.run(
        [str(command), "mapping", "suggest", str(source), "--format", "contact_with_transaction"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '# "Frist Name": did you mean first_name? (similarity 90)' in done.stdout
    assert '# "Emial": did you mean email? (similarity 80)' in done.stdout
    assert "  Notes: transaction_note" in done.stdout
    assert parse_mapping_text(done.stdout, "gifts").source_columns == ("Last Name", "Notes")
    assert done.stderr == (
        "did you mean: 'Frist Name' (first_name?), 'Emial' (email?), "
        "'Donation Amout' (amount_in_cents?) (left unmapped; see the comments)\n"
    )

"""Mapping files rename columns, declare dollars, add constants and refuse nonsense."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.mapping.spec import apply_mapping, load_mapping, resolve_format
from pipelines.transform.options import parse_match_by, resolve_options
from schemas.columns import FORMATS

TRANSACTION = FORMATS["contact_with_transaction"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "source.mapping.yaml"
    path.write_text(text)
    return path


def test_it_maps_columns_units_constants_and_custom_fields(tmp_path: Path) -> None:
    mapping = load_mapping(
        write(
            tmp_path,
            """
data_format: contact_with_transaction
source_system: classy
columns:
  billing_first_name: first_name
  total: {to: amount_in_cents, unit: dollars}
constants: {campaign: Classy}
custom_fields: [Member Since]
""",
        )
    )
    assert mapping.name == "source" and mapping.source_system == "classy"
    frame = pd.DataFrame(
        {"billing_first_name": ["Ada"], "total": ["$5"], "Member Since": ["2001"], "junk": ["x"]}
    )
    mapped = apply_mapping(frame, TRANSACTION, mapping, ("Member Since",))
    assert list(mapped.frame.columns) == [
        "first_name",
        "amount_in_cents",
        "Member Since",
        "campaign",
    ]
    assert mapped.units == {"amount_in_cents": "dollars"}
    assert mapped.ignored_columns == ("junk",)
    assert mapped.frame.loc[0, "campaign"] == "Classy"


def test_without_a_mapping_kindful_named_columns_pass_through_in_any_case() -> None:
    frame = pd.DataFrame({"First Name": ["Ada"], "LAST_NAME": ["Ex"], "Notes": ["n"]})
    mapped = apply_mapping(frame, FORMATS["contact"], None)
    assert list(mapped.frame.columns) == ["first_name", "last_name"]
    assert mapped.ignored_columns == ("Notes",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [a, b]", "columns and constants must be mappings"),
        ("columns: {a: {to: amount_in_cents, unit: euros}}", "unit 'euros'"),
        ("colums: {}", "unknown key(s) colums"),
        ("action: upsert", "action must be create or update"),
        ("columns: {a: [", "is not valid YAML"),
        ("- a\n- b", "must be a YAML mapping"),
    ],
)
def test_bad_mapping_files_give_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError) as error:
        load_mapping(write(tmp_path, text))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_mapping_cannot_target_columns_outside_the_format(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "columns: {x: pledge_id}"))
    with pytest.raises(InputError, match="not in contact_with_transaction: pledge_id"):
        apply_mapping(pd.DataFrame({"x": ["1"]}), TRANSACTION, mapping)


def test_a_unit_only_applies_to_money(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "columns: {x: {to: first_name, unit: dollars}}"))
    with pytest.raises(InputError, match="not money"):
        apply_mapping(pd.DataFrame({"x": ["1"]}), TRANSACTION, mapping)


def test_a_mapped_column_missing_from_the_file_is_named(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "columns: {billing_email: email}"))
    with pytest.raises(InputError, match="mapped column\\(s\\) not in the file: billing_email"):
        apply_mapping(pd.DataFrame({"x": ["1"]}), TRANSACTION, mapping)


def test_options_win_over_the_mapping_and_are_checked(tmp_path: Path) -> None:
    mapping = load_mapping(
        write(tmp_path, "data_format: contact\naction: update\nsource_timezone: America/Chicago")
    )
    options = resolve_options("contact", mapping, action="create")
    assert (options.action, options.source_timezone) == ("create", "America/Chicago")
    assert resolve_format(None, mapping).name == "contact"
    with pytest.raises(InputError, match="disagrees"):
        resolve_format("contact_with_note", mapping)
    with pytest.raises(InputError, match="unknown source timezone"):
        resolve_options("contact", None, source_timezone="Mars/Olympus")
    with pytest.raises(InputError, match="unknown contact match_by"):
        resolve_options("contact", None, match_by=parse_match_by(["contact=shoe_size"]))
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_match_by(["contact"])

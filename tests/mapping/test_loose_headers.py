"""Without a mapping, headers are matched to Kindful columns loosely (case, spaces, dashes).

Two headers that loosely name the same Kindful column are as ambiguous as a duplicate header:
the run is refused with one line naming both, rather than using one and ignoring the other.
Custom fields lose NULs, BOMs and control characters (their spacing is kept).
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.mapping.spec import apply_mapping, parse_mapping_text
from pipelines.normalize.frame import normalize_frame
from pipelines.transform.options import RunOptions
from schemas.columns import FORMATS

CONTACT = FORMATS["contact"]


@pytest.mark.parametrize(
    ("first", "second"),
    [("first_name", "First_Name"), ("First Name", "first-name"), ("EMAIL", " email ")],
)
def test_two_headers_loosely_naming_one_kindful_column_are_refused(first: str, second: str) -> None:
    frame = pd.DataFrame({first: ["Ada"], "last_name": ["Example"], second: ["Nashville"]})
    with pytest.raises(InputError) as error:
        apply_mapping(frame, CONTACT, None)
    message = str(error.value)
    assert repr(first) in message and repr(second) in message
    assert "\n" not in message
    assert "Ada" not in message and "Nashville" not in message  # names only, never values


def test_a_custom_field_or_a_mapped_constant_takes_the_other_header_out_of_the_match() -> None:
    frame = pd.DataFrame({"first_name": ["Ada"], "First_Name": ["x"], "last_name": ["L"]})
    mapped = apply_mapping(frame, CONTACT, None, ("First_Name",))
    assert mapped.frame.to_dict("records") == [
        {"first_name": "Ada", "last_name": "L", "First_Name": "x"}
    ]
    options_only = parse_mapping_text("constants: {first_name: Friend}", "m")
    mapped = apply_mapping(frame, CONTACT, options_only)
    assert mapped.frame.to_dict("records") == [{"last_name": "L", "first_name": "Friend"}]
    assert mapped.ignored_columns == ("first_name", "First_Name")


def test_a_mapping_that_maps_columns_decides_which_header_is_used() -> None:
    frame = pd.DataFrame({"first_name": ["Ada"], "First_Name": ["x"], "last_name": ["L"]})
    mapping = parse_mapping_text("columns: {First_Name: first_name, last_name: last_name}", "m")
    mapped = apply_mapping(frame, CONTACT, mapping)
    assert mapped.frame.to_dict("records") == [{"first_name": "x", "last_name": "L"}]
    assert mapped.ignored_columns == ("first_name",)


def test_custom_fields_lose_control_characters_but_keep_their_spacing() -> None:
    mapped = pd.DataFrame(
        {
            "first_name": ["Ada", "Grace", "Bo", "Cy"],
            "last_name": ["A", "B", "C", "D"],
            "Member Since": ["\ufeff2019\x00", " 2020\r01\r\n ", "\x1b\t", None],
            "Plain": ["a", " b ", "=c", None],
        },
        dtype="str",
    )
    options = RunOptions(data_format="contact", custom_fields=("Member Since", "Plain"))
    frame = normalize_frame(mapped, CONTACT, {}, options).frame
    assert frame["Member Since"].tolist()[:3] == ["2019", " 2020\n01\n ", "\t"]
    assert frame["Plain"].tolist()[:3] == ["a", " b ", "=c"]
    assert frame[["Member Since", "Plain"]].iloc[3].isna().all()

"""`split_name` on names as people write them: nameparser, organizations, couples, one parse each.

Kindful's contact has `title` ("Mr.") and `company_name` but no middle-name or suffix column, so
a middle name stays with the first name and a suffix is read only to keep it out of both names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.mapping import rules
from pipelines.mapping.rules import (
    COUPLE_WARNING,
    ORGANIZATION_WARNING,
    NameParts,
    name_parts,
    parse_name,
    split_names,
)
from pipelines.mapping.spec import apply_mapping, column_sources, parse_mapping_text
from pipelines.transform.options import resolve_options
from pipelines.transform.prepare import prepare_chunk
from schemas.columns import FORMATS

ROOT = Path(__file__).resolve().parents[2]
CLI = [str(Path(sys.executable).parent / "kindful-etl")]
CONTACT = FORMATS["contact"]

# full name -> (title, first, last, suffix); "" for a blank part
NAMES: list[tuple[str, tuple[str, str, str, str]]] = [
    # the three the rule used to get wrong (was: "PhD"/"Jane Smith", "Dr. Jane"/"Smith",
    # "Juan de la"/"Cruz")
    ("Jane Smith, PhD", ("", "Jane", "Smith", "PhD")),
    ("Dr. Jane Smith", ("Dr.", "Jane", "Smith", "")),
    ("Juan de la Cruz", ("", "Juan", "de la Cruz", "")),
    # titles
    ("Mr. John Smith", ("Mr.", "John", "Smith", "")),
    ("Ms. Jane Doe", ("Ms.", "Jane", "Doe", "")),
    ("Mrs. Mary Jones-Smith", ("Mrs.", "Mary", "Jones-Smith", "")),
    ("Dr Jane Smith", ("Dr", "Jane", "Smith", "")),
    ("Rev. Dr. Martin Luther King Jr.", ("Rev. Dr.", "Martin Luther", "King", "Jr.")),
    ("The Rev. Canon John Smith", ("The Rev. Canon", "John", "Smith", "")),
    ("Prof. Albert Einstein", ("Prof.", "Albert", "Einstein", "")),
    ("Hon. John Smith", ("Hon.", "John", "Smith", "")),
    ("Sister Mary Smith", ("Sister", "Mary", "Smith", "")),
    ("Mr. Smith", ("Mr.", "", "Smith", "")),  # a title and one word: a surname
    # suffixes, with and without a comma
    ("Martin Luther King, Jr.", ("", "Martin Luther", "King", "Jr.")),
    ("John Smith Jr.", ("", "John", "Smith", "Jr.")),
    ("John Smith jr", ("", "John", "Smith", "jr")),
    ("John Smith Sr.", ("", "John", "Smith", "Sr.")),
    ("John Smith III", ("", "John", "Smith", "III")),
    ("Jane Smith MD", ("", "Jane", "Smith", "MD")),
    ("Jane Smith, M.D.", ("", "Jane", "Smith", "M.D.")),
    ("Jane Smith, Esq.", ("", "Jane", "Smith", "Esq.")),
    ("Jane Smith Ph.D.", ("", "Jane", "Smith", "Ph.D.")),
    ("Dr. Jane Smith-Jones, PhD, MD", ("Dr.", "Jane", "Smith-Jones", "PhD, MD")),
    # particles stay with the last name
    ("Anna van der Berg", ("", "Anna", "van der Berg", "")),
    ("Ludwig van Beethoven", ("", "Ludwig", "van Beethoven", "")),
    ("Wernher von Braun", ("", "Wernher", "von Braun", "")),
    ("Maria del Carmen", ("", "Maria", "del Carmen", "")),
    ("Leonardo da Vinci", ("", "Leonardo", "da Vinci", "")),
    ("Luca di Montezemolo", ("", "Luca", "di Montezemolo", "")),
    ("Mohammed bin Salman", ("", "Mohammed", "bin Salman", "")),
    ("Omar al-Rashid", ("", "Omar", "al-Rashid", "")),
    ("Karl-Heinz von der Leyen", ("", "Karl-Heinz", "von der Leyen", "")),
    ("José Ortega y Gasset", ("", "José", "Ortega y Gasset", "")),
    # "Last, First" (a middle name stays with the first name: Kindful has no middle name)
    ("Smith, Jane", ("", "Jane", "Smith", "")),
    ("Smith, Jane Q.", ("", "Jane Q.", "Smith", "")),
    ("de la Cruz, Juan", ("", "Juan", "de la Cruz", "")),
    ("King, Martin Luther, Jr.", ("", "Martin Luther", "King", "Jr.")),
    ("Smith, Dr. Jane", ("Dr.", "Jane", "Smith", "")),
    # hyphens, apostrophes, Mc/Mac: unchanged
    ("Mary-Kate Olsen", ("", "Mary-Kate", "Olsen", "")),
    ("Shaquille O'Neal", ("", "Shaquille", "O'Neal", "")),
    ("Jane O\u2019Neil", ("", "Jane", "O\u2019Neil", "")),
    ("Ronald McDonald", ("", "Ronald", "McDonald", "")),
    ("D'Angelo Russell", ("", "D'Angelo", "Russell", "")),
    # initials and double first names: everything before the last name is the first name
    ("J. R. R. Tolkien", ("", "J. R. R.", "Tolkien", "")),
    ("Jane A. Smith", ("", "Jane A.", "Smith", "")),
    ("Mary Ann Smith", ("", "Mary Ann", "Smith", "")),
    ("María José García López", ("", "María José García", "López", "")),
    # case and letters as written; spaces collapsed
    ("JANE SMITH", ("", "JANE", "SMITH", "")),
    ("jane smith", ("", "jane", "smith", "")),
    ("  Jane    Smith  ", ("", "Jane", "Smith", "")),
    ("Jane\tSmith", ("", "Jane", "Smith", "")),
    ("José Álvarez", ("", "José", "Álvarez", "")),
    ("Zoë Saldaña", ("", "Zoë", "Saldaña", "")),
    ("Björk Guðmundsdóttir", ("", "Björk", "Guðmundsdóttir", "")),
    # one word: the first name (as before); no name at all: blank
    ("Cher", ("", "Cher", "", "")),
    ("Dr.", ("", "", "", "")),
    ("Jr.", ("", "", "", "")),
    ("", ("", "", "", "")),
    ("   ", ("", "", "", "")),
    # a surname that is also an organization word, in a two-word name: a person
    ("Charlotte Church", ("", "Charlotte", "Church", "")),
]


def _blank(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)


@pytest.mark.parametrize(("full", "expected"), NAMES, ids=[n for n, _ in NAMES])
def test_names_as_people_write_them(full: str, expected: tuple[str, str, str, str]) -> None:
    parts = name_parts(pd.Series([full], dtype=object)).iloc[0]
    got = tuple(_blank(parts[c]) for c in ("title", "first", "last", "suffix"))
    assert got == expected
    assert _blank(parts["company"]) == _blank(parts["warning"]) == ""


def test_the_table_is_big_enough() -> None:
    assert len(NAMES) >= 40


ORGANIZATIONS = [
    "Acme Foundation Inc.",
    "Smith Family Trust",
    "First Baptist Church",
    "The Ford Foundation",
    "ABC Corp",
    "XYZ LLC",
    "Widgets, L.L.C.",
    "Smith & Sons",
    "Estate of John Smith",
    "United Way Fund",
    "Temple Beth El",
    "Springfield Garden Club",
]


@pytest.mark.parametrize("full", ORGANIZATIONS)
def test_an_organization_is_not_split_into_a_person(full: str) -> None:
    assert parse_name(full) == NameParts(company=full, warning=ORGANIZATION_WARNING)


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        # the first person, with the shared last name; a warning says so
        ("John and Jane Smith", ("", "John", "Smith")),
        ("John & Jane Smith", ("", "John", "Smith")),
        ("John Smith and Jane Doe", ("", "John", "Smith")),
        ("Smith, John and Jane", ("", "John", "Smith")),
        ("Dr. John and Jane Smith", ("Dr.", "John", "Smith")),
        ("Mr. and Mrs. John Smith", ("Mr. and Mrs.", "John", "Smith")),  # title as written
        ("Mr. & Mrs. Smith", ("Mr. & Mrs.", "", "Smith")),
    ],
)
def test_two_people_in_one_name_give_the_first_with_a_warning(
    full: str, expected: tuple[str, str, str]
) -> None:
    parts = parse_name(full)
    assert (parts.title, parts.first, parts.last) == expected
    assert parts.warning == COUPLE_WARNING


def test_blank_none_and_nan_stay_blank_and_the_index_is_kept() -> None:
    firsts, lasts = split_names(
        pd.Series([None, float("nan"), pd.NA, "", "Ada Lovelace"], index=[5, 6, 7, 8, 9])
    )
    assert list(firsts.index) == [5, 6, 7, 8, 9]
    assert firsts.isna().tolist() == lasts.isna().tolist() == [True, True, True, True, False]
    assert (firsts[9], lasts[9]) == ("Ada", "Lovelace")
    empty_first, empty_last = split_names(pd.Series([], dtype=object))
    assert empty_first.empty and empty_last.empty


def test_a_value_longer_than_a_name_column_is_not_parsed() -> None:
    long = "Jane " * 60 + "Smith"
    assert parse_name(long) == NameParts(first=long)


def test_each_distinct_value_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = rules.parse_name

    def counting(text: str) -> NameParts:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(rules, "parse_name", counting)
    values = pd.Series(["Dr. Jane Smith", "Juan de la Cruz", " Dr.  Jane Smith", None] * 5000)
    parts = name_parts(values)
    assert sorted(seen) == ["Dr. Jane Smith", "Juan de la Cruz"]  # trimmed, single-spaced
    assert parts["last"].value_counts().to_dict() == {"Smith": 10_000, "de la Cruz": 5000}


MAPPING = """
data_format: contact
columns: {Email: email}
split_name:
  Name: {first: first_name, last: last_name, title: title, company: company_name}
"""


def test_through_a_mapping_title_and_company_columns_and_warnings() -> None:
    mapping = parse_mapping_text(MAPPING, "m")
    frame = pd.DataFrame(
        {
            "Name": ["Dr. Jane Smith", "Acme Foundation Inc.", "John and Jane Doe", "Cher"],
            "Email": ["j@example.org", "a@example.org", "d@example.org", "c@example.org"],
        }
    )
    mapped = apply_mapping(frame, CONTACT, mapping)
    assert list(mapped.frame.columns) == [
        "email",
        "first_name",
        "last_name",
        "title",
        "company_name",
    ]
    assert column_sources(mapping)["company_name"] == "Name (full name: an organization's name)"
    result = prepare_chunk(frame, mapping, resolve_options("contact", mapping))
    accepted = result.accepted.fillna("")
    columns = ["title", "first_name", "last_name", "company_name"]
    assert accepted[columns].values.tolist() == [
        ["Dr.", "Jane", "Smith", ""],
        ["", "", "", "Acme Foundation Inc."],
        ["", "John", "Doe", ""],
    ]
    assert result.rejects["source_row"].tolist() == [4]  # "Cher": no last name, as before
    assert result.warnings[["source_row", "column", "value", "reason"]].values.tolist() == [
        [3, "Name", "John and Jane Doe", COUPLE_WARNING]
    ]


def test_without_a_company_column_an_organization_is_a_warning_not_a_split() -> None:
    mapping = parse_mapping_text(
        "data_format: contact\nsplit_name: {Name: {first: first_name, last: last_name}}\n", "m"
    )
    frame = pd.DataFrame({"Name": ["ABC Corp", "Jane Smith", "Dr. Jane Smith"]})
    mapped = apply_mapping(frame, CONTACT, mapping)
    assert list(mapped.frame.columns) == ["first_name", "last_name"]  # no title: dropped
    assert mapped.frame.fillna("").values.tolist() == [
        ["", ""],
        ["Jane", "Smith"],
        ["Jane", "Smith"],
    ]
    assert mapped.warnings.values.tolist() == [[1, "Name", "ABC Corp", ORGANIZATION_WARNING]]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{first: first_name, last: last_name, suffix: x}", "unknown key(s) suffix"),
        ("{first: first_name, last: last_name, middle: x}", "unknown key(s) middle"),
        ("{first: first_name, last: last_name, title: [x]}", "must be a text value"),
    ],
)
def test_only_the_name_columns_kindful_has_can_be_named(rule: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_mapping_text(f"data_format: contact\nsplit_name: {{Name: {rule}}}\n", "m")


def test_a_title_target_must_be_a_column_of_the_format() -> None:
    mapping = parse_mapping_text(
        "data_format: contact\n"
        "split_name: {Name: {first: first_name, last: last_name, title: prefix}}\n",
        "m",
    )
    with pytest.raises(InputError, match="not in contact: prefix"):
        apply_mapping(pd.DataFrame({"Name": ["A B"]}), CONTACT, mapping)


@pytest.mark.slow  # CLI subprocesses: ~5-30 s
def test_validate_cli_writes_the_split_names(tmp_path: Path) -> None:
    source = tmp_path / "donors.csv"
    pd.DataFrame(
        {
            "Name": [
                "Jane Smith, PhD",
                "Dr. Jane Smith",
                "Juan de la Cruz",
                "Smith, Jane Q.",
                "The Ford Foundation",
                "John and Jane Doe",
            ],
            "Email": [f"d{i}@example.org" for i in range(6)],
        }
    ).to_csv(source, index=False)
    mapping = tmp_path / "names.mapping.yaml"
    mapping.write_text(MAPPING)
    out = tmp_path / "out"
    result = subprocess.run(
        [*CLI, "validate", str(source), "--mapping", str(mapping), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    normalized = pd.read_csv(out / "normalized.csv", dtype=str, keep_default_na=False)
    columns = ["title", "first_name", "last_name", "company_name"]
    assert normalized[columns].values.tolist() == [
        ["", "Jane", "Smith", ""],
        ["Dr.", "Jane", "Smith", ""],
        ["", "Juan", "de la Cruz", ""],
        ["", "Jane Q.", "Smith", ""],
        ["", "", "", "The Ford Foundation"],
        ["", "John", "Doe", ""],
    ]
    warnings = pd.read_csv(out / "warnings.csv", dtype=str, keep_default_na=False)
    assert warnings[["source_row", "column", "reason"]].values.tolist() == [
        ["6", "Name", COUPLE_WARNING]
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["rows_accepted"], summary["rows_rejected"], summary["warnings"]) == (6, 0, 1)

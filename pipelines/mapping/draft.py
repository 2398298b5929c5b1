"""A suggested mapping that a notebook edits in memory, then saves or hands to a run.

`pipelines.api.suggest_mapping` returns one. Its YAML document is plain Python data, edited in
place:

    m.columns["Frist Name"] = "first_name"          # map a column (or {"to": ..., "unit": ...})
    del m.columns["billing_phone"]                  # stop mapping one
    m.constants["campaign"] = "Spring appeal"       # a value for every row
    m.custom_fields.append("T-shirt size")          # sent as a custom field
    m.document["skip"] = []                         # any other key of the mapping file

`m.mapping` parses and checks the document each time it is read (InputError, one line, on a
bad edit), so a run always uses the current edits. `m.to_yaml()` is the suggestion as written,
comments included, until something is edited; after an edit it is the document written out
again, without the suggestion's comments (YAML libraries do not keep them). `m.save(path)`
writes that text; loading the file gives the same mapping when the file is named
`<m.name>.mapping.yaml` (a mapping's name is the source system of derived ids when it sets no
`source_system`, and the `mapping` summary.json names).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, cast

import yaml

from pipelines.mapping.spec import Mapping, parse_mapping, parse_mapping_text
from pipelines.mapping.suggest import Hint, SuggestedMapping

__all__ = ["MappingDraft", "mapping_name"]


def mapping_name(source_name: str) -> str:
    """The name a mapping suggested for `source_name` (a display name: no query) gets, the
    file's name without its suffixes: `exports/classy_transactions.csv.gz` -> `classy_transactions`.
    """
    name = PurePosixPath(source_name).name.removesuffix(".gz")
    return PurePosixPath(name).stem or "mapping"


def _meaningful(document: dict[str, Any]) -> dict[str, Any]:
    """The document without empty sections (`columns: {}` says what no `columns` says)."""
    return {k: v for k, v in document.items() if v not in (None, {}, [])}


@dataclass(eq=False)
class MappingDraft:
    """A mapping as YAML data to edit: `columns`, `constants`, `custom_fields`, `document`."""

    name: str
    document: dict[str, Any] = field(repr=False)
    text: str = field(repr=False)  # the suggestion as written, comments included
    preset: str | None = None  # the shipped preset it started from, if any
    hints: tuple[Hint, ...] = field(default=(), repr=False)  # "did you mean" headers
    _original: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_suggestion(cls, suggested: SuggestedMapping, name: str) -> MappingDraft:
        parse_mapping_text(suggested.text, name)  # the same checks as a file's
        document = yaml.safe_load(suggested.text) or {}
        return cls(
            name=name,
            document=document,
            text=suggested.text,
            preset=suggested.preset.name if suggested.preset else None,
            hints=suggested.hints,
            _original=copy.deepcopy(document),
        )

    def _section(self, key: str, empty: dict[str, Any] | list[Any]) -> Any:
        if not isinstance(self.document.get(key), type(empty)):
            self.document[key] = empty
        return self.document[key]

    @property
    def columns(self) -> dict[str, Any]:
        """Source column -> Kindful column (or `{"to": column, "unit": "dollars"}`), editable."""
        return cast(dict[str, Any], self._section("columns", {}))

    @property
    def constants(self) -> dict[str, Any]:
        """Kindful column -> the value every row gets, editable."""
        return cast(dict[str, Any], self._section("constants", {}))

    @property
    def custom_fields(self) -> list[str]:
        """Source columns sent as custom fields, editable."""
        return cast(list[str], self._section("custom_fields", []))

    @property
    def edited(self) -> bool:
        """Whether the document differs from the suggestion."""
        return _meaningful(self.document) != _meaningful(self._original)

    @property
    def mapping(self) -> Mapping:
        """The mapping the document says now, parsed and checked as a mapping file is."""
        return parse_mapping(copy.deepcopy(self.document), self.name)

    def to_yaml(self) -> str:
        """The mapping file's text: the suggestion's own until edited, else the edited document."""
        if not self.edited:
            return self.text
        self.mapping  # noqa: B018 - refuse to write a mapping no run would load
        body = yaml.safe_dump(
            self.document, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=None
        )
        return f"# {self.name}: a suggested mapping, edited (its comments are not kept).\n" + body

    def save(self, path: str | Path) -> Path:
        """Write `to_yaml()` to `path` (replacing it); returns the path."""
        target = Path(path)
        target.write_text(self.to_yaml(), encoding="utf-8")
        return target

    def __str__(self) -> str:
        return self.to_yaml()

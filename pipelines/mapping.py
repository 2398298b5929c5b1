"""Source columns -> Kindful columns, from a YAML mapping file or by name.

A mapping names the format and the source system, maps each source column to a Kindful column
(optionally declaring the unit of a money column), adds constants, and lists custom fields.
Without a mapping, columns already named as Kindful's pass straight through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from pipelines.errors import InputError
from schemas.columns import FORMATS, ImportFormat, Kind

Unit = Literal["dollars", "cents"]
ACTIONS = ("create", "update")


@dataclass(frozen=True)
class ColumnMap:
    source: str
    target: str
    unit: Unit | None = None


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file; every field but `columns` is optional."""

    name: str
    data_format: str | None = None
    source_system: str | None = None
    action: str | None = None
    match_by: dict[str, str] = field(default_factory=dict)
    source_timezone: str | None = None
    day_first: bool | None = None
    columns: tuple[ColumnMap, ...] = ()
    constants: dict[str, str] = field(default_factory=dict)
    custom_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class MappedFrame:
    """The frame renamed to Kindful columns, with what the mapping decided about it."""

    frame: pd.DataFrame
    units: dict[str, Unit]
    custom_fields: tuple[str, ...]
    ignored_columns: tuple[str, ...]


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise InputError(f"mapping: {where} must be a text value")
    return str(value)


def _parse_column(source: str, spec: Any) -> ColumnMap:
    if isinstance(spec, dict):
        unknown = set(spec) - {"to", "unit"}
        if unknown or "to" not in spec:
            raise InputError(
                f"mapping: column {source!r} needs {{to: COLUMN, unit: dollars|cents}}"
            )
        unit = spec.get("unit")
        if unit not in (None, "dollars", "cents"):
            raise InputError(f"mapping: column {source!r} has unit {unit!r}; use dollars or cents")
        return ColumnMap(source, _text(spec["to"], f"columns.{source}.to"), unit)
    return ColumnMap(source, _text(spec, f"columns.{source}"))


def load_mapping(path: str | Path) -> Mapping:
    """Parse and check a mapping file; raise InputError with one line on any problem."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"mapping file not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"mapping file {path.name} is not valid YAML: {first}") from None
    if not isinstance(document, dict):
        raise InputError(f"mapping file {path.name} must be a YAML mapping")
    known = {
        "data_format", "source_system", "action", "match_by", "source_timezone",
        "day_first", "columns", "constants", "custom_fields",
    }  # fmt: skip
    unknown = sorted(set(document) - known)
    if unknown:
        raise InputError(f"mapping file {path.name}: unknown key(s) {', '.join(unknown)}")
    columns = document.get("columns") or {}
    constants = document.get("constants") or {}
    match_by = document.get("match_by") or {}
    custom = document.get("custom_fields") or []
    if not isinstance(columns, dict) or not isinstance(constants, dict):
        raise InputError(f"mapping file {path.name}: columns and constants must be mappings")
    if not isinstance(match_by, dict) or not isinstance(custom, list):
        raise InputError(f"mapping file {path.name}: match_by is a mapping, custom_fields a list")
    action = document.get("action")
    if action is not None and action not in ACTIONS:
        raise InputError(f"mapping file {path.name}: action must be create or update")
    day_first = document.get("day_first")
    if day_first is not None and not isinstance(day_first, bool):
        raise InputError(f"mapping file {path.name}: day_first must be true or false")
    return Mapping(
        name=path.stem.removesuffix(".mapping"),
        data_format=document.get("data_format"),
        source_system=document.get("source_system"),
        action=action,
        match_by={str(k): _text(v, f"match_by.{k}") for k, v in match_by.items()},
        source_timezone=document.get("source_timezone"),
        day_first=day_first,
        columns=tuple(_parse_column(str(s), spec) for s, spec in columns.items()),
        constants={str(k): _text(v, f"constants.{k}") for k, v in constants.items()},
        custom_fields=tuple(_text(c, "custom_fields") for c in custom),
    )


def _loose(name: str) -> str:
    """Header spelling that still counts as the Kindful name: case, spaces and dashes."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def check_mapping(mapping: Mapping, fmt: ImportFormat) -> None:
    """Refuse mappings that target columns the format does not have."""
    targets = [c.target for c in mapping.columns] + list(mapping.constants)
    unknown = sorted({t for t in targets if fmt.column(t) is None})
    if unknown:
        raise InputError(f"mapping targets column(s) not in {fmt.name}: {', '.join(unknown)}")
    seen: set[str] = set()
    for target in targets:
        if target in seen:
            raise InputError(f"mapping sets column {target} more than once")
        seen.add(target)
    for column_map in mapping.columns:
        column = fmt.column(column_map.target)
        if column_map.unit and (column is None or column.kind is not Kind.CENTS):
            raise InputError(f"mapping gives a unit to {column_map.target}, which is not money")


def apply_mapping(
    frame: pd.DataFrame,
    fmt: ImportFormat,
    mapping: Mapping | None,
    custom_fields: tuple[str, ...] = (),
) -> MappedFrame:
    """Rename to Kindful columns, add constants, keep custom fields, list what was ignored."""
    custom = custom_fields  # already merged with the mapping's (`resolve_options`)
    missing_custom = [c for c in custom if c not in frame.columns]
    if missing_custom:
        raise InputError(f"custom field column(s) not in the file: {', '.join(missing_custom)}")
    renames: dict[str, str] = {}
    units: dict[str, Unit] = {}
    if mapping is not None:
        check_mapping(mapping, fmt)
        absent = [c.source for c in mapping.columns if c.source not in frame.columns]
        if absent:
            raise InputError(f"mapped column(s) not in the file: {', '.join(absent)}")
        for column_map in mapping.columns:
            renames[column_map.source] = column_map.target
            if column_map.unit:
                units[column_map.target] = column_map.unit
    else:
        by_loose = {_loose(name): name for name in fmt.names}
        for source in frame.columns:
            target = by_loose.get(_loose(str(source)))
            if target is not None and source not in custom and target not in renames.values():
                renames[str(source)] = target
    kept = [*renames, *(c for c in custom if c not in renames)]
    ignored = tuple(str(c) for c in frame.columns if c not in kept)
    mapped = frame[kept].rename(columns=renames)
    for target, value in (mapping.constants if mapping else {}).items():
        mapped[target] = value
    return MappedFrame(mapped, units, custom, ignored)


def resolve_format(requested: str | None, mapping: Mapping | None) -> ImportFormat:
    """The run's format: the option, else the mapping's; they must agree when both are given."""
    from_mapping = mapping.data_format if mapping else None
    if requested and from_mapping and requested != from_mapping:
        raise InputError(f"--format {requested} disagrees with the mapping's {from_mapping}")
    name = requested or from_mapping
    if name is None:
        raise InputError("no import format: pass --format or set data_format in the mapping")
    if name not in FORMATS:
        raise InputError(f"unknown format {name!r}; one of: {', '.join(FORMATS)}")
    return FORMATS[name]

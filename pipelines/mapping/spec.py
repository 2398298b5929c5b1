"""Source columns -> Kindful columns, from a YAML mapping file or by name.

A mapping names the format and the source system, maps each source column to a Kindful column
(optionally declaring the unit of a money column, or to several columns at once), adds
constants, and lists custom fields. Payment exports also need row rules (`skip`, `split_name`,
`combine_time`, `flags`; see `mapping_transforms`). `decimal: ","` says amounts are written with
a decimal comma ("1.234,56"). Without a mapping, or with one that maps no column (only options
such as data_format and source_system), columns already named as Kindful's pass straight through.
"""

from __future__ import annotations

import os
import re
import stat
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from pipelines.errors import InputError
from pipelines.mapping.rules import (
    ISSUE_COLUMNS,
    CombineTime,
    Flag,
    SkipRule,
    SplitName,
    combine_time,
    flag_values,
    label,
    parse_combine_time,
    parse_flags,
    parse_skip,
    parse_split_name,
    skip_rows,
    split_name_columns,
    text_value,
)
from pipelines.normalize.money import DECIMAL_MARKS, DecimalMark
from pipelines.read.limits import Limits, human_bytes
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
    decimal: DecimalMark = "."  # the decimal mark of amounts: "30,00" with ","
    columns: tuple[ColumnMap, ...] = ()
    constants: dict[str, str] = field(default_factory=dict)
    custom_fields: tuple[str, ...] = ()
    split_name: tuple[SplitName, ...] = ()
    combine_time: tuple[CombineTime, ...] = ()
    flags: tuple[Flag, ...] = ()
    skip: tuple[SkipRule, ...] = ()

    @property
    def source_columns(self) -> tuple[str, ...]:
        """Every source column the mapping reads, once each, in the order it names them."""
        names = [c.source for c in self.columns]
        names += [s.source for s in self.split_name]
        names += [c for rule in self.combine_time for c in rule.sources]
        names += [f.column for f in self.flags] + [r.column for r in self.skip]
        return tuple(dict.fromkeys(names))

    @property
    def maps_columns(self) -> bool:
        """Whether the mapping names any column's target (else it only sets options)."""
        return bool(self.columns or self.split_name or self.combine_time or self.flags)

    @property
    def targets(self) -> tuple[str, ...]:
        """Every Kindful column the mapping writes (a repeat is an error: `check_mapping`)."""
        return (
            *(c.target for c in self.columns),
            *(t for s in self.split_name for t in s.targets),
            *(r.target for r in self.combine_time),
            *(f.target for f in self.flags),
            *self.constants,
        )


@dataclass(frozen=True)
class MappedFrame:
    """The frame renamed to Kindful columns, with what the mapping decided about it.

    Rows a `skip` rule matched stay in `frame`, so every chunk yields the same columns whatever
    it skips; `skipped` holds their rejects, which stand in for any other problem of theirs.
    """

    frame: pd.DataFrame
    units: dict[str, Unit]
    custom_fields: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ISSUE_COLUMNS))
    # row-level warnings of the row rules (split_name: an organization, two people)
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ISSUE_COLUMNS))
    decimal: DecimalMark = "."  # the mapping's decimal mark, for normalize_frame's amounts


_text = text_value


def _parse_column(source: str, spec: Any) -> tuple[ColumnMap, ...]:
    """`src: target`, `src: {to: target, unit: dollars}` or `src: [target, other_target]`."""
    if isinstance(spec, list):
        if not spec:
            raise InputError(f"mapping: column {_shown(source)} maps to an empty list")
        return tuple(ColumnMap(source, _text(t, f"columns.{label(source)}")) for t in spec)
    return (_parse_one_column(source, spec),)


def _parse_one_column(source: str, spec: Any) -> ColumnMap:
    if isinstance(spec, dict):
        unknown = set(spec) - {"to", "unit"}
        if unknown or "to" not in spec:
            raise InputError(
                f"mapping: column {_shown(source)} needs {{to: COLUMN, unit: dollars|cents}}"
            )
        unit = spec.get("unit")
        if unit not in (None, "dollars", "cents"):
            raise InputError(
                f"mapping: column {_shown(source)} has unit {_shown(str(unit))}; "
                "use dollars or cents"
            )
        return ColumnMap(source, _text(spec["to"], f"columns.{label(source)}.to"), unit)
    return ColumnMap(source, _text(spec, f"columns.{label(source)}"))


def load_mapping(path: str | Path, limits: Limits | None = None) -> Mapping:
    """Parse and check a mapping file; raise InputError with one line on any problem.

    The file must be a regular file within `limits.mapping_bytes` (a FIFO would never end).
    """
    path = Path(path)
    limits = limits or Limits.from_env()
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"mapping file {path.name} is not a regular file")
        if info.st_size > limits.mapping_bytes:
            raise _too_big(path.name, limits)
        with path.open("rb") as handle:
            raw = handle.read(limits.mapping_bytes + 1)
        if len(raw) > limits.mapping_bytes:
            raise _too_big(path.name, limits)
        text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"mapping file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        first = _first_line(error)
        raise InputError(f"mapping file {path.name} cannot be read: {first}") from None
    return parse_mapping_text(text, path.stem.removesuffix(".mapping"), path.name, limits)


def _too_big(shown: str, limits: Limits) -> InputError:
    return InputError(
        f"mapping file {shown} is larger than {human_bytes(limits.mapping_bytes)} "
        f"(limit {limits.setting('mapping_bytes')})"
    )


def _first_line(error: BaseException) -> str:
    """An exception's first line, cut short: YAML and OS errors may quote the input."""
    lines = str(error).splitlines()
    return label(lines[0]) if lines else type(error).__name__


def parse_mapping_text(
    text: str, name: str, shown: str | None = None, limits: Limits | None = None
) -> Mapping:
    """A mapping from YAML text (a file's, a preset's); `shown` names it in errors."""
    shown = shown or name
    limits = limits or Limits.from_env()
    if len(text) > limits.mapping_bytes:
        raise _too_big(shown, limits)
    try:
        document = _safe_load(text, shown, limits)
    except yaml.YAMLError as error:
        raise InputError(f"mapping file {shown} is not valid YAML: {_first_line(error)}") from None
    return parse_mapping(document, name, shown)


def _safe_load(text: str, shown: str, limits: Limits) -> Any:
    """`yaml.safe_load`, refusing a document that its aliases expand past the limits.

    safe_load shares an aliased node rather than copying it, so loading an alias bomb is
    cheap, but anything that walks or prints the result (a list-valued data_format in an
    error message) expands it: 469 bytes became 1.8 GB. The node tree is measured as if every
    alias were copied, stopping at the limit, before anything is built from it.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, shown, limits)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node, shown: str, limits: Limits) -> None:
    nodes = 0
    characters = 0
    todo: list[yaml.Node] = [root]
    while todo:
        node = todo.pop()
        nodes += 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                todo += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            todo += node.value
        else:
            characters += len(str(node.value))
        if nodes > limits.mapping_nodes or characters > limits.mapping_bytes:
            raise InputError(
                f"mapping file {shown} expands to more than {limits.mapping_nodes} YAML nodes "
                f"or {human_bytes(limits.mapping_bytes)} of text (aliases?; limits "
                f"{limits.setting('mapping_nodes')}, {limits.setting('mapping_bytes')})"
            )


_KEYS = {
    "data_format", "source_system", "action", "match_by", "source_timezone", "day_first",
    "decimal", "columns", "constants", "custom_fields", "split_name", "combine_time", "flags",
    "skip",
}  # fmt: skip


def parse_mapping(document: Any, name: str, shown: str | None = None) -> Mapping:
    """Check a loaded YAML document and turn it into a Mapping."""
    shown = shown or name
    if not isinstance(document, dict):
        raise InputError(f"mapping file {shown} must be a YAML mapping")
    unknown = sorted(label(k) for k in set(document) - _KEYS)
    if unknown:
        raise InputError(f"mapping file {shown}: unknown key(s) {', '.join(unknown[:10])}")
    columns = document.get("columns") or {}
    constants = document.get("constants") or {}
    match_by = document.get("match_by") or {}
    custom = document.get("custom_fields") or []
    if not isinstance(columns, dict) or not isinstance(constants, dict):
        raise InputError(f"mapping file {shown}: columns and constants must be mappings")
    if not isinstance(match_by, dict) or not isinstance(custom, list):
        raise InputError(f"mapping file {shown}: match_by is a mapping, custom_fields a list")
    action = document.get("action")
    if action is not None and action not in ACTIONS:
        raise InputError(f"mapping file {shown}: action must be create or update")
    day_first = document.get("day_first")
    if day_first is not None and not isinstance(day_first, bool):
        raise InputError(f"mapping file {shown}: day_first must be true or false")
    decimal = document.get("decimal")
    decimal = "." if decimal is None else decimal
    if decimal not in DECIMAL_MARKS:
        raise InputError(
            f'mapping file {shown}: decimal must be "." or "," (the decimal mark of amounts)'
        )
    return Mapping(
        name=name,
        data_format=_optional_text(document, "data_format"),
        source_system=_optional_text(document, "source_system"),
        action=action,
        match_by={
            _text(k, "match_by"): _text(v, f"match_by.{label(k)}") for k, v in match_by.items()
        },
        source_timezone=_timezone(_optional_text(document, "source_timezone")),
        day_first=day_first,
        decimal=decimal,
        columns=tuple(
            c for s, spec in columns.items() for c in _parse_column(_text(s, "columns"), spec)
        ),
        constants={
            _text(k, "constants"): _text(v, f"constants.{label(k)}") for k, v in constants.items()
        },
        custom_fields=tuple(_text(c, "custom_fields") for c in custom),
        split_name=parse_split_name(document.get("split_name")),
        combine_time=parse_combine_time(document.get("combine_time")),
        flags=parse_flags(document.get("flags")),
        skip=parse_skip(document.get("skip")),
    )


def _optional_text(document: dict[Any, Any], key: str) -> str | None:
    value = document.get(key)
    return None if value is None else _text(value, key)


def _timezone(name: str | None) -> str | None:
    """An IANA zone name, checked here so that no later message quotes a bad one whole."""
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
        raise InputError(
            f"mapping: unknown source_timezone {_shown(name)}; use an IANA name like "
            "America/Chicago"
        ) from None
    return name


def _shown(header: str, limit: int = 80) -> str:
    """A header as quoted in a message: repr keeps it on one line; long ones are cut."""
    return repr(header if len(header) <= limit else header[:limit] + "...")


def _loose(name: str) -> str:
    """Header spelling that still counts as the Kindful name: case, spaces and dashes."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def check_mapping(mapping: Mapping, fmt: ImportFormat) -> None:
    """Refuse mappings that target columns the format does not have, or the wrong kind."""
    targets = mapping.targets
    unknown = sorted({label(t) for t in targets if fmt.column(t) is None})
    if unknown:
        raise InputError(f"mapping targets column(s) not in {fmt.name}: {', '.join(unknown[:10])}")
    seen: set[str] = set()
    for target in targets:
        if target in seen:
            raise InputError(f"mapping sets column {label(target)} more than once")
        seen.add(target)
    for column_map in mapping.columns:
        column = fmt.column(column_map.target)
        if column_map.unit and (column is None or column.kind is not Kind.CENTS):
            raise InputError(f"mapping gives a unit to {column_map.target}, which is not money")
    for flag in mapping.flags:
        column = fmt.column(flag.target)
        if column is None or column.kind is not Kind.BOOLEAN:
            raise InputError(f"mapping flags {flag.target}, which is not a true/false column")
    for rule in mapping.combine_time:
        column = fmt.column(rule.target)
        if column is None or column.kind is not Kind.TIMESTAMP:
            raise InputError(f"mapping combines a time into {rule.target}, not a timestamp")


def column_sources(mapping: Mapping) -> dict[str, str]:
    """Kindful column -> where its value comes from, in words (for `mapping check`)."""
    sources: dict[str, str] = {}
    for column_map in mapping.columns:
        unit = f" (in {column_map.unit})" if column_map.unit else ""
        sources[column_map.target] = f"{column_map.source}{unit}"
    for split in mapping.split_name:
        sources[split.first] = f"{split.source} (full name: first name)"
        sources[split.last] = f"{split.source} (full name: last name)"
        if split.title is not None:
            sources[split.title] = f"{split.source} (full name: title)"
        if split.company is not None:
            sources[split.company] = f"{split.source} (full name: an organization's name)"
    for rule in mapping.combine_time:
        sources[rule.target] = " + ".join(rule.sources)
    for flag in mapping.flags:
        test = "> 0" if flag.positive else f"in {', '.join(flag.values)}"
        sources[flag.target] = f"{flag.column} ({test})"
    for name in mapping.constants:
        sources[name] = "constant"
    return sources


def apply_mapping(
    frame: pd.DataFrame,
    fmt: ImportFormat,
    mapping: Mapping | None,
    custom_fields: tuple[str, ...] = (),
) -> MappedFrame:
    """Rename to Kindful columns, apply the row rules, add constants, keep custom fields."""
    custom = custom_fields  # already merged with the mapping's (`resolve_options`)
    missing_custom = [c for c in custom if c not in frame.columns]
    if missing_custom:
        shown = ", ".join(label(c) for c in missing_custom[:10])
        raise InputError(f"custom field column(s) not in the file: {shown}")
    pairs: list[tuple[str, str]] = []  # (source, target)
    units: dict[str, Unit] = {}
    used: tuple[str, ...] = ()
    skipped = pd.DataFrame(columns=ISSUE_COLUMNS)
    if mapping is not None:
        check_mapping(mapping, fmt)
        used = mapping.source_columns
        absent = [c for c in used if c not in frame.columns]
        if absent:
            shown = ", ".join(label(c) for c in absent[:10])
            raise InputError(f"mapped column(s) not in the file: {shown}")
        if mapping.skip:
            _, skipped = skip_rows(frame, mapping.skip)
        for column_map in mapping.columns:
            pairs.append((column_map.source, column_map.target))
            if column_map.unit:
                units[column_map.target] = column_map.unit
    if mapping is None or not mapping.maps_columns:
        # No mapping, or one that only sets options: Kindful-named columns pass straight through.
        taken = set(mapping.targets if mapping else ())
        by_loose = {_loose(name): name for name in fmt.names}
        sources: dict[str, str] = {}  # target -> the one source column that names it
        for source in map(str, frame.columns):
            target = by_loose.get(_loose(source))
            if target is None or source in custom or target in taken:
                continue
            if target in sources:  # which one holds the data is the user's call, not ours
                raise InputError(
                    f"columns {_shown(sources[target])} and {_shown(source)} both name Kindful "
                    f"column {target}; rename or drop one, or map them with --mapping"
                )
            sources[target] = source
        pairs += [(source, target) for target, source in sources.items()]
        used = (*used, *sources.values())
    out: dict[str, pd.Series] = {target: frame[source] for source, target in pairs}
    warnings = pd.DataFrame(columns=ISSUE_COLUMNS)
    if mapping is not None:
        derived, warnings = _derived(frame, mapping)
        out.update(derived)
    renamed = {s for s, _ in pairs}
    for name in custom:
        if name not in renamed:
            out[name] = frame[name]
    kept = {*used, *custom}
    ignored = tuple(str(c) for c in frame.columns if c not in kept)
    mapped = pd.DataFrame(out, index=frame.index, copy=False)  # copy-on-write: shared safely
    for target, value in (mapping.constants if mapping else {}).items():
        mapped[target] = value
    decimal: DecimalMark = mapping.decimal if mapping else "."
    return MappedFrame(mapped, units, custom, ignored, skipped, warnings, decimal)


def _derived(frame: pd.DataFrame, mapping: Mapping) -> tuple[dict[str, pd.Series], pd.DataFrame]:
    """The columns the row rules make (split names, combined times, flags) and their warnings."""
    out: dict[str, pd.Series] = {}
    warnings: list[pd.DataFrame] = []
    for split in mapping.split_name:
        columns, found = split_name_columns(frame, split)
        out.update(columns)
        if not found.empty:
            warnings.append(found)
    for rule in mapping.combine_time:
        out[rule.target] = combine_time(frame, rule)
    for flag in mapping.flags:
        out[flag.target] = flag_values(frame, flag)
    if not warnings:
        return out, pd.DataFrame(columns=ISSUE_COLUMNS)
    return out, pd.concat(warnings, ignore_index=True)


def resolve_format(requested: str | None, mapping: Mapping | None) -> ImportFormat:
    """The run's format: the option, else the mapping's; they must agree when both are given."""
    from_mapping = mapping.data_format if mapping else None
    if requested and from_mapping and requested != from_mapping:
        raise InputError(
            f"--format {label(requested)} disagrees with the mapping's {label(from_mapping)}"
        )
    name = requested or from_mapping
    if name is None:
        raise InputError("no import format: pass --format or set data_format in the mapping")
    if not isinstance(name, str) or name not in FORMATS:
        raise InputError(f"unknown format {_shown(str(name))}; one of: {', '.join(FORMATS)}")
    return FORMATS[name]

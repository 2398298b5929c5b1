"""JSON lines: one object per line, its keys the columns in the order they are first seen.

Values are never coerced: numbers keep their written form ("1.10", "-0", "1e309") and nested
values stay compact JSON. A repeated key, more distinct keys than `json_keys` or a value longer
than `field_bytes` refuses the file.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from typing import Any, Final

import pandas as pd

from pipelines.read.errors import ExportError
from pipelines.read.frames import (
    _clean_name,
    _first_repeat,
    _records_frame,
    _rows_per_chunk,
    _shown,
)
from pipelines.read.limits import Limits, human_bytes


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _Verbatim(str):
    """JSON text kept exactly as the file wrote it: a number, NaN or Infinity ("1e309", "-0",
    "1.10"), or a piece of syntax while `_compact_json` writes a nested value back out."""

    __slots__ = ()


def _int_text(text: str) -> _Verbatim:
    """json's parse_int: the digits as written, refused past Python's own int() digit limit
    (as parsing them to an int did) so a runaway number is still an error, not a column."""
    limit = sys.get_int_max_str_digits()
    if limit and len(text) - text.startswith("-") > limit:
        raise ValueError("integer literal too long")
    return _Verbatim(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json object hook: a repeated key would otherwise silently keep only the last value."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        raise _DuplicateKeyError(_first_repeat(key for key, _ in pairs) or "")
    return obj


# One decoder for every line: json.loads with keyword arguments builds a new one per call.
_DECODER: Final = json.JSONDecoder(
    parse_float=_Verbatim,
    parse_int=_int_text,
    parse_constant=_Verbatim,
    object_pairs_hook=_unique_keys,
)


def _compact_json(value: object) -> str:
    """A nested value as compact JSON with its numbers as written (json.dumps would rewrite
    or quote them). Iterative, so nesting as deep as the parser took cannot overflow."""
    parts: list[str] = []
    todo: list[object] = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, _Verbatim):
            parts.append(item)
        elif isinstance(item, str):
            parts.append(json.dumps(item, ensure_ascii=False))
        elif item is None:
            parts.append("null")
        elif isinstance(item, bool):
            parts.append("true" if item else "false")
        elif isinstance(item, list):
            pieces: list[object] = [_Verbatim("[")]
            for i, element in enumerate(item):
                pieces.extend([_Verbatim(","), element] if i else [element])
            pieces.append(_Verbatim("]"))
            todo.extend(reversed(pieces))
        elif isinstance(item, dict):
            pieces = [_Verbatim("{")]
            for i, (key, element) in enumerate(item.items()):
                label = json.dumps(key, ensure_ascii=False) + ":"
                pieces.extend([_Verbatim(("," if i else "") + label), element])
            pieces.append(_Verbatim("}"))
            todo.extend(reversed(pieces))
        else:  # pragma: no cover - the decoder yields only the types above
            raise TypeError(type(item).__name__)
    return "".join(parts)


def _json_text(value: object) -> str | None:
    """A JSON value as cell text: numbers keep their written form, nested values stay JSON."""
    if value is None:
        return None
    if isinstance(value, _Verbatim):
        return str(value)  # a plain str, not the marker subclass
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _compact_json(value)


class _JsonColumns:
    """Column names of a JSON lines file in the order their keys are first seen.

    Each key is named once (a blank key's "Unnamed: N" is fixed where it first appears), so a
    first pass over the file and the reading pass name every key alike. Once `complete`, the
    set is the whole file's: a key it lacks means the file changed between the two passes.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.names: dict[str, None] = {}
        self._by_key: dict[str, str] = {}
        self.complete = False
        self.objects = 0
        self._last: tuple[tuple[str, ...], list[str]] = ((), [])

    def of(self, obj: dict[str, Any], lineno: int, name: str) -> list[str]:
        """The column of each key of one line's object, in the object's order (do not modify)."""
        self.objects += 1
        keys = tuple(obj)
        if keys == self._last[0]:  # lines mostly repeat the keys of the line before
            return self._last[1]
        columns: list[str] = []
        for key in obj:
            col = self._by_key.get(key)
            if col is None:
                if self.complete:
                    raise ExportError(f"cannot read {name}: the file changed while it was read")
                if len(self._by_key) >= self.limits.json_keys:
                    raise ExportError(
                        f"cannot read {name}: more than {self.limits.json_keys} distinct keys "
                        f"(line {lineno}; limit {self.limits.setting('json_keys')})"
                    )
                col = _clean_name(key, len(self.names))
                self._by_key[key] = col
                self.names.setdefault(col)
            columns.append(col)
        if len(set(columns)) < len(columns):  # two keys that differ only in junk or spaces
            repeated = _first_repeat(columns) or ""
            raise ExportError(
                f"cannot read {name}: line {lineno} repeats the key {_shown(repeated)}"
            )
        self._last = (keys, columns)
        return columns

    def check(self, name: str) -> None:
        """The file-level refusals once every line has been seen."""
        if not self.names:
            if self.objects:
                raise ExportError(f"cannot read {name}: no JSON object has any key (no columns)")
            raise ExportError(f"cannot read {name}: the file is empty (no JSON objects)")


def _json_objects(
    text: io.TextIOWrapper, name: str, limits: Limits
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; anything else is an ExportError."""
    for lineno, raw_line in enumerate(text, start=1):
        line = raw_line.strip()
        if not line:
            continue
        try:
            if line.startswith("\ufeff"):  # as json.loads says it; JSONDecoder does not check
                raise json.JSONDecodeError("Unexpected UTF-8 BOM", line, 0)
            obj, end = _DECODER.raw_decode(line)  # what decode() does, less its whitespace
            if end != len(line):  # placed where json.loads places it, past JSON whitespace
                rest = line[end:]
                end += len(rest) - len(rest.lstrip(" \t\n\r"))
                raise json.JSONDecodeError("Extra data", line, end)
        except _DuplicateKeyError as exc:
            raise ExportError(
                f"cannot read {name}: line {lineno} repeats the key {_shown(exc.key)}"
            ) from None
        except json.JSONDecodeError as exc:
            raise ExportError(
                f"cannot read {name}: invalid JSON on line {lineno} ({exc.msg}, column {exc.colno})"
            ) from None
        except (ValueError, RecursionError):  # an int past the digit limit, or nesting too deep
            raise ExportError(
                f"cannot read {name}: invalid JSON on line {lineno} "
                "(a number too long or nesting too deep)"
            ) from None
        if not isinstance(obj, dict):
            raise ExportError(f"cannot read {name}: line {lineno} is not a JSON object")
        if len(line) > limits.field_bytes:  # only a line this long can hold a value this long
            _check_json_values(obj, lineno, name, limits)
        yield lineno, obj


def _check_json_values(obj: dict[str, Any], lineno: int, name: str, limits: Limits) -> None:
    for value in obj.values():
        text = _json_text(value)
        if text is not None and len(text.encode()) > limits.field_bytes:
            raise ExportError(
                f"cannot read {name}: a value longer than {human_bytes(limits.field_bytes)} "
                f"(line {lineno}; limit {limits.setting('field_bytes')})"
            )


def _json_columns(text: io.TextIOWrapper, name: str, limits: Limits) -> _JsonColumns:
    """A first pass for chunked reading: the whole file's columns, holding only the keys.

    It checks every line as the reading pass does, so the first bad line is refused here with
    the same message a whole-file read gives.
    """
    columns = _JsonColumns(limits)
    for lineno, obj in _json_objects(text, name, limits):
        columns.of(obj, lineno, name)
    columns.check(name)
    columns.complete = True
    return columns


def _jsonl_frames(
    text: io.TextIOWrapper, name: str, chunk_rows: int | None, columns: _JsonColumns
) -> Iterator[pd.DataFrame]:
    """One object per line; columns are the union of keys in first-seen order (`columns`
    already holds them all when a first pass collected them)."""
    rows: list[dict[str, str | None]] = []
    start = 0

    def frame() -> pd.DataFrame:
        names = list(columns.names)
        lists = [[row.get(col) for col in names] for row in rows]
        return _records_frame(lists, names, start)

    per_chunk = _rows_per_chunk(chunk_rows, len(columns.names))
    for lineno, obj in _json_objects(text, name, columns.limits):
        keys = columns.of(obj, lineno, name)
        rows.append({col: _json_text(value) for col, value in zip(keys, obj.values(), strict=True)})
        if per_chunk is not None and len(rows) >= per_chunk:
            yield frame()
            start += len(rows)
            rows = []
    columns.check(name)
    if rows or start == 0:
        yield frame()

"""Row rules a mapping may declare beyond renaming: skip, split_name, combine_time, flags.

Payment exports need more than a rename: Stripe writes one "Card Name", PayPal splits a moment
into Date, Time and Time zone, refunds and failed payments sit among the gifts. These rules turn
such columns into Kindful's, on whole columns at once (pandas string methods, one lookup per
distinct time zone), never row by row. Parsing lives here too, so `mapping` stays a file format.

- `skip`: rows a rule matches become rejects ("skipped: REASON"); the first matching rule wins.
  Values compare trimmed and case-insensitively; a blank cell compares as "".
- `split_name`: one full name into first and last. No name parser is installed, so the rule is
  plain and documented: "Last, First Middle" (one comma) -> first "First Middle", last "Last";
  otherwise the last space-separated word is the last name and the rest the first name; a
  trailing Jr/Sr/II/III/IV stays with the last name ("Martin King, Jr." -> "Martin",
  "King Jr."); one word -> first name only; blank -> both blank (the row rule "first_name and
  last_name, or company_name" then rejects the row with its usual reason).
- `combine_time`: a date column, an optional time column and an optional zone column into one
  timestamp the timestamp normalizer reads ("2024-03-01 14:22:05-08:00"). Zone names are looked
  up in the rule's `zones` table (an abbreviation -> "+HH:MM" or an IANA name), else taken as an
  IANA name; anything else leaves the pieces joined as given, which the normalizer then refuses
  ("unparseable timestamp"), so a zone is never guessed.
- `flags`: a Kindful boolean from another column: `positive` (a dollar amount > 0, e.g. Stripe's
  "Amount Refunded") or `in` (one of some values, e.g. Classy status "refunded"); "true" or
  "false", blank -> "false"; an amount that does not parse is passed on as given, so the row is
  rejected (was_refunded: not a boolean) rather than imported as a guess.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipelines.errors import InputError
from pipelines.normalize.core import as_strings
from pipelines.normalize.money import normalize_dollars

ISSUE_COLUMNS = ["source_row", "column", "value", "reason"]
SKIP_PREFIX = "skipped: "
DEFAULT_DATE_FORMAT = "%m/%d/%Y"
_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")
_UTC_ZONES = {"UTC": "+00:00", "GMT": "+00:00", "Z": "+00:00"}
_SUFFIX = re.compile(r",?\s+((?:jr|sr|ii|iii|iv)\.?)$", re.IGNORECASE)
_HAS_SUFFIX = re.compile(r",?\s+(?:jr|sr|ii|iii|iv)\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class SkipRule:
    """Skip rows whose `column` is (or, with `negate`, is not) one of `values`."""

    column: str
    values: tuple[str, ...]  # casefolded and trimmed
    reason: str
    negate: bool = False


@dataclass(frozen=True)
class SplitName:
    """One full-name column into a first and a last name column."""

    source: str
    first: str
    last: str


@dataclass(frozen=True)
class CombineTime:
    """Date (+ time, + zone) columns into one timestamp column."""

    target: str
    date: str
    time: str | None = None
    zone: str | None = None
    date_format: str = DEFAULT_DATE_FORMAT
    zones: dict[str, str] = field(default_factory=dict)  # upper-case name -> offset or IANA

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(c for c in (self.date, self.time, self.zone) if c is not None)


@dataclass(frozen=True)
class Flag:
    """A boolean column that is "true" when `column` holds a positive amount or one of `values`."""

    target: str
    column: str
    positive: bool = False
    values: tuple[str, ...] = ()  # casefolded and trimmed


# --------------------------------------------------------------------------------------------
# parsing (from the YAML document; errors are one line)
# --------------------------------------------------------------------------------------------


_SHOWN_MAX = 60


def label(value: object) -> str:
    """A key or value as a message may quote it: one line, at most 60 characters, so an error
    never echoes a whole (possibly huge, possibly secret) value."""
    text = str(value)
    if len(text) > _SHOWN_MAX:
        text = text[:_SHOWN_MAX] + "..."
    return text if text.isprintable() else repr(text)[1:-1]


def text_value(value: Any, where: str) -> str:
    """A plain scalar (text or a number) as text. Lists, mappings, YAML's tagged values
    (`!!pairs`, `!!set`, `!!binary`, dates), booleans and null are refused: turned into text
    they would be nonsense, and an aliased list would be expanded into a huge string."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"mapping: {where} must be a text value")
    return str(value)


_text = text_value


def _values(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"mapping: {where} must be a non-empty list")
    return tuple(_text(v, where).strip().casefold() for v in value)


def _fields(spec: Any, where: str, allowed: set[str], needed: set[str]) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise InputError(f"mapping: {where} must be a mapping with {', '.join(sorted(needed))}")
    unknown = sorted(label(k) for k in set(spec) - allowed)
    if unknown:
        raise InputError(f"mapping: {where} has unknown key(s) {', '.join(unknown[:10])}")
    missing = sorted(needed - set(spec))
    if missing:
        raise InputError(f"mapping: {where} needs {', '.join(missing)}")
    return spec


def parse_skip(document: Any) -> tuple[SkipRule, ...]:
    """`skip: [{column: Status, in: [failed], reason: payment failed}, ...]` (or `not_in`)."""
    if document is None:
        return ()
    if not isinstance(document, list):
        raise InputError("mapping: skip must be a list of {column, in|not_in, reason}")
    rules = []
    for number, raw in enumerate(document, 1):
        where = f"skip rule {number}"
        spec = _fields(raw, where, {"column", "in", "not_in", "reason"}, {"column", "reason"})
        if ("in" in spec) == ("not_in" in spec):
            raise InputError(f"mapping: {where} needs exactly one of in, not_in")
        negate = "not_in" in spec
        rules.append(
            SkipRule(
                column=_text(spec["column"], f"{where} column"),
                values=_values(spec["not_in" if negate else "in"], where),
                reason=_text(spec["reason"], f"{where} reason"),
                negate=negate,
            )
        )
    return tuple(rules)


def parse_split_name(document: Any) -> tuple[SplitName, ...]:
    """`split_name: {"Card Name": {first: first_name, last: last_name}}`."""
    if document is None:
        return ()
    if not isinstance(document, dict):
        raise InputError("mapping: split_name must map a column to {first: ..., last: ...}")
    splits = []
    for source, raw in document.items():
        where = f"split_name.{label(source)}"
        spec = _fields(raw, where, {"first", "last"}, {"first", "last"})
        splits.append(
            SplitName(_text(source, where), _text(spec["first"], where), _text(spec["last"], where))
        )
    return tuple(splits)


def _zone_value(name: str, value: Any) -> str:
    text = _text(value, f"combine_time zones.{label(name)}").strip()
    if _OFFSET.fullmatch(text):
        return text
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"mapping: combine_time zone {label(name)} must be an offset like -08:00 "
            "or an IANA name"
        ) from None
    return text


def _date_format(text: str, where: str) -> str:
    """A strftime format that reads back a whole date (year, month and day), or InputError."""
    probe = dt.date(2024, 1, 31)
    try:
        written = probe.strftime(text)
        read = pd.to_datetime(pd.Series([written]), format=text, errors="coerce")
    except ValueError:
        read = pd.Series([pd.NaT])
    if "%" not in text or pd.isna(read[0]) or read[0].date() != probe:
        raise InputError(
            f"mapping: {where}.date_format must be a strftime date format like %m/%d/%Y"
        )
    return text


def parse_combine_time(document: Any) -> tuple[CombineTime, ...]:
    """`combine_time: {transaction_time: {date: Date, time: Time, zone: Time zone, ...}}`."""
    if document is None:
        return ()
    if not isinstance(document, dict):
        raise InputError("mapping: combine_time must map a column to {date, time, zone, ...}")
    rules = []
    for target, raw in document.items():
        where = f"combine_time.{label(target)}"
        allowed = {"date", "time", "zone", "date_format", "zones"}
        spec = _fields(raw, where, allowed, {"date"})
        zones = spec.get("zones") or {}
        if not isinstance(zones, dict):
            raise InputError(f"mapping: {where}.zones must map zone names to offsets")
        date_format = _date_format(
            _text(spec.get("date_format", DEFAULT_DATE_FORMAT), where), where
        )
        rules.append(
            CombineTime(
                target=_text(target, where),
                date=_text(spec["date"], where),
                time=_text(spec["time"], where) if spec.get("time") is not None else None,
                zone=_text(spec["zone"], where) if spec.get("zone") is not None else None,
                date_format=date_format,
                zones={
                    _text(k, f"{where}.zones").strip().upper(): _zone_value(str(k), v)
                    for k, v in zones.items()
                },
            )
        )
    return tuple(rules)


def parse_flags(document: Any) -> tuple[Flag, ...]:
    """`flags: {was_refunded: {column: Amount Refunded, positive: true}}` (or `in: [...]`)."""
    if document is None:
        return ()
    if not isinstance(document, dict):
        raise InputError("mapping: flags must map a column to {column, positive|in}")
    flags = []
    for target, raw in document.items():
        where = f"flags.{label(target)}"
        spec = _fields(raw, where, {"column", "positive", "in"}, {"column"})
        positive = spec.get("positive", False)
        if not isinstance(positive, bool) or positive == ("in" in spec):
            raise InputError(f"mapping: {where} needs exactly one of positive: true, in: [...]")
        values = () if positive else _values(spec["in"], where)
        flags.append(Flag(_text(target, where), _text(spec["column"], where), positive, values))
    return tuple(flags)


# --------------------------------------------------------------------------------------------
# applying (whole columns)
# --------------------------------------------------------------------------------------------


def _keys(values: pd.Series) -> pd.Series:
    """Cells as comparison keys: trimmed, casefolded, blank as ""."""
    return as_strings(values).str.strip().str.casefold().fillna("")


def skip_rows(frame: pd.DataFrame, rules: Iterable[SkipRule]) -> tuple[pd.Series, pd.DataFrame]:
    """(mask of skipped rows, one reject per skipped row), the first matching rule giving it."""
    skipped = pd.Series(False, index=frame.index, dtype=bool)
    issues = []
    for rule in rules:
        hit = _keys(frame[rule.column]).isin(rule.values)
        if rule.negate:
            hit = ~hit
        hit &= ~skipped
        if hit.any():
            rows = frame.index[hit.to_numpy(dtype=bool)]
            issues.append(
                pd.DataFrame(
                    {
                        "source_row": rows + 1,
                        "column": rule.column,
                        "value": frame.loc[rows, rule.column].tolist(),
                        "reason": SKIP_PREFIX + rule.reason,
                    },
                    columns=ISSUE_COLUMNS,
                )
            )
            skipped |= hit
    if not issues:
        return skipped, pd.DataFrame(columns=ISSUE_COLUMNS)
    rejects = pd.concat(issues, ignore_index=True)
    return skipped, rejects.sort_values("source_row", kind="stable", ignore_index=True)


def split_names(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(first, last) names by the rule in the module docstring; NA where there is none."""
    if values.empty:
        return pd.Series(index=values.index, dtype=object), pd.Series(
            index=values.index, dtype=object
        )
    # Blank as "" so the partitions below always have three columns (NA rows would not).
    text = as_strings(values).fillna("").str.strip().str.replace(r"\s+", " ", regex=True)
    suffix = pd.Series("", index=text.index, dtype="str")
    has_suffix = text.str.contains(_HAS_SUFFIX).fillna(False).astype(bool)
    if has_suffix.any():
        found = text[has_suffix].str.extract(_SUFFIX)[0]
        suffix[has_suffix] = " " + found
        text[has_suffix] = text[has_suffix].str.replace(_SUFFIX, "", regex=True)
    inverted = text.str.contains(",", regex=False).fillna(False).astype(bool)
    by_space = text.str.rpartition(" ")
    first, last = by_space[0], by_space[2]
    if inverted.any():
        by_comma = text[inverted].str.partition(",")
        first[inverted] = by_comma[2]
        last[inverted] = by_comma[0]
    one_word = (first.str.strip() == "") & ~inverted
    first = first.where(~one_word, last)
    last = last.where(~one_word, "")
    last = last.str.strip(" ,") + suffix
    first = first.str.strip(" ,")
    return _blank_to_na(first), _blank_to_na(last)


def _blank_to_na(values: pd.Series) -> pd.Series:
    stripped = values.str.strip()
    return stripped.where(stripped.str.len() > 0)


def combine_time(frame: pd.DataFrame, rule: CombineTime) -> pd.Series:
    """One timestamp text per row from the rule's date, time and zone columns."""
    index = frame.index
    date = as_strings(frame[rule.date]).str.strip().fillna("")
    clock = _column_or_blank(frame, rule.time, index)
    zone = _column_or_blank(frame, rule.zone, index)
    as_given = (date + " " + clock + " " + zone).str.strip().str.replace(r"\s+", " ", regex=True)
    days = pd.to_datetime(date, format=rule.date_format, errors="coerce")
    local = days.dt.strftime("%Y-%m-%d") + " " + clock.where(clock != "", "00:00:00")
    resolved = zone.str.upper().map({**_UTC_ZONES, **rule.zones})
    resolved = resolved.where(resolved.notna(), zone.where(zone != ""))  # an IANA name itself
    out = local.where(resolved.isna(), as_given)  # no zone: wall-clock in source_timezone
    offsets = resolved.str.fullmatch(_OFFSET.pattern).fillna(False).astype(bool)
    out[offsets] = local[offsets] + resolved[offsets]
    for name in resolved[resolved.notna() & ~offsets].unique():
        rows = (resolved == name).to_numpy(dtype=bool)
        out[rows] = _in_zone(local[rows], str(name), as_given[rows])
    return out.where(days.notna(), as_given).where(as_given != "")


def _column_or_blank(frame: pd.DataFrame, column: str | None, index: pd.Index) -> pd.Series:
    if column is None:
        return pd.Series("", index=index, dtype="str")
    return as_strings(frame[column]).str.strip().fillna("")


def _in_zone(local: pd.Series, zone: str, as_given: pd.Series) -> pd.Series:
    """Wall-clock times in IANA `zone` with their offset; an unknown zone leaves them as given."""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return as_given
    stamps = pd.to_datetime(local, format="ISO8601", errors="coerce")
    aware = stamps.dt.tz_localize(
        zone,
        ambiguous=np.ones(len(stamps), dtype=bool),  # the earlier (DST) reading, as elsewhere
        nonexistent="shift_forward",
    )
    return aware.dt.strftime("%Y-%m-%d %H:%M:%S%z").where(stamps.notna(), as_given)


def flag_values(frame: pd.DataFrame, rule: Flag) -> pd.Series:
    """ "true"/"false" per row; an amount that does not parse is passed on as given."""
    raw = as_strings(frame[rule.column]).str.strip()
    if rule.positive:
        cents = normalize_dollars(raw)
        amounts = pd.to_numeric(cents.values, errors="coerce")
        out = pd.Series(np.where(amounts > 0, "true", "false"), index=raw.index, dtype=object)
        unparsed = cents.problems.notna().to_numpy(dtype=bool)
        out[unparsed] = raw[unparsed].to_numpy()
        return out
    hit = _keys(raw).isin(rule.values).to_numpy(dtype=bool)
    return pd.Series(np.where(hit, "true", "false"), index=raw.index, dtype=object)

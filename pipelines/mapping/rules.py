"""Row rules a mapping may declare beyond renaming: skip, split_name, combine_time, flags.

Payment exports need more than a rename: Stripe writes one "Card Name", PayPal splits a moment
into Date, Time and Time zone, refunds and failed payments sit among the gifts. These rules turn
such columns into Kindful's, on whole columns at once (pandas string methods, one lookup per
distinct time zone), never row by row. Parsing lives here too, so `mapping` stays a file format.

- `skip`: rows a rule matches become rejects ("skipped: REASON"); the first matching rule wins.
  Values compare trimmed and case-insensitively; a blank cell compares as "".
- `split_name`: one full name into Kindful's name columns, read by `nameparser` (HumanName), each
  distinct value once. `{first: first_name, last: last_name}`, optionally `title: title` (Kindful's
  "Mr."/"Dr." column) and `company: company_name`. Titles ("Dr.", "Rev. Dr.") go to the title
  column if named, else are dropped; suffixes (Jr., III, PhD, MD, Esq.) are dropped (Kindful has
  no suffix column); Kindful has no middle-name column either, so a middle name or initial stays
  with the first name ("J. R. R." / "Tolkien", "Mary Ann" / "Smith"); particles stay with the
  last name ("de la Cruz", "van der Berg"); "Last, First Middle" works. Case and letters are kept
  as written. One word -> first name only (as before nameparser); a title and one word ("Mr.
  Smith") -> last name only; no name at all ("", "Dr.", "Jr.") -> all blank. A blank first or
  last name lets the row rule "first_name and last_name, or company_name" reject the row.
  An organization (a word of `ORGANIZATION_WORDS` such as Inc, LLC, Foundation, Trust, Church,
  Association or Fund) is never split into a person: first and last stay blank and the whole
  name goes to `company` if the rule names it, else the row gets a warning. Two people in one
  name ("John and Jane Smith", "Mr. and Mrs. John Smith") give the first person (John / Smith)
  and a warning. A value over 255 characters is not parsed: it goes to the first name as given.
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
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from nameparser import HumanName

from pipelines.errors import InputError
from pipelines.normalize.core import as_strings, distinct
from pipelines.normalize.money import normalize_dollars

ISSUE_COLUMNS = ["source_row", "column", "value", "reason"]
SKIP_PREFIX = "skipped: "
DEFAULT_DATE_FORMAT = "%m/%d/%Y"
_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")
_UTC_ZONES = {"UTC": "+00:00", "GMT": "+00:00", "Z": "+00:00"}


@dataclass(frozen=True)
class SkipRule:
    """Skip rows whose `column` is (or, with `negate`, is not) one of `values`."""

    column: str
    values: tuple[str, ...]  # casefolded and trimmed
    reason: str
    negate: bool = False


@dataclass(frozen=True)
class SplitName:
    """One full-name column into first and last name (and title, company) columns."""

    source: str
    first: str
    last: str
    title: str | None = None
    company: str | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        """The Kindful columns the rule writes, first and last first."""
        named = (self.first, self.last, self.title, self.company)
        return tuple(t for t in named if t is not None)


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
    """`split_name: {"Card Name": {first: first_name, last: last_name, title: title,
    company: company_name}}` (title and company optional)."""
    if document is None:
        return ()
    if not isinstance(document, dict):
        raise InputError("mapping: split_name must map a column to {first: ..., last: ...}")
    splits = []
    for source, raw in document.items():
        where = f"split_name.{label(source)}"
        spec = _fields(raw, where, {"first", "last", "title", "company"}, {"first", "last"})
        title, company = (
            _text(spec[key], where) if spec.get(key) is not None else None
            for key in ("title", "company")
        )
        splits.append(
            SplitName(
                _text(source, where),
                _text(spec["first"], where),
                _text(spec["last"], where),
                title=title,
                company=company,
            )
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


class NameParts(NamedTuple):
    """One full name read: blank parts are "". `warning` is a row-level warning or ""."""

    title: str = ""
    first: str = ""  # with any middle name(s): Kindful has no middle-name column
    last: str = ""
    suffix: str = ""  # read so it stays out of first and last; Kindful has no column for it
    company: str = ""  # the whole value when it names an organization
    warning: str = ""


NAME_PART_COLUMNS = list(NameParts._fields)
MAX_NAME_LENGTH = 255  # Kindful's limit for a name column; a longer value is not parsed

# A value holding one of these words (casefolded, dots dropped: "L.L.C." is "llc") is an
# organization's name, not a person's. Kept to words that are (almost) never a person's name.
ORGANIZATION_WORDS = frozenset(
    {
        *("inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "plc", "gmbh", "pllc"),
        *("corp", "corporation", "company", "enterprises", "sons", "bros", "partners", "group"),
        *("foundation", "trust", "association", "assn", "fund", "society", "institute"),
        *("ministries", "ministry", "charities", "charitable", "nonprofit", "organization"),
        *("university", "college", "school", "academy", "club", "council", "committee"),
        *("federation", "alliance", "coalition", "congregation", "parish", "diocese"),
        *("synagogue", "mosque", "cathedral", "hospital", "museum", "library", "estate"),
    }
)
# ... and these, which are also surnames ("Charlotte Church", "Shirley Temple"), only in a
# value of three or more words without a comma ("First Baptist Church", "Temple Beth El").
ORGANIZATION_WORDS_IN_LONG_NAMES = frozenset(
    {"church", "temple", "chapel", "bank", "union", "center", "centre"}
)
CONJUNCTIONS = frozenset({"and", "&", "+"})
ORGANIZATION_WARNING = (
    "an organization's name: not split into first and last name "
    "(name a company column in the split_name rule to keep it)"
)
COUPLE_WARNING = "two people in one name: the contact is the first person"
_WORDS = re.compile(r"[^\w&+]+")


def _is_organization(text: str) -> bool:
    words = [w for w in _WORDS.split(text.casefold().replace(".", "")) if w]
    if any(w in ORGANIZATION_WORDS for w in words):
        return True
    long_name = len(words) >= 3 and "," not in text
    return long_name and any(w in ORGANIZATION_WORDS_IN_LONG_NAMES for w in words)


def _person(text: str) -> NameParts:
    """`text` read by nameparser as one person (middle names joined to the first name)."""
    name = HumanName(text)
    first = " ".join(p for p in (name.first, name.middle) if p)
    if not (first or name.last):  # "Dr.", "Jr.", "," : no name at all
        return NameParts()
    return NameParts(name.title, first, name.last, name.suffix)


def _has_conjunction(part: str) -> bool:
    return any(w.casefold() in CONJUNCTIONS for w in part.split())


def parse_name(text: str) -> NameParts:
    """One full name (trimmed, single-spaced) into its parts, by the module docstring's rule."""
    if not text:
        return NameParts()
    if len(text) > MAX_NAME_LENGTH:
        return NameParts(first=text)
    if _is_organization(text):
        return NameParts(company=text, warning=ORGANIZATION_WARNING)
    parts = _person(text)
    if _has_conjunction(parts.title) and not _has_conjunction(f"{parts.first} {parts.last}"):
        return parts._replace(warning=COUPLE_WARNING)  # "Mr. and Mrs. John Smith"
    words = text.split(" ")
    at = next((i for i, w in enumerate(words) if w.casefold() in CONJUNCTIONS), None)
    if at is None or at == 0 or at == len(words) - 1:
        return parts
    # "John and Jane Smith", "John Smith & Jane Doe", "Smith, John and Jane": the first person,
    # with the second one's last name when the first gives only one name ("John").
    left, right = _person(" ".join(words[:at])), _person(" ".join(words[at + 1 :]))
    if left.first and left.last:
        return left._replace(warning=COUPLE_WARNING)
    only = left.first or left.last
    if not only:
        return parts
    return NameParts(left.title, only, right.last, right.suffix, warning=COUPLE_WARNING)


def name_parts(values: pd.Series) -> pd.DataFrame:
    """`NAME_PART_COLUMNS` per value, on `values`' index; NA where a part is blank.

    Each distinct value is parsed once (exports repeat names) and the parts mapped back."""
    cleaned = as_strings(values).str.strip().str.replace(r"\s+", " ", regex=True)
    codes, uniques = distinct(cleaned)
    parsed = [parse_name(str(u)) for u in uniques]
    out: dict[str, pd.Series] = {}
    for number, column in enumerate(NAME_PART_COLUMNS):
        table = np.array([p[number] or None for p in parsed] + [None], dtype=object)
        out[column] = pd.Series(table[codes], index=values.index, dtype=object)  # -1: last
    return pd.DataFrame(out, index=values.index, columns=NAME_PART_COLUMNS)


def split_names(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(first, last) names by the rule in the module docstring; NA where there is none."""
    parts = name_parts(values)
    return parts["first"], parts["last"]


def split_name_columns(
    frame: pd.DataFrame, rule: SplitName
) -> tuple[dict[str, pd.Series], pd.DataFrame]:
    """The rule's columns (target -> values) and its row-level warnings (`ISSUE_COLUMNS`)."""
    raw = frame[rule.source]
    parts = name_parts(raw)
    out = {rule.first: parts["first"], rule.last: parts["last"]}
    if rule.title is not None:
        out[rule.title] = parts["title"]
    warned = parts["warning"].notna()
    if rule.company is not None:
        out[rule.company] = parts["company"]
        warned &= parts["warning"] != ORGANIZATION_WARNING  # the name went where it belongs
    rows = frame.index[warned.to_numpy(dtype=bool)]
    warnings = pd.DataFrame(
        {
            "source_row": rows + 1,
            "column": rule.source,
            "value": raw.loc[rows].tolist(),
            "reason": parts.loc[rows, "warning"].tolist(),
        },
        columns=ISSUE_COLUMNS,
    )
    return out, warnings


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

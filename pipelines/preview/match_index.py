"""How a row finds its record: by Kindful id, external id or a match_by key, as Kindful does.

The rules are 002's (003's for rows without ids), so a preview finds what the import would.
Kindful's records and those earlier rows of the file create share one index per kind of record,
so a later row of the same contact (or with the same email) matches as it would in Kindful.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dateutil import parser as date_parser

from pipelines.transform.options import RunOptions

__all__ = [
    "CONTACT_FALLBACKS",
    "EMAIL_KEYS",
    "Activity",
    "Index",
    "Match",
    "Matching",
    "Record",
    "find",
    "kindful_time",
    "match_keys",
    "norm",
]


@dataclass(frozen=True)
class Activity:
    """The record a row carries besides its contact."""

    kind: str  # as in `<kind>_time`, `<kind>_updated_at`
    plural: str
    id_column: str
    queryable: bool  # 001 offers transactions/query; nothing for notes, pledges, ...


_ACTIVITIES = {
    "contact_with_transaction": Activity("transaction", "transactions", "transaction_id", True),
    "contact_with_note": Activity("note", "notes", "note_id", False),
    "contact_with_pledge": Activity("pledge", "pledges", "pledge_id", False),
    "contact_with_non_cash_gift": Activity(
        "non_cash_gift", "non-cash gifts", "non_cash_gift_id", False
    ),
    "contact_with_soft_credit": Activity("soft_credit", "soft credits", "soft_credit_id", False),
    "split_transaction": Activity("split_transaction", "split transactions", "id", False),
}
# 002's match_by keys and the columns each one reads (Kindful and the sandbox match alike).
_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "first_name_last_name": ("first_name", "last_name"),
    "first_name_last_name_email": ("first_name", "last_name", "email"),
    "company_name": ("company_name",),
    "company_name_email": ("company_name", "email"),
    "stripe_customer_id": ("stripe_customer_id",),
    "authorize_customer_id": ("authorize_customer_id",),
    "paypal_payer_id": ("paypal_payer_id",),
    "stripe_charge_id": ("stripe_charge_id",),
    "paypal_transaction_id": ("paypal_transaction_id",),
    "authorize_transaction_id": ("authorize_transaction_id",),
}
# 003: a row without an id is matched by these, in order.
CONTACT_FALLBACKS = ("first_name_last_name_email", "company_name_email")
EMAIL_KEYS = frozenset({"email", "first_name_last_name_email", "company_name_email"})
# Names Kindful's answers use for a column the import calls otherwise (001's examples).
_ALIASES = {"company_name": ("company_name", "organization_name")}


def _key_names(how: str, fallbacks: tuple[str, ...]) -> tuple[str, ...]:
    """The match keys worth computing: those this run's match_by can use."""
    if how == "external_id":
        return fallbacks
    return (how,) if how in _KEY_COLUMNS else ()


@dataclass(frozen=True)
class Matching:
    """How one run finds a row's records: which records a row carries, 002's match_by for each."""

    activity: Activity | None
    has_contact: bool
    contact_how: str
    activity_how: str
    contact_keys: tuple[str, ...]
    activity_keys: tuple[str, ...]

    @classmethod
    def for_run(cls, options: RunOptions) -> Matching:
        contact_how = options.match_by.get("contact", "external_id")
        activity_how = options.match_by.get("transaction", "external_id")
        return cls(
            activity=_ACTIVITIES.get(options.data_format),
            has_contact=options.data_format != "split_transaction",
            contact_how=contact_how,
            activity_how=activity_how,
            contact_keys=_key_names(contact_how, CONTACT_FALLBACKS),
            activity_keys=_key_names(activity_how, ()),
        )

    @property
    def columns(self) -> set[str]:
        """The columns matching reads."""
        wanted = {
            "id",
            "transaction_id",
            "updated_at",
            *(c for k in _KEY_COLUMNS.values() for c in k),
        }
        act = self.activity
        if act is not None:
            wanted |= {act.id_column, f"{act.kind}_time", f"{act.kind}_updated_at"}
        return wanted


def norm(value: object) -> str:
    """Case- and whitespace-insensitive, as Kindful matches names and emails."""
    return " ".join(str(value).split()).casefold()


def match_keys(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The match_by keys a record can be found by; a key needs every one of its columns."""
    keys: dict[str, str] = {}
    for name in names:
        parts = [norm(values.get(col) or "") for col in _KEY_COLUMNS[name]]
        if all(parts):
            keys[name] = "|".join(parts)
    return keys


def kindful_time(value: object) -> float | None:
    """Unix seconds, RFC 3339, "2016-04-05 10:36:52 UTC", "Tue, 13 Oct 2015 20:56:12 UTC"."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = date_parser.parse(text)
        except (ValueError, OverflowError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


@dataclass
class Record:
    """A record as matching sees it: Kindful's, or one an earlier row of the file creates."""

    kindful_id: str | None
    external_id: str | None
    updated_at: float | None
    origin: str  # how the reason names where it came from


@dataclass
class Index:
    """One kind of record, found by Kindful id, external id or a match key."""

    by_id: dict[str, Record] = field(default_factory=dict)
    by_external: dict[str, Record] = field(default_factory=dict)
    by_key: dict[tuple[str, str], list[Record]] = field(default_factory=dict)
    read: int = 0

    def add(self, record: Record, keys: Mapping[str, str]) -> None:
        if record.kindful_id is not None:
            self.by_id.setdefault(record.kindful_id, record)
        if record.external_id is not None:
            self.by_external.setdefault(record.external_id, record)
        for pair in keys.items():
            self.by_key.setdefault(pair, []).append(record)

    def add_answer(self, item: Mapping[str, Any], key_names: Iterable[str]) -> None:
        """A contacts/query or transactions/query result, in the sandbox's or 001's shape."""
        values = dict(item)
        for column, aliases in _ALIASES.items():
            values[column] = next((item[a] for a in aliases if item.get(a)), None)
        kindful_id = None if item.get("id") is None else str(item["id"])
        if kindful_id is not None and kindful_id in self.by_id:
            return  # seen on an earlier page
        external = item.get("external_id")
        record = Record(
            kindful_id=kindful_id,
            external_id=None if external in (None, "") else str(external),
            updated_at=kindful_time(item.get("updated_at")),
            origin=f" (Kindful id {kindful_id})",
        )
        self.add(record, match_keys(values, key_names))
        self.read += 1

    def oldest_first(self) -> None:
        """Several matches: Kindful takes the oldest, i.e. the lowest id."""

        def order(record: Record) -> tuple[int, int]:
            rid = record.kindful_id or ""
            return (0, int(rid)) if rid.isdigit() else (1, 0)

        for records in self.by_key.values():
            records.sort(key=order)


@dataclass(frozen=True)
class Match:
    how: str  # the match_by key used
    shown: str | None  # the row's value as a reason names it; None: the row has none
    record: Record | None
    candidates: int = 0


def _shown(how: str, values: Mapping[str, Any]) -> str:
    return " ".join(str(values[c]) for c in _KEY_COLUMNS[how])


def find(
    index: Index,
    how: str,
    row_id: str | None,
    values: Mapping[str, Any],
    key_names: Iterable[str],
    fallbacks: tuple[str, ...] = (),
) -> Match:
    """The record a row refers to under one match_by option (002; 003 for rows without ids)."""
    if how in ("id", "external_id") and row_id is not None:
        table = index.by_id if how == "id" else index.by_external
        found = table.get(row_id)
        label = "Kindful id" if how == "id" else "external_id"
        return Match(how, f"{label} {row_id!r}", found, int(found is not None))
    keys = match_keys(values, key_names)
    tried: list[Match] = []
    for key in fallbacks if how == "external_id" else (how,):
        if key in keys:
            candidates = index.by_key.get((key, keys[key]), [])
            shown = f"{key} {_shown(key, values)!r}"
            tried.append(Match(key, shown, next(iter(candidates), None), len(candidates)))
            if tried[-1].record is not None:
                return tried[-1]
    return tried[0] if tried else Match(how, None, None)

"""Record matching and the create/update table of 002.

create: a match -> do nothing; no match -> create.
update: no match -> create; a match whose stored update time is older than the row's -> update;
otherwise do nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.store import Record, Store

Decision = Literal["create", "update", "nothing"]

_CONTACT_ID_KEYS = ("stripe_customer_id", "authorize_customer_id", "paypal_payer_id")
_TRANSACTION_ID_KEYS = ("stripe_charge_id", "paypal_transaction_id", "authorize_transaction_id")


def normalize(value: object) -> str:
    """The form values are matched in: as given. 003: "an exact match of first_name +
    last_name + email"; 002: "if an exact match is found of all 3 of those fields". Cells are
    trimmed when read, nothing more (no case folding: the reference never says so)."""
    return str(value)


def contact_keys(data: Mapping[str, Any]) -> dict[str, str]:
    """The match_by keys a contact can be found by (002, "Record Matching Options")."""
    email = normalize(data.get("email") or "")
    first = normalize(data.get("first_name") or "")
    last = normalize(data.get("last_name") or "")
    company = normalize(data.get("company_name") or "")
    keys: dict[str, str] = {}
    if email:
        keys["email"] = email
    if first and last:
        keys["first_name_last_name"] = f"{first}|{last}"
        if email:
            keys["first_name_last_name_email"] = f"{first}|{last}|{email}"
    if company:
        keys["company_name"] = company
        if email:
            keys["company_name_email"] = f"{company}|{email}"
    keys.update({key: str(data[key]) for key in _CONTACT_ID_KEYS if data.get(key)})
    return keys


def activity_keys(kind: str, data: Mapping[str, Any]) -> dict[str, str]:
    if kind != "transaction":
        return {}
    return {key: str(data[key]) for key in _TRANSACTION_ID_KEYS if data.get(key)}


def name_keys(name: str) -> dict[str, str]:
    return {"name": normalize(name)}


@dataclass(frozen=True)
class Match:
    """The record found (oldest first when several fit) and how many fitted."""

    record: Record | None
    candidates: int = 0


def _by_kindful_id(store: Store, app: str, kind: str, value: object) -> Match:
    """match_by "id": the value is Kindful's own record id, not the app's external id."""
    text = str(value or "")
    record = store.get(int(text)) if text.isdigit() else None
    if record is None or record.app != app or record.kind != kind:
        return Match(None)
    return Match(record, 1)


def _first(records: list[Record]) -> Match:
    return Match(records[0] if records else None, len(records))


def match_contact(store: Store, app: str, how: str, contact: Mapping[str, Any]) -> Match:
    """Find the contact a row refers to under one match_by option."""
    if how == "id":
        return _by_kindful_id(store, app, "contact", contact.get("id"))
    keys = contact_keys(contact)
    if how == "external_id":
        external_id = contact.get("id")
        if external_id is not None:
            found = store.by_external_id(app, "contact", str(external_id))
            return Match(found, int(found is not None))
        # 003: without an id, first_name + last_name + email or company_name + email.
        for key in ("first_name_last_name_email", "company_name_email"):
            if key in keys:
                match = _first(store.by_key(app, "contact", key, keys[key]))
                if match.record is not None:
                    return match
        return Match(None)
    if how not in keys:
        return Match(None)
    return _first(store.by_key(app, "contact", how, keys[how]))


def match_activity(
    store: Store, app: str, kind: str, how: str, external_id: object, data: Mapping[str, Any]
) -> Match:
    """Find an activity record (transaction, note, ...) by its external id or another key."""
    if how == "id":
        return _by_kindful_id(store, app, kind, external_id)
    if how == "external_id":
        if external_id is None:
            return Match(None)
        found = store.by_external_id(app, kind, str(external_id))
        return Match(found, int(found is not None))
    keys = activity_keys(kind, data)
    if how not in keys:
        return Match(None)
    return _first(store.by_key(app, kind, how, keys[how]))


def decide(
    action: str, exception: str | None, record: Record | None, row_updated_at: float | None
) -> Decision:
    """002's table; `exception` is update_exceptions[record] ("create"/"insert" = never update)."""
    if record is None:
        return "create"
    if action != "update" or exception in ("create", "insert"):
        return "nothing"
    if row_updated_at is None or row_updated_at <= record.updated_at:
        return "nothing"
    return "update"

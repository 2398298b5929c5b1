"""Records as the read endpoints show them (001's contacts/query, transactions/query, lists)
and as a job's notifications carry them (001, "Import Status by Job ID")."""

from __future__ import annotations

from typing import Any

from sandbox.store import Record, Store
from sandbox.timeparse import format_timestamp, record_timestamp

_INTERNAL = frozenset({"groups", "custom_fields", "guid"})
_PKS = ("fund_pk", "campaign_pk", "parent_campaign_pk", "event_pk", "cause_pk", "team_pk",
        "team_member_pk", "parent_pk")  # fmt: skip


def _meta(record: Record) -> dict[str, Any]:
    return {
        "id": record.pk,
        "record_type": record.kind,
        "external_id": record.external_id,
        "sync_version": record.sync_version,
        "created_at": format_timestamp(record.created_at),
        "updated_at": format_timestamp(record.updated_at),
    }


def named_json(record: Record | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {**_meta(record), "name": record.data.get("name")}


def contact_json(store: Store, record: Record) -> dict[str, Any]:
    result = {k: v for k, v in record.data.items() if k not in _INTERNAL}
    fields = record.data.get("custom_fields", {})
    ids = (
        {rec.data["name"]: rec.pk for rec in store.records(record.app, "custom_field")}
        if fields
        else {}
    )
    result.update(_meta(record))
    result["group_ids"] = list(record.data.get("groups", []))
    result["custom_fields"] = {
        name: {"custom_field_id": ids.get(name), "value": value} for name, value in fields.items()
    }
    return result


def activity_json(store: Store, record: Record) -> dict[str, Any]:
    """A transaction (or other activity) with its contact, campaign and fund embedded."""
    result = {k: v for k, v in record.data.items() if k not in _INTERNAL and k not in _PKS}
    time_column = f"{record.kind}_time"
    if time_column in result:
        result[time_column] = format_timestamp(float(result[time_column]))
    result.update(_meta(record))
    result["contact_id"] = record.parent_pk
    for key in ("fund", "campaign", "event", "cause", "team"):
        pk = record.data.get(f"{key}_pk")
        result[key] = named_json(store.get(int(pk))) if pk is not None else None
    contact = store.get(record.parent_pk) if record.parent_pk is not None else None
    result["contact"] = contact_json(store, contact) if contact else None
    return result


def select_columns(item: dict[str, Any], columns: dict[str, list[str]] | None, model: str) -> Any:
    """Keep the columns asked for per model ("all" keeps everything), nested objects too."""
    wanted = columns.get(model) if columns else None
    result: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, dict) and key in ("contact", "campaign", "fund"):
            if columns and key not in columns:
                continue
            result[key] = select_columns(value, columns, key)
        elif wanted is None or "all" in wanted or key in wanted or _always(key, model):
            result[key] = value
    return result


def _always(key: str, model: str) -> bool:
    """001's query results carry record_type on a transaction and a contact, not a fund."""
    return key == "record_type" and model in ("contact", "transaction")


def dump_record(record: Record) -> dict[str, Any]:
    """Everything about a record, for the admin dump used by end-to-end tests."""
    return {
        **record.data,
        "id": record.pk,
        "external_id": record.external_id,
        "parent_id": record.parent_pk,
        "sync_version": record.sync_version,
        "linked_version": record.linked_version,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "deleted_at": record.deleted_at,
    }


# -- notification objects (001, "Import Status by Job ID": the affected record) -------------

# 001's transaction object, key for key; values come from the import's columns of these names.
_TRANSACTION_FIELDS = {
    "transaction_time": "transaction_time",
    "amount_in_cents": "amount_in_cents",
    "acknowledged": "acknowledged",
    "note": "transaction_note",
    "transaction_type": "transaction_type",
    "was_refunded": "was_refunded",
    "currency": "currency",
    "check_num": "check_num",
    "card_type": "card_type",
    "non_tax_deduct_amount_in_cents": "non_tax_deductible_amount_in_cents",
    "is_donation": "is_donation",
}
_CUSTOM_FIELD_SLOTS = tuple(
    f"custom_field_{part}{n}" for n in (1, 2, 3) for part in ("name", "value")
)
# 001's contact object, key for key (donor_type, record_type and _links are added).
_CONTACT_FIELDS = (
    "title", "first_name", "last_name", "gender", "birthday", "company_name", "employer",
    "email", "primary_phone", "alt_phone", "fax_phone", "addr1", "addr2", "city", "state",
    "postal", "country", "spouse_first", "spouse_last",
)  # fmt: skip
_TIME_COLUMNS = frozenset(
    {"transaction_time", "note_time", "pledge_time", "non_cash_gift_time", "soft_credit_time"}
)
_NOT_SHOWN = frozenset({"guid", "groups", "custom_fields", "id", "transaction_updated_at"})


def _links(kind: str, pk: int | None, contact_pk: int | None = None) -> dict[str, str]:
    links = {
        "self": f"https://sandbox.kindful.com/admin/contacts/{pk}"
        if kind == "contact" and pk
        else ""
    }
    if kind != "contact":
        links["contact"] = (
            f"https://sandbox.kindful.com/admin/contacts/{contact_pk}" if contact_pk else ""
        )
    return links


def _time_value(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return record_timestamp(float(value))
    return value


def contact_object(
    data: dict[str, Any],
    *,
    pk: int | None = None,
    external_id: Any = None,
    sync_version: int | None = None,
    created_at: float | None = None,
    updated_at: float | None = None,
) -> dict[str, Any]:
    """A contact as 001's notification object nests it (a stored one, or one never created)."""
    values = {name: data.get(name) for name in _CONTACT_FIELDS}
    birthday = values.get("birthday")
    if isinstance(birthday, str):
        values["birthday"] = birthday.replace("-", "/")
    person = bool(data.get("first_name") or data.get("last_name")) or not data.get("company_name")
    return {
        "id": pk,
        "external_id": None if external_id is None else str(external_id),
        "sync_version": sync_version,
        "donor_type": "Person" if person else "Organization",
        **values,
        "created_at": record_timestamp(created_at),
        "updated_at": record_timestamp(updated_at),
        "record_type": "contact",
        "_links": _links("contact", pk),
    }


def stored_contact_object(record: Record) -> dict[str, Any]:
    return contact_object(
        record.data,
        pk=record.pk,
        external_id=record.external_id,
        sync_version=record.sync_version,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _named_object(store: Store, pk: Any) -> dict[str, Any] | None:
    """A fund or campaign as 001 nests it (a campaign with its fund)."""
    record = store.get(int(pk)) if pk is not None else None
    if record is None:
        return None
    result: dict[str, Any] = {
        "id": record.pk,
        "external_id": record.external_id,
        "sync_version": record.sync_version,
        "name": record.data.get("name"),
    }
    if record.kind == "campaign":
        fund_pk = record.data.get("fund_pk")
        result |= {"description": None, "short_name": record.data.get("name")}
        result |= {
            "created_at": record_timestamp(record.created_at),
            "updated_at": record_timestamp(record.updated_at),
            "fund_id": fund_pk,
            "fund": _named_object(store, fund_pk),
        }
    else:
        result |= {
            "created_at": record_timestamp(record.created_at),
            "updated_at": record_timestamp(record.updated_at),
        }
    return result | {"record_type": record.kind, "_links": {"self": ""}}


def activity_object(
    kind: str,
    data: dict[str, Any],
    *,
    contact: dict[str, Any] | None,
    store: Store | None = None,
    pk: int | None = None,
    external_id: Any = None,
    sync_version: int | None = None,
    updated_at: float | None = None,
    deleted_at: float | None = None,
) -> dict[str, Any]:
    """A transaction (001's shape, key for key), note, pledge, ... or split, stored or not.

    001 shows only a transaction; the other kinds (assumption, sandbox/README.md) take the same
    frame with their own import columns in place of the transaction's.
    """
    campaign_pk, fund_pk = data.get("campaign_pk"), data.get("fund_pk")
    campaign = _named_object(store, campaign_pk) if store is not None else None
    fund = _named_object(store, fund_pk) if store is not None else None
    contact_pk = contact.get("id") if contact else None
    head: dict[str, Any] = {
        "id": pk,
        "external_id": None if external_id is None else str(external_id),
        "sync_version": sync_version,
    }
    if kind == "transaction":
        own = {key: data.get(column) for key, column in _TRANSACTION_FIELDS.items()}
        own["transaction_time"] = _time_value(own["transaction_time"])
        body: dict[str, Any] = {
            "transaction_time": own.pop("transaction_time"),
            "updated_at": record_timestamp(updated_at),
            "amount_in_cents": own.pop("amount_in_cents"),
            "campaign_id": campaign_pk,
            "fund_id": fund_pk,
            "designation": None,
            "campaign": campaign,
            "fund": fund,
            "contact": contact,
            "contact_id": contact_pk,
            **own,
            **dict.fromkeys(_CUSTOM_FIELD_SLOTS),
        }
    else:
        own = {
            column: _time_value(value) if column in _TIME_COLUMNS else value
            for column, value in data.items()
            if column not in _NOT_SHOWN
            and column != f"{kind}_id"  # shown as external_id
            and not column.endswith("_pk")
            and column not in ("campaign", "campaign_id", "fund", "fund_id")
            and column not in ("parent_campaign", "parent_campaign_id")
            and not column.endswith("_updated_at")
        }
        body = {
            **own,
            "updated_at": record_timestamp(updated_at),
            "campaign_id": campaign_pk,
            "fund_id": fund_pk,
            "campaign": campaign,
            "fund": fund,
        }
        if kind != "split_transaction":
            body |= {"contact": contact, "contact_id": contact_pk}
    return {
        **head,
        **body,
        "deleted_at": record_timestamp(deleted_at),
        "record_type": kind,
        "_links": _links(kind, pk, contact_pk),
    }


def stored_activity_object(store: Store, record: Record) -> dict[str, Any]:
    # A split's parent is its transaction (its own `transaction_id` says which), not a contact.
    parent = store.get(record.parent_pk) if record.parent_pk is not None else None
    contact = parent if parent is not None and parent.kind == "contact" else None
    return activity_object(
        record.kind,
        record.data,
        contact=stored_contact_object(contact) if contact is not None else None,
        store=store,
        pk=record.pk,
        external_id=record.external_id,
        sync_version=record.sync_version,
        updated_at=record.updated_at,
        deleted_at=record.deleted_at,
    )

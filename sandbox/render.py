"""Records as the read endpoints show them (001's contacts/query, transactions/query, lists)."""

from __future__ import annotations

from typing import Any

from sandbox.store import Record, Store
from sandbox.timeparse import format_timestamp

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
        elif wanted is None or "all" in wanted or key in wanted or key == "record_type":
            result[key] = value
    return result


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

"""The contact part of a row: match it, then create, update or leave it (002's table)."""

from __future__ import annotations

from typing import Any

from sandbox.context import ImportContext
from sandbox.designations import resolve_named
from sandbox.matching import contact_keys, decide, match_contact, updatable_columns
from sandbox.store import Record
from sandbox.validation import Row, has_contact_name

# Columns that are not stored as contact fields: identity, times, group links.
_NOT_FIELDS = frozenset({"id", "created_at", "updated_at", "group", "group_id"})


def apply_contact(
    ctx: ImportContext, row: Row, source: Row, *, activity_row: bool
) -> Record | None:
    """The contact this row belongs to, or None after dropping the row with a notification.

    `source` is the row merged with every other row of the same contact id in this job.
    """
    contact_id = row.contact_id
    if contact_id is not None and contact_id in ctx.contact_by_id:
        return ctx.store.get(ctx.contact_by_id[contact_id])
    values = source.contact
    how = ctx.match_by("contact")
    match = match_contact(ctx.store, ctx.app, how, values)
    record = match.record
    if match.candidates > 1:
        ctx.outcome.notify(
            "ambiguous_match",
            f"{match.candidates} contacts match by {how}; the oldest"
            f" (id {record.pk if record else None}) was used",
            row.number,
            id=contact_id,
            match_by=how,
        )
    updated_at = values.get("updated_at")
    decision = decide(
        ctx.action,
        ctx.exception("contact"),
        record,
        None if updated_at is None else float(str(updated_at)),
    )
    if record is None:
        if not has_contact_name(values):
            _drop_nameless(ctx, row, activity_row)
            return None
        record = _create(ctx, source, how)
    elif decision == "update":
        _update(ctx, record, source)
    elif (
        ctx.action == "update"
        and ctx.exception("contact") not in ("create", "insert")
        and updated_at is None
    ):
        ctx.outcome.notify(
            "missing_updated_at",
            "contact matched but the row has no updated_at, so it was not updated",
            row.number,
            id=contact_id,
        )
    _link(ctx, record, contact_id, how, row.number)
    if contact_id is not None:
        ctx.contact_by_id[contact_id] = record.pk
    return record


def _drop_nameless(ctx: ImportContext, row: Row, activity_row: bool) -> None:
    if activity_row and ctx.format.activity is not None:
        # 001, the documented validation message.
        desc = f"Couldn't find contact information for {ctx.format.activity.kind}"
        code = "contact_not_found"
    else:
        desc = "first_name and last_name, or company_name, are required"
        code = "missing_required"
    ctx.outcome.notify(code, desc, row.number, dropped=True, id=row.contact_id)


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    return {col: value for col, value in values.items() if col not in _NOT_FIELDS}


def _create(ctx: ImportContext, source: Row, how: str) -> Record:
    values = source.contact
    contact_id = source.contact_id
    data = _fields(values)
    external_id = None
    # Whatever match_by found nothing, the new contact carries the row's id when it is free.
    if (
        contact_id is not None
        and how != "id"
        and ctx.store.by_external_id(ctx.app, "contact", contact_id) is None
    ):
        external_id = contact_id
    record = ctx.store.insert(
        ctx.app,
        "contact",
        data=data,
        external_id=external_id,
        created_at=_time(values.get("created_at")),
        # Kindful keeps the updated time it is given; without one the record is new as of now.
        updated_at=_time(values.get("updated_at")),
        keys=contact_keys(data),
    )
    _apply_extras(ctx, record, source)
    ctx.created["contact"].add(record.pk)
    return record


def _update(ctx: ImportContext, record: Record, source: Row) -> None:
    values = source.contact
    columns = updatable_columns(
        _fields(values), ctx.columns_only("contact"), ctx.columns_except("contact")
    )
    record.data.update({col: values[col] for col in columns})
    record.updated_at = float(str(values["updated_at"]))
    record.sync_version += 1
    record.linked_version = record.sync_version
    ctx.store.save(record, keys=contact_keys(record.data))
    _apply_extras(ctx, record, source)
    ctx.updated["contact"].add(record.pk)


def _apply_extras(ctx: ImportContext, record: Record, source: Row) -> None:
    """Group membership and custom field values travel with a create or an update."""
    changed = False
    group = resolve_named(ctx, "group", source.contact.get("group"), source.contact.get("group_id"))
    if group is not None:
        groups = list(record.data.get("groups", []))
        if group.pk not in groups:
            record.data["groups"] = [*groups, group.pk]
            changed = True
    if source.custom:
        fields = dict(record.data.get("custom_fields", {}))
        for name, value in source.custom.items():
            resolve_named(ctx, "custom_field", name, None)
            fields[name] = value
        record.data["custom_fields"] = fields
        changed = True
    if changed:
        ctx.store.save(record)


def _link(ctx: ImportContext, record: Record, contact_id: str | None, how: str, row: int) -> None:
    """A row with an id that matched an unlinked contact by another key links it to that id."""
    if contact_id is None or how == "id" or record.external_id is not None:
        return
    if ctx.store.by_external_id(ctx.app, "contact", contact_id) is not None:
        ctx.outcome.notify(
            "external_id_in_use",
            f"id {contact_id} already belongs to another contact; contact {record.pk} not linked",
            row,
            id=contact_id,
        )
        return
    record.external_id = contact_id
    record.linked_version = record.sync_version
    ctx.store.save(record)
    ctx.links["Contact"] += 1


def _time(value: Any) -> float | None:
    return None if value is None else float(str(value))

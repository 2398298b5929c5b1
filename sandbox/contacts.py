"""The contact part of a row: match it, then create, update or leave it (002's table)."""

from __future__ import annotations

from typing import Any

from sandbox.context import ImportContext
from sandbox.designations import resolve_named
from sandbox.matching import contact_keys, decide, match_contact
from sandbox.request import CONTACT_NOT_FOUND
from sandbox.store import Record
from sandbox.validation import Row, has_contact_name

# Columns that are not stored as contact fields: identity and times.
_NOT_FIELDS = frozenset({"id", "created_at", "updated_at"})


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
    updated_at = values.get("updated_at")
    decision = decide(
        ctx.action,
        ctx.exception("contact"),
        record,
        None if updated_at is None else float(str(updated_at)),
    )
    notes: list[tuple[str, str]] = []
    if match.candidates > 1 and record is not None:
        notes.append(
            (
                "ambiguous_match",
                f"{match.candidates} contacts match by {how}; the oldest (id {record.pk}) was used",
            )
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
        # 001: updated_at "Yes if action = update and your updating contact": the gift goes
        # on, the contact stays as it is.
        notes.append(
            (
                "missing_updated_at",
                "contact matched but the row has no updated_at, so it was not updated",
            )
        )
    _link(ctx, record, contact_id, how)
    if contact_id is not None:
        ctx.contact_by_id[contact_id] = record.pk
    for code, desc in notes:  # after linking: the object carries the row's id when it can
        ctx.notify(code, desc, ctx.stored(ctx.store.get(record.pk) or record))
    return record


def _drop_nameless(ctx: ImportContext, row: Row, activity_row: bool) -> None:
    if activity_row and ctx.format.activity is not None:
        desc = CONTACT_NOT_FOUND.format(kind=ctx.format.activity.kind)
        code = "contact_not_found"
    else:
        desc = "first_name and last_name, or company_name, are required"
        code = "missing_required"
    ctx.notify(code, desc, ctx.draft(row.contact, row.activity))


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
    # update_columns_only / _except are "coming soon" in 001: every column given is updated.
    record.data.update(_fields(values))
    record.updated_at = float(str(values["updated_at"]))
    record.sync_version += 1
    record.linked_version = record.sync_version
    ctx.store.save(record, keys=contact_keys(record.data))
    _apply_extras(ctx, record, source)
    ctx.updated["contact"].add(record.pk)


def _apply_extras(ctx: ImportContext, record: Record, source: Row) -> None:
    """Custom field values travel with a create or an update."""
    if source.custom:
        fields = dict(record.data.get("custom_fields", {}))
        for name, value in source.custom.items():
            resolve_named(ctx, "custom_field", name, None)
            fields[name] = value
        record.data["custom_fields"] = fields
        ctx.store.save(record)


def _link(ctx: ImportContext, record: Record, contact_id: str | None, how: str) -> None:
    """A row with an id that matched an unlinked contact by another key links it to that id."""
    if contact_id is None or how == "id" or record.external_id is not None:
        return
    if ctx.store.by_external_id(ctx.app, "contact", contact_id) is not None:
        ctx.notify(
            "external_id_in_use",
            f"id {contact_id} already belongs to another contact; contact {record.pk} not linked",
            ctx.stored(record),
        )
        return
    record.external_id = contact_id
    record.linked_version = record.sync_version
    ctx.store.save(record)
    ctx.links["Contact"] += 1


def _time(value: Any) -> float | None:
    return None if value is None else float(str(value))

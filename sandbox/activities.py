"""The activity part of a row (transaction, note, pledge, non-cash gift, soft credit)."""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.context import ImportContext
from sandbox.designations import resolve_designation
from sandbox.formats import ActivitySpec
from sandbox.matching import activity_keys, decide, match_activity
from sandbox.store import Record
from sandbox.validation import Row

_DESIGNATION_INPUTS = frozenset(
    {
        "campaign", "campaign_id", "parent_campaign", "parent_campaign_id", "fund", "fund_id",
        "cause", "cause_id", "team", "team_id", "team_member_first_name",
        "team_member_last_name", "team_member_id",
    }
)  # fmt: skip


def apply_activity(ctx: ImportContext, row: Row, contact: Record) -> None:
    """Match the row's activity and create, update or leave it; drop it on an id clash."""
    spec = ctx.format.activity
    assert spec is not None
    values = row.activity
    external_id = values.get(spec.id_column)
    ext = None if external_id is None else str(external_id)
    if spec.kind == "transaction" and ext is not None and _is_split_id(ctx, ext):
        # 001: "If the id does overlap with an existing transaction it will be dropped and a
        # notification added"; code and desc are 001's example's.
        ctx.notify(
            "transaction_id_reused_with_split",
            f"transaction can't have same external_id as split transaction {ext}",
            ctx.draft(row.contact, values),
        )
        return
    how = ctx.match_by(spec.kind)
    record = match_activity(ctx.store, ctx.app, spec.kind, how, ext, values).record
    updated_at = _updated_at(spec, values)
    decision = decide(ctx.action, ctx.exception(spec.kind), record, updated_at)
    if record is None:
        _create(ctx, spec, row, contact, ext if how == "external_id" else None)
    elif decision == "update":
        _update(ctx, spec, record, values, contact, updated_at)


def _is_split_id(ctx: ImportContext, external_id: str) -> bool:
    return ctx.store.by_external_id(ctx.app, "split_transaction", external_id) is not None


def _updated_at(spec: ActivitySpec, values: dict[str, Any]) -> float:
    """001: `<record>_updated_at` "If not specified it will be set to" `<record>_time`."""
    value = values.get(spec.updated_column, values.get(spec.time_column))
    return float(str(value))


def _fields(spec: ActivitySpec, values: dict[str, Any]) -> dict[str, Any]:
    skip = {spec.id_column, spec.updated_column}
    return {col: value for col, value in values.items() if col not in skip}


def _create(
    ctx: ImportContext, spec: ActivitySpec, row: Row, contact: Record, external_id: str | None
) -> None:
    values = row.activity
    data = _fields(spec, values)
    data.update(resolve_designation(ctx, values))
    generated = values.get(spec.id_column) is None
    if generated:
        # 001: "If a transaction_id isn't provided then we will generate a guid for it".
        data["guid"] = str(uuid.uuid4())
    record = ctx.store.insert(
        ctx.app,
        spec.kind,
        data=data,
        external_id=external_id,
        parent_pk=contact.pk,
        created_at=float(str(values[spec.time_column])),
        updated_at=_updated_at(spec, values),
        keys=activity_keys(spec.kind, data),
    )
    ctx.created[spec.kind].add(record.pk)
    if generated:
        ctx.notify(
            "generated_id",
            f"no {spec.id_column}: Kindful generated one, so importing this row again "
            f"creates another {spec.kind}",
            ctx.stored(record),
        )


def _update(
    ctx: ImportContext,
    spec: ActivitySpec,
    record: Record,
    values: dict[str, Any],
    contact: Record,
    updated_at: float,
) -> None:
    # update_columns_only / _except are "coming soon" in 001: every column given is updated.
    fields = _fields(spec, values)
    record.data.update(fields)
    if any(col in _DESIGNATION_INPUTS for col in fields):
        record.data.update(resolve_designation(ctx, fields, default_campaign=False))
    record.parent_pk = contact.pk
    record.updated_at = updated_at
    record.sync_version += 1
    record.linked_version = record.sync_version
    ctx.store.save(record, keys=activity_keys(spec.kind, record.data))
    ctx.updated[spec.kind].add(record.pk)

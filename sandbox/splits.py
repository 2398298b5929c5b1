"""split_transaction (001): re-allocate an existing transaction across campaigns and funds.

The transaction must exist (else the row is dropped), a split id may not be a transaction's
id (`transaction_id_reused_with_split`), and the splits of a transaction must add up to its
amount: quantity x unit_amount_in_cents over the splits it will have after this job.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sandbox.context import ImportContext
from sandbox.designations import resolve_designation
from sandbox.matching import match_activity
from sandbox.store import Record
from sandbox.validation import Row

KIND = "split_transaction"


def _amount(values: dict[str, Any]) -> int:
    return int(values["unit_amount_in_cents"]) * int(values.get("quantity", 1))


def apply_splits(ctx: ImportContext, rows: list[Row]) -> None:
    """Check every split row, then write the splits of each transaction that adds up."""
    by_parent: dict[int, list[tuple[Row, Record | None]]] = defaultdict(list)
    seen: dict[str, Row] = {}
    for row in rows:
        checked = _check(ctx, row, seen)
        if checked is not None:
            parent, existing = checked
            by_parent[parent.pk].append((row, existing))
    for parent_pk, items in by_parent.items():
        current = ctx.store.get(parent_pk)
        assert current is not None
        _apply_for_parent(ctx, current, items)


def _check(
    ctx: ImportContext, row: Row, seen: dict[str, Row]
) -> tuple[Record, Record | None] | None:
    values = row.activity
    transaction_id = str(values["transaction_id"])
    parent = match_activity(
        ctx.store, ctx.app, "transaction", ctx.match_by("transaction"), transaction_id, {}
    ).record
    split_id = None if values.get("id") is None else str(values["id"])
    if parent is None:
        _drop(ctx, row, "transaction_not_found", f"transaction {transaction_id} was not found")
        return None
    if split_id is not None and split_id in seen:
        seen[split_id].activity.update(values)
        ctx.notify(
            "duplicate_id_merged",
            f"split id {split_id} appears on several rows; the rows were merged",
            ctx.draft({}, values),
        )
        return None
    if split_id is not None:
        seen[split_id] = row
        if ctx.store.by_external_id(ctx.app, "transaction", split_id) is not None:
            _drop(
                ctx,
                row,
                "transaction_id_reused_with_split",
                f"transaction can't have same external_id as split transaction {split_id}",
            )
            return None
    existing = None
    if split_id is not None:
        existing = match_activity(ctx.store, ctx.app, KIND, ctx.match_by(KIND), split_id, {}).record
    if existing is not None and existing.parent_pk != parent.pk:
        _drop(ctx, row, "split_id_in_use", f"split {split_id} belongs to another transaction")
        return None
    return parent, existing


def _apply_for_parent(
    ctx: ImportContext, parent: Record, items: list[tuple[Row, Record | None]]
) -> None:
    may_update = ctx.action == "update" and ctx.exception(KIND) not in ("create", "insert")
    amounts: dict[str, int] = {
        str(split.pk): _amount(split.data)
        for split in ctx.store.records(ctx.app, KIND, parent_pk=parent.pk)
    }
    plan: list[tuple[Row, Record | None]] = []
    for row, existing in items:
        deleted = row.activity.get("deleted_at") is not None
        if existing is None and deleted:
            ctx.notify(
                "deleted_split_not_found",
                "deleted_at given for a split that does not exist; nothing to delete",
                ctx.draft({}, row.activity),
            )
        elif existing is None:
            plan.append((row, None))
            amounts[f"row{row.number}"] = _amount(row.activity)
        elif may_update:
            plan.append((row, existing))
            amounts.pop(str(existing.pk), None)
            if not deleted:
                amounts[str(existing.pk)] = _amount(row.activity)
    total = sum(amounts.values())
    expected = int(parent.data.get("amount_in_cents", 0))
    if plan and total != expected:
        for row, _ in plan:
            _drop(
                ctx,
                row,
                "split_amount_mismatch",
                f"splits of transaction {parent.external_id or parent.pk} add up to {total}"
                f" but the transaction is {expected}",
            )
        return
    for row, existing in plan:
        if existing is None:
            _create(ctx, parent, row)
        else:
            _update(ctx, existing, row)


def _create(ctx: ImportContext, parent: Record, row: Row) -> None:
    values = dict(row.activity)
    data = {k: v for k, v in values.items() if k not in ("id", "deleted_at")}
    data.setdefault("quantity", 1)
    data.update(resolve_designation(ctx, values))
    split_id = values.get("id")
    if split_id is None:
        data["guid"] = str(uuid.uuid4())
    record = ctx.store.insert(
        ctx.app,
        KIND,
        data=data,
        external_id=None if split_id is None else str(split_id),
        parent_pk=parent.pk,
        created_at=parent.created_at,
        updated_at=parent.updated_at,
    )
    ctx.created[KIND].add(record.pk)


def _update(ctx: ImportContext, record: Record, row: Row) -> None:
    values = row.activity
    if values.get("deleted_at") is not None:
        record.deleted_at = float(str(values["deleted_at"]))
    else:
        record.deleted_at = None
        record.data.update({k: v for k, v in values.items() if k not in ("id", "deleted_at")})
        record.data.update(resolve_designation(ctx, values, default_campaign=False))
    record.sync_version += 1
    record.linked_version = record.sync_version
    ctx.store.save(record)
    ctx.updated[KIND].add(record.pk)


def _drop(ctx: ImportContext, row: Row, code: str, desc: str) -> None:
    """The split the row would have made is the notification's object."""
    ctx.notify(code, desc, ctx.draft({}, row.activity))

"""Apply one job's rows to the store: check, merge, match, then create/update/do nothing.

Rows are written in chunks so HTTP readers are not locked out for a whole 10k-row job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sandbox.activities import apply_activity
from sandbox.contacts import apply_contact
from sandbox.context import ImportContext
from sandbox.designations import resolve_cause_team
from sandbox.outcome import Outcome
from sandbox.render import contact_object
from sandbox.request import ImportSpec
from sandbox.splits import apply_splits
from sandbox.store import Store
from sandbox.validation import Problem, Row, check_row

CHUNK_ROWS = 500


def run_import(
    store: Store, app: str, spec: ImportSpec, rows: Sequence[tuple[int, dict[str, Any]]]
) -> Outcome:
    """Process numbered raw rows; returns the counts and notifications of the job."""
    ctx = ImportContext(store, app, spec)
    # custom_field_identifiers is "coming soon" in 001: not applied.
    custom = frozenset(spec.custom_fields)
    _report_unknown_columns(ctx, rows, custom)
    checked: list[Row] = []
    for number, raw in rows:
        result = check_row(ctx.format, number, raw, custom_columns=custom, action=ctx.action)
        if isinstance(result, Row):
            checked.append(result)
        else:
            _drop(ctx, raw, result)
    if ctx.format.split:
        with store.transaction():
            apply_splits(ctx, checked)
        return ctx.finish()
    merged_contacts = _merge_contacts(ctx, checked)
    skip_activity = _merge_activities(ctx, checked)
    for start in range(0, len(checked), CHUNK_ROWS):
        with store.transaction():
            for row in checked[start : start + CHUNK_ROWS]:
                _apply_row(ctx, row, merged_contacts, skip_activity)
    return ctx.finish()


def _apply_row(
    ctx: ImportContext,
    row: Row,
    merged_contacts: dict[str, Row],
    skip_activity: set[int],
) -> None:
    activity_row = bool(row.activity) and ctx.format.activity is not None
    source = merged_contacts.get(row.contact_id or "", row)
    contact = apply_contact(ctx, row, source, activity_row=activity_row)
    if contact is None:
        return
    if ctx.format.cause_team and row.activity:
        resolve_cause_team(ctx, row.activity)
    if activity_row and row.number not in skip_activity:
        apply_activity(ctx, row, contact)


def _drop(ctx: ImportContext, raw: dict[str, Any], problems: list[Problem]) -> None:
    """One notification for the row, its code the first problem's, every problem in desc."""
    desc = "; ".join(problem.desc for problem in problems)
    ctx.notify(problems[0].code, desc, ctx.draft_raw(raw))


def _report_unknown_columns(
    ctx: ImportContext, rows: Sequence[tuple[int, dict[str, Any]]], custom: frozenset[str]
) -> None:
    """Columns Kindful does not know are ignored; say so once per column (questionable)."""
    known = ctx.format.columns | custom
    seen: set[str] = set()
    for _, raw in rows:
        for column, value in raw.items():
            if column in known or column in seen or value in (None, ""):
                continue
            seen.add(column)
            ctx.notify(
                "unknown_column",
                f"column {column!r} is not part of {ctx.format.name} and was ignored"
                " (list it in custom_fields to import it)",
                ctx.draft_raw(raw),  # the first row that has it
            )


def _merge_contacts(ctx: ImportContext, rows: list[Row]) -> dict[str, Row]:
    """Rows with the same contact id make one contact; later non-empty values win."""
    merged: dict[str, Row] = {}
    for row in rows:
        contact_id = row.contact_id
        if contact_id is None:
            continue
        if contact_id not in merged:
            merged[contact_id] = Row(row.number, dict(row.contact), {}, dict(row.custom))
            continue
        target = merged[contact_id]
        conflicts = sorted(
            col
            for col, value in row.contact.items()
            if col not in ("created_at", "updated_at") and target.contact.get(col, value) != value
        )
        conflicts += sorted(
            col for col, value in row.custom.items() if target.custom.get(col, value) != value
        )
        if conflicts:
            ctx.notify(
                "conflicting_values_merged",
                f"contact {contact_id} appears on several rows with different "
                f"{', '.join(conflicts)}; the later values were kept",
                contact_object(row.contact, external_id=contact_id),
            )
        latest = {
            col: max(float(str(v)) for v in values)
            for col in ("created_at", "updated_at")
            if (values := [v for v in (target.contact.get(col), row.contact.get(col)) if v])
        }
        target.contact.update(row.contact)
        target.contact.update(latest)
        target.custom.update(row.custom)
    return merged


def _merge_activities(ctx: ImportContext, rows: list[Row]) -> set[int]:
    """Rows repeating an activity id are merged into the first; returns the repeats' numbers."""
    activity = ctx.format.activity
    if activity is None:
        return set()
    first_rows: dict[str, Row] = {}
    repeats: set[int] = set()
    for row in rows:
        activity_id = row.activity.get(activity.id_column)
        if activity_id is None:
            continue
        key = str(activity_id)
        if key not in first_rows:
            first_rows[key] = row
            continue
        first = first_rows[key]
        first.activity.update(row.activity)
        repeats.add(row.number)
        ctx.notify(
            "duplicate_id_merged",
            f"{activity.id_column} {key} appears on several rows; "
            "the rows were merged into one record",
            ctx.draft(row.contact, row.activity),
        )
    return repeats

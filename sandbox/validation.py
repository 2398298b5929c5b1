"""Row checks: the sandbox does not trust its caller, so every row is checked like Kindful does.

A row that breaks a rule is dropped with one notification naming every problem found; its
`object` is the record the row would have made (render.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.columns import cell_text, clean_value
from sandbox.formats import (
    CAUSE_TEAM_COLUMNS,
    CONTACT_COLUMNS,
    DESIGNATION_COLUMNS,
    FUND_REQUIRED,
    FormatSpec,
)


@dataclass
class Row:
    """A checked row split into the parts the importer writes."""

    number: int  # 1-based position in the submitted data
    contact: dict[str, object] = field(default_factory=dict)
    activity: dict[str, object] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)

    @property
    def contact_id(self) -> str | None:
        value = self.contact.get("id")
        return None if value is None else str(value)


@dataclass(frozen=True)
class Problem:
    column: str
    code: str
    desc: str


def check_row(
    spec: FormatSpec,
    number: int,
    raw: dict[str, object],
    *,
    custom_columns: frozenset[str],
    action: str = "create",
) -> Row | list[Problem]:
    """The row's cleaned parts, or the problems that make Kindful drop it."""
    problems: list[Problem] = []
    row = Row(number)
    known = spec.columns
    activity_columns = _activity_columns(spec)
    for column, value in raw.items():
        text = cell_text(value)
        if text is None:
            continue
        if column in custom_columns:
            row.custom[column] = text
            continue
        if column not in known:
            continue  # reported once per job by the importer, not per row
        try:
            cleaned = clean_value(column, text)
        except ValueError as exc:
            problems.append(Problem(column, "invalid_value", f"{column}: {exc}"))
            continue
        if spec.split or column in activity_columns:
            row.activity[column] = cleaned
        else:
            row.contact[column] = cleaned
    invalid = {problem.column for problem in problems}
    problems += [p for p in _missing(spec, row, action) if p.column not in invalid]
    problems += _consistency(row)
    return problems or row


def _activity_columns(spec: FormatSpec) -> frozenset[str]:
    if spec.activity is not None:
        return frozenset(spec.activity.columns)
    if spec.cause_team:
        return frozenset(CAUSE_TEAM_COLUMNS + DESIGNATION_COLUMNS)
    return frozenset()


def _missing(spec: FormatSpec, row: Row, action: str) -> list[Problem]:
    required: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    if spec.split:
        # 001, split_transaction: a row whose transaction is not found is dropped; fund "Yes".
        required, one_of = ("transaction_id", "unit_amount_in_cents"), (FUND_REQUIRED,)
    elif spec.activity is not None and row.activity:
        required, one_of = spec.activity.required, spec.activity.one_of
    problems = [
        Problem(col, "missing_required", f"{col} is required for {spec.name}")
        for col in required
        if col not in row.activity
    ]
    # 001/003, contact: updated_at "Yes if action = update" (where the contact is the record).
    contact_format = spec.activity is None and not spec.split
    if action == "update" and contact_format and "updated_at" not in row.contact:
        problems.append(
            Problem("updated_at", "missing_required", "updated_at is required to update")
        )
    problems += [
        Problem(cols[0], "missing_required", f"one of {', '.join(cols)} is required")
        for cols in one_of
        if not any(col in row.activity for col in cols)
    ]
    return problems


def _consistency(row: Row) -> list[Problem]:
    amount = row.activity.get("amount_in_cents")
    non_tax = row.activity.get("non_tax_deductible_amount_in_cents")
    if isinstance(amount, int) and isinstance(non_tax, int) and non_tax > amount:
        return [
            Problem(
                "non_tax_deductible_amount_in_cents",
                "invalid_value",
                "non_tax_deductible_amount_in_cents is larger than amount_in_cents",
            )
        ]
    return []


def has_contact_name(contact: dict[str, object]) -> bool:
    """001: first_name and last_name, unless company_name is populated."""
    return bool(contact.get("company_name")) or bool(
        contact.get("first_name") and contact.get("last_name")
    )


CONTACT_FIELDS = frozenset(CONTACT_COLUMNS)

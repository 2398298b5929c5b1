"""Refuse a file up front when no row of it could ever be valid for the format."""

from __future__ import annotations

from collections.abc import Iterable

from pipelines.errors import InputError
from pipelines.transform.options import RunOptions
from schemas.columns import ImportFormat, Required


def missing_columns(columns: Iterable[str], fmt: ImportFormat, options: RunOptions) -> list[str]:
    """Descriptions of the columns (or column groups) that the file lacks."""
    have = set(columns)
    missing: list[str] = []
    for column in fmt.columns:
        needed = column.required is Required.YES or (
            column.required is Required.ON_UPDATE and options.action == "update"
        )
        has_fallback = column.default is not None or (
            column.default_from is not None and column.default_from in have
        )
        if needed and not has_fallback and column.name not in have:
            missing.append(column.name)
    if fmt.has_contact and not ({"first_name", "last_name"} <= have or "company_name" in have):
        missing.append("first_name and last_name, or company_name")
    if fmt.one_of and not have.intersection(fmt.one_of):
        missing.append(f"one of {', '.join(fmt.one_of)}")
    if fmt.has_contact and options.matches_by_email and "email" not in have:
        missing.append(f"email (to match contacts by {options.contact_match})")
    return missing


def check_required_columns(columns: Iterable[str], fmt: ImportFormat, options: RunOptions) -> None:
    """Raise InputError naming what is missing."""
    missing = missing_columns(columns, fmt, options)
    if missing:
        raise InputError(
            f"cannot import as {fmt.name} (action {options.action}): "
            f"missing column(s) {'; '.join(missing)}"
        )

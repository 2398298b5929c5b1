"""A run's settings, resolved from options first, then the mapping, then defaults.

Every entry point (the CLI's validate, import and preview, a flow's parameters, an inbox entry,
an S3 drop) resolves its options once, here, into one frozen `RunOptions` that carries the
loaded mapping too, and hands that object down: the run never loads or checks them twice.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from pipelines.errors import InputError
from pipelines.mapping.rules import label
from pipelines.mapping.spec import ACTIONS, Mapping, load_mapping, resolve_format
from schemas.columns import CONTACT_MATCH_KEYS

MATCH_BY_KEYS = ("contact", "transaction", "campaign", "fund", "group", "event")


@dataclass(frozen=True)
class RunOptions:
    """What a run asks of the data, from the CLI, the mapping or a flow's parameters."""

    data_format: str
    action: str = "create"
    match_by: dict[str, str] = field(default_factory=dict)
    source_timezone: str = "UTC"
    day_first: bool = False
    custom_fields: tuple[str, ...] = ()
    source_system: str = "default"  # scopes derived ids: the same source always gets the same ids
    # The mapping the options were resolved with, loaded once for the whole run.
    mapping: Mapping | None = field(default=None, compare=False, repr=False)

    @property
    def contact_match(self) -> str | None:
        return self.match_by.get("contact")

    @property
    def matches_by_email(self) -> bool:
        return "email" in CONTACT_MATCH_KEYS.get(self.contact_match or "", ())


def parse_match_by(pairs: Sequence[str]) -> dict[str, str]:
    """`contact=email transaction=external_id` -> {"contact": "email", ...}."""
    match_by: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"--match-by takes KEY=VALUE (e.g. contact=email), got {pair!r}")
        match_by[key.strip()] = value.strip()
    return match_by


def check_match_by(match_by: dict[str, str]) -> None:
    """Refuse match_by keys or contact keys the Imports API does not know."""
    unknown = sorted(set(match_by) - set(MATCH_BY_KEYS))
    if unknown:
        raise InputError(
            f"unknown match_by key(s) {', '.join(unknown)}; one of: {', '.join(MATCH_BY_KEYS)}"
        )
    contact = match_by.get("contact")
    if contact is not None and contact not in CONTACT_MATCH_KEYS:
        raise InputError(
            f"unknown contact match_by {contact!r}; one of: {', '.join(CONTACT_MATCH_KEYS)}"
        )


def resolve_options(
    data_format: str,
    mapping: Mapping | None,
    *,
    action: str | None = None,
    match_by: dict[str, str] | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: tuple[str, ...] = (),
    source_system: str | None = None,
) -> RunOptions:
    """Merge explicit settings over the mapping's; check each one."""
    chosen_action = action or (mapping.action if mapping else None) or "create"
    if chosen_action not in ACTIONS:
        raise InputError(f"action must be create or update, got {chosen_action!r}")
    merged_match = {**(mapping.match_by if mapping else {}), **(match_by or {})}
    check_match_by(merged_match)
    tz = source_timezone or (mapping.source_timezone if mapping else None) or "UTC"
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
        raise InputError(
            f"unknown source timezone {label(tz)}; use an IANA name like America/Chicago"
        ) from None
    if day_first is None:
        day_first = bool(mapping.day_first) if mapping and mapping.day_first is not None else False
    custom = tuple(dict.fromkeys([*(mapping.custom_fields if mapping else ()), *custom_fields]))
    return RunOptions(
        data_format=data_format,
        action=chosen_action,
        match_by=merged_match,
        source_timezone=tz,
        day_first=day_first,
        custom_fields=custom,
        source_system=source_system
        or (mapping.source_system or mapping.name if mapping else None)
        or "default",
        mapping=mapping,
    )


class Asked(TypedDict, total=False):
    """`resolve_run`'s keywords: a run's options as asked for, before they are resolved."""

    data_format: str | None
    mapping: str | Path | Mapping | None
    action: str | None
    match_by: dict[str, str] | Sequence[str] | None
    source_timezone: str | None
    day_first: bool | None
    custom_fields: Sequence[str] | None


def resolve_run(
    data_format: str | None = None,
    mapping: str | Path | Mapping | None = None,
    *,
    action: str | None = None,
    match_by: dict[str, str] | Sequence[str] | None = None,
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: Sequence[str] | None = (),
) -> RunOptions:
    """A run's options from what it was asked (None: the mapping's, else the default).

    `mapping` is a mapping file's path, loaded here, or a Mapping loaded already (a notebook's,
    edited in memory); `match_by` a dict or the command line's `KEY=VALUE` pairs. InputError,
    one line, on any bad setting.
    """
    if isinstance(mapping, Mapping):
        loaded: Mapping | None = mapping
    else:
        loaded = load_mapping(mapping) if mapping else None
    fmt = resolve_format(data_format, loaded)
    return resolve_options(
        fmt.name,
        loaded,
        action=action,
        match_by=match_by if isinstance(match_by, dict) else parse_match_by(match_by or ()),
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=tuple(custom_fields or ()),
    )

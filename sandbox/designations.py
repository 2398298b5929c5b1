"""Funds, campaigns, causes and teams (and custom fields): found by id or name, else created.

001: these are "created on the fly"; `<x>_id` is the app's identifier for them ("to minimize
duplicates"), so with the default match_by a known `<x>_id` wins, then the name, and a record
found by name gets linked to the `<x>_id` ("Integrations Fund Link" in the stats).
"""

from __future__ import annotations

from typing import Any

from sandbox.context import DEFAULT_CAMPAIGN, ImportContext
from sandbox.formats import RECORD_TYPES
from sandbox.matching import match_activity, name_keys, normalize
from sandbox.store import Record


def resolve_named(
    ctx: ImportContext,
    kind: str,
    name: object,
    external_id: object,
    *,
    parent_pk: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Record | None:
    """The record a (name, id) pair refers to, created when nothing fits; None if both empty."""
    name_text = None if name is None else str(name)
    ext = None if external_id is None else str(external_id)
    how = ctx.match_by(kind)
    if ext is not None and how in ("external_id", "id"):
        found = match_activity(ctx.store, ctx.app, kind, how, ext, {}).record
        if found is not None:
            return found
    if name_text is None and ext is None:
        return None
    if name_text is not None:
        candidates = [
            rec
            for rec in ctx.store.by_key(ctx.app, kind, "name", normalize(name_text))
            if parent_pk is None or rec.parent_pk == parent_pk
        ]
        if candidates:
            record = candidates[0]
            if how == "external_id" and ext is not None and record.external_id is None:
                record.external_id = ext
                ctx.store.save(record)
                ctx.links[RECORD_TYPES[kind]] += 1
            return record
    label = name_text if name_text is not None else str(ext)
    linked_ext = ext if how == "external_id" else None
    record = ctx.store.insert(
        ctx.app,
        kind,
        data={"name": label, **(extra or {})},
        external_id=linked_ext,
        parent_pk=parent_pk,
        keys=name_keys(label),
    )
    ctx.created[kind].add(record.pk)
    if linked_ext is not None:
        ctx.links[RECORD_TYPES[kind]] += 1
    return record


def resolve_designation(
    ctx: ImportContext, values: dict[str, object], *, default_campaign: bool = True
) -> dict[str, int]:
    """Fund, campaign (with its parent), cause, team and team member of an activity.

    A transaction's or split's fund is required (validation.py), so none is made up here.
    """
    pks: dict[str, int] = {}
    fund = resolve_named(ctx, "fund", values.get("fund"), values.get("fund_id"))
    if fund is not None:
        pks["fund_pk"] = fund.pk
    parent = resolve_named(
        ctx, "campaign", values.get("parent_campaign"), values.get("parent_campaign_id")
    )
    campaign_name = values.get("campaign")
    if default_campaign and campaign_name is None and values.get("campaign_id") is None:
        campaign_name = DEFAULT_CAMPAIGN
    campaign = resolve_named(
        ctx,
        "campaign",
        campaign_name,
        values.get("campaign_id"),
        extra={"parent_pk": parent.pk if parent else None, "fund_pk": pks.get("fund_pk")},
    )
    if campaign is not None:
        pks["campaign_pk"] = campaign.pk
    if parent is not None:
        pks["parent_campaign_pk"] = parent.pk
    pks.update(resolve_cause_team(ctx, values))
    return pks


def resolve_cause_team(ctx: ImportContext, values: dict[str, object]) -> dict[str, int]:
    """Cause, then its team, then the team member (named by first and last name)."""
    pks: dict[str, int] = {}
    cause = resolve_named(ctx, "cause", values.get("cause"), values.get("cause_id"))
    if cause is not None:
        pks["cause_pk"] = cause.pk
    team = resolve_named(
        ctx,
        "team",
        values.get("team"),
        values.get("team_id"),
        parent_pk=cause.pk if cause else None,
    )
    if team is not None:
        pks["team_pk"] = team.pk
    first, last = values.get("team_member_first_name"), values.get("team_member_last_name")
    member_name = " ".join(str(part) for part in (first, last) if part) or None
    member = resolve_named(
        ctx,
        "team_member",
        member_name,
        values.get("team_member_id"),
        parent_pk=team.pk if team else None,
    )
    if member is not None:
        pks["team_member_pk"] = member.pk
    return pks

"""Kindful's current state, read once before any row is judged, and never written to.

One paged contacts/query and one transactions/query; or, for a create run matching contacts by
a handful of emails, contacts/email_exist per email, which answers the only question such a run
asks without paging through every contact. The answers fill the match indexes the verdicts use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipelines.kindful.client import KindfulClient
from pipelines.preview.match_index import EMAIL_KEYS, Index, Matching, Record, norm
from pipelines.transform.options import RunOptions

__all__ = ["EMAIL_EXIST_MAX", "KindfulState", "read_kindful_state"]

# Up to this many distinct emails, a create run matching contacts by email asks email_exist
# (001: "quickly check if a contact already exists") instead of paging through every contact.
EMAIL_EXIST_MAX = 20
_PER_PAGE = 50  # 001: "50 is max and default page size"


class _HideEmailExist(logging.Filter):
    """httpx logs each request's URL at INFO; an email_exist URL carries the email."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "email_exist" not in record.getMessage()


@dataclass
class KindfulState:
    """Kindful's records, indexed for matching, and how many each endpoint returned."""

    contacts: Index = field(default_factory=Index)
    transactions: Index = field(default_factory=Index)
    reads: dict[str, int] = field(default_factory=dict)


def read_kindful_state(
    frames: list[pd.DataFrame],
    options: RunOptions,
    matching: Matching,
    client: KindfulClient,
    email_exist_max: int,
) -> KindfulState:
    """The records the rows in `frames` could match; nothing is read for an empty file."""
    state = KindfulState()
    if not any(len(frame) for frame in frames):
        return state
    if matching.has_contact:
        _read_contacts(state, frames, options, matching, client, email_exist_max)
    act = matching.activity
    if act is not None and act.kind in ("transaction", "split_transaction"):
        query: list[Any] = ["linked"] if matching.activity_how == "external_id" else []
        for item in client.query_transactions(
            query, columns={"transaction": ["all"]}, per_page=_PER_PAGE
        ):
            if item.get("record_type", "transaction") == "transaction":
                state.transactions.add_answer(item, matching.activity_keys)
        state.transactions.oldest_first()
        state.reads["transactions/query"] = state.transactions.read
    return state


def _read_contacts(
    state: KindfulState,
    frames: list[pd.DataFrame],
    options: RunOptions,
    matching: Matching,
    client: KindfulClient,
    email_exist_max: int,
) -> None:
    emails: set[str] = set()
    for frame in frames:
        if "email" in frame.columns and len(emails) <= email_exist_max:
            emails.update(norm(e) for e in frame["email"].dropna())
    if (
        matching.contact_how == "email"
        and options.action == "create"
        and len(emails) <= email_exist_max
    ):
        # A create run needs no timestamps: "does this email exist" is the whole question.
        quiet, httpx_logger = _HideEmailExist(), logging.getLogger("httpx")
        httpx_logger.addFilter(quiet)
        try:
            for email in sorted(emails):
                if client.email_exists(email):
                    record = Record(None, None, None, " (contacts/email_exist)")
                    state.contacts.add(record, {"email": email})
        finally:
            httpx_logger.removeFilter(quiet)
        state.reads["contacts/email_exist"] = len(emails)
        return
    query: list[Any] = []
    if matching.contact_how == "external_id":
        # Matching by external id only ever finds this app's (linked) contacts.
        without_id = any("id" not in frame.columns or frame["id"].isna().any() for frame in frames)
        query = [{"or": ["linked", {"has_email": "Yes"}]}] if without_id else ["linked"]
    elif matching.contact_how in EMAIL_KEYS:
        query = [{"has_email": "Yes"}]
    for item in client.query_contacts(query, columns={"contact": ["all"]}, per_page=_PER_PAGE):
        state.contacts.add_answer(item, matching.contact_keys)
    state.contacts.oldest_first()
    state.reads["contacts/query"] = state.contacts.read

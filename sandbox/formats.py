"""The import formats of 001: which records each writes and which columns it knows.

One table of columns per record type; each format is a combination of them. Rules for the
values of a column live in `columns.py`, the per-row checks in `validation.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTACT_COLUMNS: tuple[str, ...] = (
    "id", "first_name", "last_name", "company_name", "employer", "email", "alt_email",
    "addr1", "addr2", "city", "state", "postal", "country", "title", "birthday",
    "primary_phone", "alt_phone", "fax_phone", "spouse_first", "spouse_last", "gender",
    "created_at", "updated_at", "occupation", "retired_or_not_employed", "email_opt_in",
    "email_deliverable", "email_deliverable_error_reason", "stripe_customer_id",
    "authorize_customer_id", "paypal_payer_id",
)  # fmt: skip
# 001's "Creating Groups" / "Creating Events" name no column to send a group or an event in,
# so `group`, `group_id`, `event`, `event_id` are unknown columns like any other.

DESIGNATION_COLUMNS: tuple[str, ...] = (
    "campaign", "campaign_id", "parent_campaign", "parent_campaign_id", "fund", "fund_id",
)  # fmt: skip

CAUSE_TEAM_COLUMNS: tuple[str, ...] = (
    "cause", "cause_id", "team", "team_id", "team_member_first_name", "team_member_last_name",
    "team_member_id",
)  # fmt: skip

TRANSACTION_COLUMNS: tuple[str, ...] = (
    "transaction_id", "amount_in_cents", "currency", "transaction_time",
    "transaction_updated_at", "acknowledged", "transaction_note", "stripe_charge_id",
    "authorize_transaction_id", "paypal_transaction_id", "transaction_type", "was_refunded",
    "check_num", "card_type", "non_tax_deductible_amount_in_cents", "is_donation",
)  # fmt: skip

NOTE_COLUMNS: tuple[str, ...] = (
    "note_id", "message", "note_time", "note_updated_at", "note_type", "note_subject",
    "note_body", "message_body", "note_sender_name", "note_sender_email",
)  # fmt: skip

PLEDGE_COLUMNS: tuple[str, ...] = (
    "pledge_id", "amount_in_cents", "currency", "pledge_time", "pledge_updated_at",
    "acknowledged", "pledge_note",
)  # fmt: skip

NON_CASH_GIFT_COLUMNS: tuple[str, ...] = (
    "non_cash_gift_id", "amount_in_cents", "currency", "non_cash_gift_time",
    "non_cash_gift_updated_at", "acknowledged", "non_cash_gift_note",
    "non_tax_deductible_amount_in_cents",
)  # fmt: skip

SOFT_CREDIT_COLUMNS: tuple[str, ...] = (
    "soft_credit_id", "amount_in_cents", "currency", "soft_credit_time",
    "soft_credit_updated_at", "acknowledged", "soft_credit_note",
)  # fmt: skip

SPLIT_COLUMNS: tuple[str, ...] = (
    "id", "transaction_id", "unit_amount_in_cents", "quantity", "deleted_at",
    *DESIGNATION_COLUMNS,
)  # fmt: skip


@dataclass(frozen=True)
class ActivitySpec:
    """The activity record a `contact_with_*` format writes next to the contact."""

    kind: str  # store kind and match_by key, e.g. "transaction"
    record_type: str  # the stats key, e.g. "Transaction"
    columns: tuple[str, ...]
    required: tuple[str, ...]
    # One of each group must be present (transaction: fund or fund_id; note: its content).
    one_of: tuple[tuple[str, ...], ...] = ()

    @property
    def id_column(self) -> str:
        return f"{self.kind}_id"

    @property
    def time_column(self) -> str:
        return f"{self.kind}_time"

    @property
    def updated_column(self) -> str:
        return f"{self.kind}_updated_at"


# 001, contact_with_transaction: fund "Yes (if unknown, pass 'General')", fund_id "Yes (if
# unknown, pass '1')": one of the two. Same for split_transaction's fund.
FUND_REQUIRED = ("fund", "fund_id")
# 001, contact_with_note: `message` is "Yes", but the format's own example sends only
# note_subject, note_body and message_body. Any of them is the note's content, the same rule
# as kindful-etl's validator (schemas/columns.py, contact_with_note's one_of; a test keeps the
# two equal).
NOTE_CONTENT = ("message", "note_subject", "note_body", "message_body")

TRANSACTION = ActivitySpec(
    "transaction",
    "Transaction",
    TRANSACTION_COLUMNS + DESIGNATION_COLUMNS + CAUSE_TEAM_COLUMNS,
    ("amount_in_cents", "transaction_time"),
    (FUND_REQUIRED,),
)
NOTE = ActivitySpec(
    "note",
    "Note",
    NOTE_COLUMNS + DESIGNATION_COLUMNS,
    ("note_time",),
    (NOTE_CONTENT,),
)
PLEDGE = ActivitySpec(
    "pledge", "Pledge", PLEDGE_COLUMNS + DESIGNATION_COLUMNS, ("amount_in_cents", "pledge_time")
)
NON_CASH_GIFT = ActivitySpec(
    "non_cash_gift",
    "Non Cash Gift",
    NON_CASH_GIFT_COLUMNS + DESIGNATION_COLUMNS,
    ("amount_in_cents", "non_cash_gift_time"),
)
SOFT_CREDIT = ActivitySpec(
    "soft_credit",
    "Soft Credit",
    SOFT_CREDIT_COLUMNS + DESIGNATION_COLUMNS,
    # 001, contact_with_soft_credit: soft_credit_id is "Yes".
    ("soft_credit_id", "amount_in_cents", "soft_credit_time"),
)


@dataclass(frozen=True)
class FormatSpec:
    """One `data_format`: the contact part, an optional activity, optional cause/team columns."""

    name: str
    activity: ActivitySpec | None = None
    cause_team: bool = False
    split: bool = False

    @property
    def columns(self) -> frozenset[str]:
        if self.split:
            return frozenset(SPLIT_COLUMNS)
        cols = set(CONTACT_COLUMNS)
        if self.activity is not None:
            cols.update(self.activity.columns)
        if self.cause_team:
            cols.update(CAUSE_TEAM_COLUMNS + DESIGNATION_COLUMNS)
        return frozenset(cols)

    @property
    def main_kind(self) -> str:
        """The record a row is about: its activity, a split, else the contact."""
        if self.split:
            return "split_transaction"
        return self.activity.kind if self.activity is not None else "contact"


FORMATS: dict[str, FormatSpec] = {
    spec.name: spec
    for spec in (
        FormatSpec("contact"),
        FormatSpec("contact_with_transaction", TRANSACTION),
        FormatSpec("split_transaction", split=True),
        FormatSpec("contact_with_note", NOTE),
        FormatSpec("contact_with_pledge", PLEDGE),
        FormatSpec("contact_with_non_cash_gift", NON_CASH_GIFT),
        FormatSpec("contact_with_soft_credit", SOFT_CREDIT),
        FormatSpec("contact_with_cause_team", cause_team=True),
    )
}

CONTACT_MATCH_BY = frozenset(
    {
        "external_id", "id", "email", "first_name_last_name", "first_name_last_name_email",
        "company_name", "company_name_email", "stripe_customer_id", "authorize_customer_id",
        "paypal_payer_id",
    }
)  # fmt: skip
TRANSACTION_MATCH_BY = frozenset(
    {"external_id", "id", "stripe_charge_id", "paypal_transaction_id", "authorize_transaction_id"}
)
ACTIVITY_MATCH_BY = frozenset({"external_id", "id"})
NAMED_MATCH_BY = frozenset({"external_id", "id", "name"})

MATCH_BY_OPTIONS: dict[str, frozenset[str]] = {
    "contact": CONTACT_MATCH_BY,
    "transaction": TRANSACTION_MATCH_BY,
    "note": ACTIVITY_MATCH_BY,
    "pledge": ACTIVITY_MATCH_BY,
    "non_cash_gift": ACTIVITY_MATCH_BY,
    "soft_credit": ACTIVITY_MATCH_BY,
    "split_transaction": ACTIVITY_MATCH_BY,
    "campaign": NAMED_MATCH_BY,
    "fund": NAMED_MATCH_BY,
    "group": NAMED_MATCH_BY,  # 001: "performing a match_by group name"; no column to use it
    "event": NAMED_MATCH_BY,  # 001: "match_by event name or match_by event id"; likewise
    "cause": NAMED_MATCH_BY,
    "team": NAMED_MATCH_BY,
    "team_member": NAMED_MATCH_BY,
}

# Record kinds the store holds, with the stats key Kindful reports for each. 001: "Kindful
# stores split transactions in the same table as transactions", so splits count as Transaction.
RECORD_TYPES: dict[str, str] = {
    "contact": "Contact",
    "transaction": "Transaction",
    "split_transaction": "Transaction",
    "note": "Note",
    "pledge": "Pledge",
    "non_cash_gift": "Non Cash Gift",
    "soft_credit": "Soft Credit",
    "fund": "Fund",
    "campaign": "Campaign",
    "group": "Group",
    "cause": "Cause",
    "team": "Team",
    "team_member": "Team Member",
    "custom_field": "Custom Field",
}

# 001, "Import Status by Job ID": the update_stats a complete job lists, zero or not.
UPDATE_STATS_KEYS: tuple[str, ...] = (
    "Team", "Cause", "Contact", "Team Member", "Transaction", "Custom Field",
    "Recurring Donation", "Custom Field Group",
)  # fmt: skip

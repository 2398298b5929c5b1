"""The one declarative table of Kindful import columns (001, "columns" tables).

Every format's pandera schema, normalizer choice and output column order derive from here, so a
rule is written once. Section comments name the part of the reference a block comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args


class Kind(StrEnum):
    """How a column's values are normalized and which canonical form the schema checks."""

    STRING = "string"
    TEXT = "text"
    EMAIL = "email"
    TIMESTAMP = "timestamp"
    DATE = "date"
    CENTS = "cents"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    GENDER = "gender"
    CHOICE = "choice"
    STATE = "state"
    COUNTRY = "country"
    CURRENCY_LOWER = "currency_lower"
    CURRENCY_UPPER = "currency_upper"


class Required(StrEnum):
    """When a value must be present in a row."""

    NO = "no"
    YES = "yes"
    ON_UPDATE = "on_update"  # "Yes if action = update"


@dataclass(frozen=True)
class Column:
    """One Kindful column: its normalizer kind, presence rule and limits."""

    name: str
    kind: Kind = Kind.STRING
    required: Required = Required.NO
    max_length: int | None = 255
    allowed: tuple[str, ...] | None = None
    positive: bool = False
    default: str | None = None  # filled (with a warning) when blank
    default_unless: str | None = None  # ... and this other column is blank too
    default_from: str | None = None  # on update, copied (with a warning) from this column


GENDERS = ("M", "F", "U")
# 001, contact_with_transaction: transaction_type
TRANSACTION_TYPES = (
    "Cash",
    "Credit",
    "Check",
    "Paypal",
    "Stock",
    "EFT",
    "Payroll Deduction",
    "Consolidated",
    "Square",
)
# 001, contact_with_note: note_type ("No - Default 'General'")
NOTE_TYPES = (
    "Call",
    "Event",
    "General",
    "Meeting",
    "Received Email",
    "Received Letter",
    "Recurring Gift Cancelation",
    "Recurring Gift Update",
    "Sent Email",
    "Sent Letter",
    "Visit From",
    "Visit To",
)


def _s(name: str) -> Column:
    return Column(name)


# 001/003, contact: the columns every contact-bearing format shares ("Email Deliverable Params
# are available on all contact import types").
CONTACT = (
    Column("id"),
    _s("first_name"),
    _s("last_name"),
    _s("company_name"),
    _s("employer"),
    Column("email", Kind.EMAIL),
    Column("alt_email", Kind.EMAIL),
    _s("addr1"),
    _s("addr2"),
    _s("city"),
    Column("state", Kind.STATE),
    _s("postal"),
    Column("country", Kind.COUNTRY),
    _s("title"),
    Column("birthday", Kind.DATE),
    _s("primary_phone"),
    _s("alt_phone"),
    _s("fax_phone"),
    _s("spouse_first"),
    _s("spouse_last"),
    Column("gender", Kind.GENDER, allowed=GENDERS),
    Column("created_at", Kind.TIMESTAMP),
    # 003: "Yes if action = update"; like a record's *_updated_at it falls back to creation time.
    Column("updated_at", Kind.TIMESTAMP, Required.ON_UPDATE, default_from="created_at"),
    _s("occupation"),
    Column("retired_or_not_employed", Kind.BOOLEAN),
    Column("email_opt_in", Kind.BOOLEAN),
    Column("email_deliverable", Kind.BOOLEAN),
    _s("email_deliverable_error_reason"),
)

# 001, contact_with_transaction: payment-processor ids on the contact.
PAYMENT_CONTACT_IDS = (
    _s("stripe_customer_id"),
    _s("authorize_customer_id"),
    _s("paypal_payer_id"),
)

CAMPAIGN = (
    _s("campaign"),
    _s("campaign_id"),
    _s("parent_campaign"),
    _s("parent_campaign_id"),
)

# 001, contact_with_transaction and split_transaction: fund "Yes (if unknown, pass 'General')".
# A row that names its fund by fund_id knows it; only a row with neither gets "General".
REQUIRED_FUND = (
    Column("fund", default="General", default_unless="fund_id"),
    _s("fund_id"),
)
OPTIONAL_FUND = (_s("fund"), _s("fund_id"))

CAUSE_TEAM = (
    _s("cause"),
    _s("cause_id"),
    _s("team"),
    _s("team_id"),
    _s("team_member_first_name"),
    _s("team_member_last_name"),
    _s("team_member_id"),
)


def _activity(
    record: str,
    *,
    amount: bool = True,
    currency: Kind | None = Kind.CURRENCY_UPPER,
    id_required: bool = False,
) -> tuple[Column, ...]:
    """The id / amount / currency / time / updated_at block of a pledge, gift or soft credit."""
    columns = [Column(f"{record}_id", required=Required.YES if id_required else Required.NO)]
    if amount:
        columns.append(Column("amount_in_cents", Kind.CENTS, Required.YES))
    if currency is not None:
        columns.append(Column("currency", currency))
    columns += [
        Column(f"{record}_time", Kind.TIMESTAMP, Required.YES),
        # "If not specified it will be set to <record>_time. Required if an update is performed."
        Column(
            f"{record}_updated_at",
            Kind.TIMESTAMP,
            Required.ON_UPDATE,
            default_from=f"{record}_time",
        ),
    ]
    return tuple(columns)


TRANSACTION = (
    Column("transaction_id"),
    Column("amount_in_cents", Kind.CENTS, Required.YES, positive=True),  # "Must be > 0"
    Column("currency", Kind.CURRENCY_LOWER),  # "lowercase"
    Column("transaction_time", Kind.TIMESTAMP, Required.YES),
    Column(
        "transaction_updated_at",
        Kind.TIMESTAMP,
        Required.ON_UPDATE,
        default_from="transaction_time",
    ),
    *CAMPAIGN,
    *REQUIRED_FUND,
    Column("acknowledged", Kind.BOOLEAN),
    Column("transaction_note", Kind.TEXT, max_length=2000),
    _s("stripe_charge_id"),
    _s("authorize_transaction_id"),
    _s("paypal_transaction_id"),
    Column("transaction_type", Kind.CHOICE, allowed=TRANSACTION_TYPES),
    Column("was_refunded", Kind.BOOLEAN),
    _s("check_num"),
    _s("card_type"),
    Column("non_tax_deductible_amount_in_cents", Kind.CENTS),
    Column("is_donation", Kind.BOOLEAN),
    *CAUSE_TEAM,
)

SPLIT_TRANSACTION = (
    Column("id"),
    # "If a transaction_id isn't found then the row will be dropped": without one it never is.
    Column("transaction_id", required=Required.YES),
    Column("unit_amount_in_cents", Kind.CENTS, Required.YES, positive=True),  # "Must be > 0"
    Column("quantity", Kind.INTEGER),  # "integer that defaults to 1"
    *CAMPAIGN,
    *REQUIRED_FUND,
    Column("deleted_at", Kind.TIMESTAMP),
)

NOTE = (
    *_activity("note", amount=False, currency=None),
    Column("message", Kind.TEXT, max_length=None),
    *CAMPAIGN,
    *OPTIONAL_FUND,
    Column("note_type", Kind.CHOICE, allowed=NOTE_TYPES),
    _s("note_subject"),
    Column("note_body", Kind.TEXT, max_length=5000),  # "Text (max 5000 characters)"
    Column("message_body", Kind.TEXT, max_length=None),
    _s("note_sender_name"),
    Column("note_sender_email", Kind.EMAIL),
)

PLEDGE = (
    *_activity("pledge"),
    *CAMPAIGN,
    *OPTIONAL_FUND,
    Column("acknowledged", Kind.BOOLEAN),
    Column("pledge_note", Kind.TEXT, max_length=None),
)

NON_CASH_GIFT = (
    *_activity("non_cash_gift"),
    *CAMPAIGN,
    *OPTIONAL_FUND,
    Column("acknowledged", Kind.BOOLEAN),
    Column("non_cash_gift_note", Kind.TEXT, max_length=None),
    Column("non_tax_deductible_amount_in_cents", Kind.CENTS),
)

# 001, contact_with_soft_credit: soft_credit_id "Yes"; currency appears in the example.
SOFT_CREDIT = (
    *_activity("soft_credit", id_required=True),
    *CAMPAIGN,
    *OPTIONAL_FUND,
    Column("acknowledged", Kind.BOOLEAN),
    Column("soft_credit_note", Kind.TEXT, max_length=None),
)

CAUSE_TEAM_FORMAT = (*CAMPAIGN, *OPTIONAL_FUND, *CAUSE_TEAM)


@dataclass(frozen=True)
class ImportFormat:
    """A Kindful `data_format`: its columns in output order and its row rules."""

    name: str
    columns: tuple[Column, ...]
    has_contact: bool = True
    main_record: str = "Contact"  # the record type whose stats account for a row
    # Row rule: at least one of these must be present (contact_with_note: a note needs content).
    one_of: tuple[str, ...] = ()

    def column(self, name: str) -> Column | None:
        return _BY_NAME[self.name].get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _contact_format(
    name: str, *extra: Column, main_record: str = "Contact", one_of: tuple[str, ...] = ()
) -> ImportFormat:
    contact: tuple[Column, ...] = CONTACT
    if main_record != "Contact":
        # 001: updated_at is needed on update only "if you're updating contact"; a gift without
        # it still imports (the contact is left as is), so it is optional in activity formats.
        contact = tuple(Column(c.name, c.kind) if c.name == "updated_at" else c for c in CONTACT)
    return ImportFormat(name, _merge(contact, extra), main_record=main_record, one_of=one_of)


def _merge(*blocks: tuple[Column, ...]) -> tuple[Column, ...]:
    """Concatenate blocks, keeping the first definition of a repeated column name."""
    seen: dict[str, Column] = {}
    for block in blocks:
        for column in block:
            seen.setdefault(column.name, column)
    return tuple(seen.values())


FORMATS: dict[str, ImportFormat] = {
    f.name: f
    for f in (
        _contact_format("contact"),
        _contact_format(
            "contact_with_transaction",
            *PAYMENT_CONTACT_IDS,
            *TRANSACTION,
            main_record="Transaction",
        ),
        ImportFormat(
            "split_transaction", SPLIT_TRANSACTION, has_contact=False, main_record="Transaction"
        ),
        _contact_format(
            "contact_with_note",
            *NOTE,
            main_record="Note",
            one_of=("message", "note_subject", "note_body", "message_body"),
        ),
        _contact_format("contact_with_pledge", *PLEDGE, main_record="Pledge"),
        _contact_format("contact_with_non_cash_gift", *NON_CASH_GIFT, main_record="Non Cash Gift"),
        _contact_format("contact_with_soft_credit", *SOFT_CREDIT, main_record="Soft Credit"),
        _contact_format("contact_with_cause_team", *CAUSE_TEAM_FORMAT, main_record="Contact"),
    )
}

_BY_NAME: dict[str, dict[str, Column]] = {
    name: {c.name: c for c in f.columns} for name, f in FORMATS.items()
}

# 002 and the reference's README: contact match_by keys and the columns each one reads.
CONTACT_MATCH_KEYS: dict[str, tuple[str, ...]] = {
    "external_id": ("id",),
    "id": ("id",),
    "email": ("email",),
    "first_name_last_name_email": ("first_name", "last_name", "email"),
    "company_name_email": ("company_name", "email"),
    "first_name_last_name": ("first_name", "last_name"),
    "company_name": ("company_name",),
    "stripe_customer_id": ("stripe_customer_id",),
    "authorize_customer_id": ("authorize_customer_id",),
}

# The formats and actions as types, so a deployment's run form offers them as choices.
DataFormat = Literal[
    "contact",
    "contact_with_transaction",
    "split_transaction",
    "contact_with_note",
    "contact_with_pledge",
    "contact_with_non_cash_gift",
    "contact_with_soft_credit",
    "contact_with_cause_team",
]
Action = Literal["create", "update"]
assert set(get_args(DataFormat)) == set(FORMATS), "DataFormat must list every format"

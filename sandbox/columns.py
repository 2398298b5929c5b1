"""What a valid value looks like for each Kindful column (001's "type" and "notes" columns).

`clean_value` turns a cell into its stored form or raises ValueError with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sandbox.timeparse import parse_birthday, parse_timestamp

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_TRUE = {"y", "yes", "1", "true", "t"}
_FALSE = {"n", "no", "0", "false", "f"}
_GENDERS = {"m": "M", "male": "M", "f": "F", "female": "F", "u": "U", "unknown": "U"}
# 001, contact_with_transaction: transaction_type values; card_type values.
TRANSACTION_TYPES = (
    "cash", "credit", "check", "paypal", "stock", "eft", "payroll deduction", "consolidated",
    "square",
)  # fmt: skip
CARD_TYPES = ("mastercard", "master card", "visa", "discover", "amex", "american express")
# 001, contact_with_note: note_type values.
NOTE_TYPES = (
    "call", "event", "general", "meeting", "received email", "received letter",
    "recurring gift cancelation", "recurring gift update", "sent email", "sent letter",
    "visit from", "visit to",
)  # fmt: skip
STRING_MAX = 255


def _string(limit: int) -> Callable[[str], object]:
    def check(text: str) -> object:
        if len(text) > limit:
            raise ValueError(f"longer than {limit} characters")
        return text

    return check


def _email(text: str) -> object:
    if not _EMAIL.match(text) or len(text) > STRING_MAX:
        raise ValueError(f"not a valid email address: {text!r}")
    return text


def _boolean(text: str) -> object:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"not a boolean (Y,N,0,1,true,false): {text!r}")


def _integer(minimum: int) -> Callable[[str], object]:
    def check(text: str) -> object:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"not an integer: {text!r}") from None
        if not number.is_integer():
            raise ValueError(f"not a whole number of cents: {text!r}")
        if number < minimum:
            raise ValueError(f"must be >= {minimum}" if minimum else "must be >= 0")
        return int(number)

    return check


def _enum(values: tuple[str, ...]) -> Callable[[str], object]:
    def check(text: str) -> object:
        if text.lower() not in values:
            raise ValueError(f"{text!r} is not one of {', '.join(values)}")
        return text.lower()

    return check


def _gender(text: str) -> object:
    try:
        return _GENDERS[text.lower()]
    except KeyError:
        raise ValueError(f"not M, F or U: {text!r}") from None


def _currency(text: str) -> object:
    if not _CURRENCY.match(text):
        raise ValueError(f"not a 3-letter currency code: {text!r}")
    return text.upper()


def _timestamp(text: str) -> object:
    return parse_timestamp(text)


def _birthday(text: str) -> object:
    return parse_birthday(text)


_TEXT = _string(65_535)
_RULES: dict[str, Callable[[str], object]] = {
    "email": _email,
    "alt_email": _email,
    "note_sender_email": _email,
    "gender": _gender,
    "birthday": _birthday,
    "amount_in_cents": _integer(1),
    "unit_amount_in_cents": _integer(1),
    "quantity": _integer(1),
    "non_tax_deductible_amount_in_cents": _integer(0),
    "currency": _currency,
    "transaction_type": _enum(TRANSACTION_TYPES),
    "card_type": _enum(CARD_TYPES),
    "note_type": _enum(NOTE_TYPES),
    "transaction_note": _string(2000),
    "note_body": _string(5000),
    "message": _TEXT,
    "message_body": _TEXT,
    "pledge_note": _TEXT,
    "non_cash_gift_note": _TEXT,
    "soft_credit_note": _TEXT,
}
for _name in (
    "acknowledged", "was_refunded", "is_donation", "retired_or_not_employed", "email_opt_in",
    "email_deliverable",
):  # fmt: skip
    _RULES[_name] = _boolean


def _rule_for(column: str) -> Callable[[str], object]:
    if column in _RULES:
        return _RULES[column]
    if column in ("created_at", "updated_at", "deleted_at") or column.endswith(
        ("_time", "_updated_at")
    ):
        return _timestamp
    return _string(STRING_MAX)


def cell_text(value: object) -> str | None:
    """A cell as text; None, "" and blanks mean "not provided"."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value).strip()
    return text or None


def clean_value(column: str, text: str) -> object:
    """The stored form of a provided cell, or ValueError saying why it is not acceptable."""
    return _rule_for(column)(text)

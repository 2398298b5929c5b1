"""Deterministic ids for rows that come without their Kindful external ids.

Kindful matches records by the app's external ids (002). A row without `id`, `transaction_id`,
`note_id`, ... would otherwise be matched by name and email or given a fresh guid, so re-running
an export, or loading a second export that overlaps the first, would create duplicates. The id is
derived from the source system (not the file) and the fields that identify the record, never
from fields that may later change (a refund flag, a campaign), so the same gift always gets the
same id. Identical rows get an occurrence suffix so two equal gifts are never merged into one.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from schemas.columns import ImportFormat

ID_PREFIX = "ke-"

# The record id column of each format and the columns that identify one record of it.
RECORD_IDENTITY: dict[str, tuple[str, tuple[str, ...]]] = {
    "contact_with_transaction": ("transaction_id", ("transaction_time", "amount_in_cents")),
    "contact_with_note": ("note_id", ("note_time", "note_type", "note_subject")),
    "contact_with_pledge": ("pledge_id", ("pledge_time", "amount_in_cents")),
    "contact_with_non_cash_gift": ("non_cash_gift_id", ("non_cash_gift_time", "amount_in_cents")),
    "contact_with_soft_credit": ("soft_credit_id", ("soft_credit_time", "amount_in_cents")),
    # 001, split_transaction: ids "<trans_id>:<split_id>" so splits never overlap transactions.
    "split_transaction": (
        "id",
        ("transaction_id", "campaign", "campaign_id", "fund", "fund_id", "unit_amount_in_cents"),
    ),
}
# A contact is its email when it has one, else its name and address.
CONTACT_BY_EMAIL = ("email",)
CONTACT_BY_NAME = ("first_name", "last_name", "company_name", "addr1", "postal")


def _key(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """The columns' values joined with a separator no value contains, lowercased."""
    parts = [
        frame[c].astype("string").fillna("").str.lower()
        if c in frame.columns
        else pd.Series("", index=frame.index, dtype="string")
        for c in columns
    ]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + "\x1f" + part
    return joined


def _digest(keys: pd.Series) -> pd.Series:
    # hashlib, not pandas' hash_pandas_object: ids must stay the same across library upgrades.
    return keys.map(lambda k: hashlib.sha256(k.encode()).hexdigest()[:24])


@dataclass
class IdAssigner:
    """Fills missing ids chunk by chunk; remembers derived ids so repeats get a suffix."""

    fmt: ImportFormat
    source_system: str
    seen: Counter[str] = field(default_factory=Counter)
    assigned: int = 0

    def contact_keys(self, frame: pd.DataFrame) -> pd.Series:
        by_email = _key(frame, CONTACT_BY_EMAIL)
        by_name = _key(frame, CONTACT_BY_NAME)
        has_email = by_email.str.len() > 0
        return ("email\x1f" + by_email).where(has_email, "name\x1f" + by_name)

    def _fill(self, frame: pd.DataFrame, column: str, keys: pd.Series, occurrences: bool) -> None:
        current = (
            frame[column]
            if column in frame.columns
            else pd.Series(pd.NA, index=frame.index, dtype="object")
        )
        missing = current.isna()
        if not missing.any():
            return
        scoped = self.source_system + "\x1e" + column + "\x1e" + keys[missing]
        derived = ID_PREFIX + _digest(scoped)
        if occurrences:
            derived = self._with_occurrences(derived)
        filled = current.astype("object").copy()
        filled[missing] = derived
        frame[column] = filled
        self.assigned += int(missing.sum())

    def _with_occurrences(self, derived: pd.Series) -> pd.Series:
        """Second and later rows with the same derived id get `-2`, `-3`, ... in file order."""
        within = derived.groupby(derived).cumcount()
        before = derived.map(lambda d: self.seen.get(d, 0))
        number = within + before
        self.seen.update({str(k): int(v) for k, v in derived.value_counts().items()})
        return derived.where(number == 0, derived + "-" + (number + 1).astype(str))

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return `frame` with missing contact and record ids filled in (in place is fine)."""
        if self.fmt.has_contact:
            # Rows for the same person share a contact id: no occurrence suffix.
            self._fill(frame, "id", self.contact_keys(frame), occurrences=False)
        identity = RECORD_IDENTITY.get(self.fmt.name)
        if identity is not None:
            column, fields = identity
            keys = _key(frame, fields)
            if self.fmt.has_contact:
                keys = frame["id"].astype("string").fillna("") + "\x1f" + keys
            self._fill(frame, column, keys, occurrences=True)
        return frame

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
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from pipelines.normalize.arrow_text import arrow_from_objects, arrow_text, lowered
from pipelines.transform.seen_ids import DIGEST_BYTES, SeenIds
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


def _texts(frame: pd.DataFrame, column: str, rows: np.ndarray, *, lower: bool) -> list[str]:
    """The column's values at positions `rows` as text, missing as "" (lowercased if asked)."""
    if column not in frame.columns:
        return [""] * len(rows)
    values = frame[column].to_numpy(dtype=object)[rows]
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        if lower:
            return [v.lower() if isinstance(v, str) else "" for v in values.tolist()]
        return [v if isinstance(v, str) else "" for v in values.tolist()]
    # anything but text and missing: exactly as pandas' "string" dtype spells it
    text = pd.Series(values, dtype=object).astype("string").fillna("")
    return (text.str.lower() if lower else text).tolist()


def _key(frame: pd.DataFrame, columns: tuple[str, ...], rows: np.ndarray) -> list[str]:
    """The columns' values joined with a separator no value contains, lowercased."""
    parts = [_texts(frame, c, rows, lower=True) for c in columns]
    if len(parts) == 1:
        return parts[0]
    return ["\x1f".join(values) for values in zip(*parts, strict=True)]


def _digests(keys: list[str]) -> dict[str, bytes]:
    """sha256 of each distinct key, cut to the id's 12 bytes.

    hashlib, not pandas' hash_pandas_object: ids must stay the same across library upgrades.
    """
    return {k: hashlib.sha256(k.encode()).digest()[:DIGEST_BYTES] for k in dict.fromkeys(keys)}


_SEPARATOR = pa.scalar("\x1f", pa.large_string())  # no value contains it


class _NotText(Exception):
    """A key column holds values Arrow cannot (a str with a lone surrogate): the list path."""


def _arrow_texts(frame: pd.DataFrame, column: str, rows: np.ndarray, *, lower: bool) -> pa.Array:
    """`_texts` as an Arrow string array (lowercased as str.lower does: `lowered`)."""
    if column not in frame.columns:
        return pa.repeat(pa.scalar("", pa.large_string()), len(rows))
    array = arrow_text(frame[column])  # an Arrow-backed column, as normalize_frame writes them
    if array is not None:
        array = array.take(pa.array(rows))
    else:
        values = frame[column].to_numpy(dtype=object)[rows]
        array = arrow_from_objects(values)
        if array is None and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            raise _NotText(column)
        if array is None:  # not text: as `_texts` spells it
            return pa.array(_texts(frame, column, rows, lower=lower), pa.large_string())
    array = array.fill_null("")
    return lowered(array) if lower else array


def _arrow_key(frame: pd.DataFrame, columns: tuple[str, ...], rows: np.ndarray) -> pa.Array:
    """`_key` as an Arrow string array. Lowercased once joined: the separator is no cased
    letter nor case-ignorable, so str.lower's one contextual rule (a final sigma) sees each
    value's end as it does alone."""
    parts = [_arrow_texts(frame, c, rows, lower=False) for c in columns]
    if len(parts) == 1:
        return lowered(parts[0])
    return lowered(pc.binary_join_element_wise(*parts, _SEPARATOR))


def _prefixed(prefix: str, keys: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(
        pa.scalar(prefix, pa.large_string()), keys, pa.scalar("", pa.large_string())
    )


def _filled(
    current: pd.Series, present: bool, missing: np.ndarray, derived: pa.Array | list[str]
) -> pd.Series:
    """`current` with the `missing` rows set to `derived`: Arrow-backed text ("str") for an
    Arrow-backed column or a new one, as normalize_frame writes columns; object otherwise."""
    array = arrow_text(current) if present else pa.nulls(len(current), pa.large_string())
    if isinstance(derived, list):
        derived = pa.array(derived, pa.large_string())
    if array is not None:
        filled = pc.replace_with_mask(array, pa.array(missing), derived)
        return pd.Series(filled, index=current.index, dtype="str")
    values = current.to_numpy(dtype=object, copy=True)
    values[missing] = derived.to_pylist()
    return pd.Series(values, index=current.index, dtype=object)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _id_texts(digests: np.ndarray) -> pa.Array:
    """`ID_PREFIX` + each digest's hex digits (`bytes.hex`), written into one byte buffer."""
    raw = digests.view(np.uint8).reshape(len(digests), DIGEST_BYTES)
    width = len(ID_PREFIX) + 2 * DIGEST_BYTES
    chars = np.empty((len(digests), width), dtype=np.uint8)
    chars[:, : len(ID_PREFIX)] = np.frombuffer(ID_PREFIX.encode(), dtype=np.uint8)
    chars[:, len(ID_PREFIX) :: 2] = _HEX[raw >> 4]
    chars[:, len(ID_PREFIX) + 1 :: 2] = _HEX[raw & 0x0F]
    offsets = np.arange(0, (len(digests) + 1) * width, width, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_string(), len(digests), [None, pa.py_buffer(offsets), pa.py_buffer(chars)]
    )


def _merged(digests: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """None when the digests are all different (the keys are; 12 bytes of sha256 always
    differ in practice), else each digest's number among the distinct ones, and those."""
    halves = digests.view(np.dtype([("high", "<u8"), ("low", "<u4")]))
    high, _ = pd.factorize(halves["high"])
    same, _ = pd.factorize((high.astype(np.uint64) << np.uint64(32)) | halves["low"])
    if same.max(initial=-1) + 1 == len(digests):
        return None
    first = np.unique(same, return_index=True)[1]
    return np.asarray(same, dtype=np.intp), digests[first]


@dataclass
class IdAssigner:
    """Fills missing ids chunk by chunk; remembers derived ids so repeats get a suffix."""

    fmt: ImportFormat
    source_system: str
    seen: SeenIds = field(default_factory=SeenIds)
    assigned: int = 0

    def contact_keys(self, frame: pd.DataFrame, rows: np.ndarray) -> list[str]:
        """Identity keys of the contacts at positions `rows`: email, else name and address."""
        by_email = _key(frame, CONTACT_BY_EMAIL, rows)
        by_name = _key(frame, CONTACT_BY_NAME, rows)
        return [
            "email\x1f" + email if email else "name\x1f" + name
            for email, name in zip(by_email, by_name, strict=True)
        ]

    def _record_keys(
        self, frame: pd.DataFrame, fields: tuple[str, ...], rows: np.ndarray
    ) -> list[str]:
        keys = _key(frame, fields, rows)
        if not self.fmt.has_contact:
            return keys
        contact = _texts(frame, "id", rows, lower=False)
        return [c + "\x1f" + k for c, k in zip(contact, keys, strict=True)]

    def _arrow_contact_keys(self, frame: pd.DataFrame, rows: np.ndarray) -> pa.Array:
        """`contact_keys` as an Arrow string array."""
        email = _arrow_key(frame, CONTACT_BY_EMAIL, rows)
        name = _arrow_key(frame, CONTACT_BY_NAME, rows)
        has_email = pc.greater(pc.binary_length(email), 0)
        return pc.if_else(has_email, _prefixed("email\x1f", email), _prefixed("name\x1f", name))

    def _arrow_record_keys(
        self, frame: pd.DataFrame, fields: tuple[str, ...], rows: np.ndarray
    ) -> pa.Array:
        """`_record_keys` as an Arrow string array."""
        keys = _arrow_key(frame, fields, rows)
        if not self.fmt.has_contact:
            return keys
        contact = _arrow_texts(frame, "id", rows, lower=False)
        return pc.binary_join_element_wise(contact, keys, _SEPARATOR)

    def _fill(
        self,
        frame: pd.DataFrame,
        column: str,
        keys_for: Callable[[np.ndarray], list[str]],
        arrow_keys_for: Callable[[np.ndarray], pa.Array],
        occurrences: bool,
    ) -> None:
        current = (
            frame[column]
            if column in frame.columns
            else pd.Series(pd.NA, index=frame.index, dtype="object")
        )
        missing = current.isna().to_numpy(dtype=bool)
        if not missing.any():
            return
        rows = np.flatnonzero(missing)
        scope = self.source_system + "\x1e" + column + "\x1e"
        derived: pa.Array | list[str]
        try:
            keys = _prefixed(scope, arrow_keys_for(rows)).dictionary_encode()
        except _NotText:
            derived = self._derived([scope + key for key in keys_for(rows)], occurrences)
        else:
            codes = np.asarray(keys.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
            sha256 = hashlib.sha256
            # the keys' UTF-8 bytes: what str.encode gives hashlib
            texts = keys.dictionary.cast(pa.large_binary()).to_pylist()
            digests = b"".join([sha256(key).digest()[:DIGEST_BYTES] for key in texts])
            derived = self._derived_by_code(
                codes, np.frombuffer(digests, dtype=f"S{DIGEST_BYTES}"), occurrences
            )
        frame[column] = _filled(current, column in frame.columns, missing, derived)
        self.assigned += len(rows)

    def _derived(self, scoped: list[str], occurrences: bool) -> list[str]:
        """The rows' ids from their scoped keys (the path for keys Arrow cannot hold)."""
        digests = _digests(scoped)
        derived = [ID_PREFIX + digests[k].hex() for k in scoped]
        if occurrences:
            derived = self._with_occurrences(derived, [digests[k] for k in scoped])
        return derived

    def _derived_by_code(
        self, codes: np.ndarray, digests: np.ndarray, occurrences: bool
    ) -> pa.Array:
        """The rows' ids from their key codes and each distinct key's digest: `_derived`, with
        the ids written once per distinct key, in numpy, and spread by Arrow."""
        merged = _merged(digests)
        if merged is not None:  # distinct keys with one digest share an id, as ever
            same, digests = merged
            codes = same[codes]
        derived = _id_texts(digests).take(pa.array(codes))
        if not occurrences:
            return derived
        number = self._occurrence_numbers(codes, digests)
        later = np.flatnonzero(number > 0)
        if not len(later):
            return derived
        texts = [
            f"{d}-{n + 1}"
            for d, n in zip(derived.take(later).to_pylist(), number[later].tolist(), strict=True)
        ]
        mask = np.zeros(len(codes), dtype=bool)
        mask[later] = True
        return pc.replace_with_mask(derived, pa.array(mask), pa.array(texts, pa.large_string()))

    def _occurrence_numbers(self, codes: np.ndarray, distinct: np.ndarray) -> np.ndarray:
        """How many times each row's id (`codes` into the `distinct` digests) was handed out
        before it, in this chunk and earlier ones; records this chunk's."""
        before = self.seen.get(distinct)
        order = np.argsort(codes, kind="stable")
        starts = np.searchsorted(codes[order], np.arange(len(distinct)))
        within = np.empty(len(codes), dtype=np.int64)
        within[order] = np.arange(len(codes)) - starts[codes[order]]
        self.seen.add(distinct, before, np.bincount(codes, minlength=len(distinct)))
        return np.asarray(within + before[codes])

    def _with_occurrences(self, derived: list[str], digests: list[bytes]) -> list[str]:
        """Second and later rows with the same derived id get `-2`, `-3`, ... in file order."""
        codes, _ = pd.factorize(np.asarray(derived, dtype=object))
        first = np.unique(codes, return_index=True)[1]  # the first row of each distinct id
        distinct = np.array([digests[i] for i in first], dtype=f"S{DIGEST_BYTES}")
        number = self._occurrence_numbers(np.asarray(codes, dtype=np.intp), distinct)
        return [
            d if n == 0 else f"{d}-{n + 1}" for d, n in zip(derived, number.tolist(), strict=True)
        ]

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return `frame` with missing contact and record ids filled in (in place is fine)."""
        if self.fmt.has_contact:
            # Rows for the same person share a contact id: no occurrence suffix.
            self._fill(
                frame,
                "id",
                lambda rows: self.contact_keys(frame, rows),
                lambda rows: self._arrow_contact_keys(frame, rows),
                occurrences=False,
            )
        identity = RECORD_IDENTITY.get(self.fmt.name)
        if identity is not None:
            column, fields = identity
            self._fill(
                frame,
                column,
                lambda rows: self._record_keys(frame, fields, rows),
                lambda rows: self._arrow_record_keys(frame, fields, rows),
                occurrences=True,
            )
        return frame

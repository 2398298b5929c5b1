"""Email addresses: lower-cased, and only syntactically valid ones passed to Kindful.

Kindful matches contacts by email, so "John@X.com" and "john@x.com" must be one spelling. An
invalid address fails Kindful's "valid email address" rule, so it is dropped with a problem.
"""

from __future__ import annotations

import re

import email_validator
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from pipelines.normalize.arrow_text import TextBytes, lowered, text_array

PROBLEM = "invalid email"

# A strict subset of what email-validator accepts, so the common case skips its ~50 µs per
# address: at most 254 characters, a plain ASCII dot-atom local part of at most 64, LDH labels
# of at most 63 without "--" (IDNA reserves it), and an alphabetic TLD that is not special-use.
_SPECIAL_USE_NAMES = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_USE = "|".join(re.escape(name) for name in _SPECIAL_USE_NAMES)
_PLAIN_RE = re.compile(
    r"(?=.{1,254}\Z)(?=[^@]{1,64}@)"
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*"
    r"@(?:(?=[a-z0-9-]{1,63}\.)[a-z0-9]+(?:-[a-z0-9]+)*\.)+"
    rf"(?!(?:{_SPECIAL_USE})\Z)[a-z]{{2,63}}"
)
# `_PLAIN_RE` for Arrow's RE2, which has no lookarounds (`_surely_plain` adds their tests)
_PLAIN_RE2 = r"^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]{2,63}$"


def emails_distinct(present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Lower-case; NA + "invalid email" where email-validator rejects the syntax.

    Deliverability (DNS) is not checked: it is slow, flaky offline and not Kindful's rule.
    Lowercasing and a first screen run on Arrow strings (`_surely_plain`); only the addresses
    the screen does not clear meet `_PLAIN_RE` and then email-validator, one by one.
    """
    lower = lowered(text_array(present))
    valid = _surely_plain(lower)
    others = np.flatnonzero(~valid)
    fullmatch = _PLAIN_RE.fullmatch
    for i, address in zip(others.tolist(), lower.take(others).to_pylist(), strict=True):
        valid[i] = fullmatch(address) is not None or _validates(address)
    problems = np.full(len(valid), pd.NA, dtype=object)
    problems[~valid] = PROBLEM
    values = pc.if_else(pa.array(valid), lower, pa.scalar(None, lower.type))
    return (
        pd.Series(values, index=present.index, dtype="str"),
        pd.Series(problems, index=present.index, dtype=object),
    )


def _surely_plain(addresses: pa.Array) -> np.ndarray:
    """Which (lower-case) addresses `_PLAIN_RE` surely matches, in C++ and numpy: the pattern
    without its lookarounds, which become length tests on the bytes (an address it matches
    is ASCII and holds one "@"), a domain of at most 63 characters (so is each label; a longer
    one is left to `_PLAIN_RE`) and no special-use name at the end."""
    plain = pc.match_substring_regex(addresses, _PLAIN_RE2)
    for name in _SPECIAL_USE_NAMES:
        plain = pc.and_(plain, pc.invert(pc.ends_with(addresses, "." + name)))
    surely = np.asarray(plain.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool).copy()
    text = TextBytes.of(addresses)
    length = text.ends - text.starts
    ats = np.flatnonzero(text.data == ord("@"))
    local = np.full(len(length), -1, dtype=np.int64)
    rows = np.searchsorted(text.ends, ats, side="right")
    inside = rows < len(length)
    local[rows[inside]] = ats[inside] - text.starts[rows[inside]]  # the one "@" of a match
    surely &= (length <= 254) & (local >= 1) & (local <= 64) & (length - local - 1 <= 63)
    return surely


def _validates(address: str) -> bool:
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True

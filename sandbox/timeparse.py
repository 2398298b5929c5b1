"""Timestamps as 001 accepts them: "integer for unix timestamp (jan 1 1970) or string in UTC of
ISO8601 or RFC3339 format", plus the "2015-10-13 18:56:12 UTC" spelling of its own examples.

Nothing else: no "next Tuesday", no 10/13/2015 (that is a birthday format, not a timestamp).
"""

from __future__ import annotations

import datetime as dt
import re

_UTC = dt.UTC
_UNIX = re.compile(r"^-?\d+$")
_UTC_SUFFIX = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) UTC$")
_ISO_START = re.compile(r"^\d{4}-?\d{2}-?\d{2}")  # fromisoformat also takes "2015-W42"
_DAY = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$")
# 001, birthday: yyyy/mm/dd, mm/dd/yyyy, yyyy-mm-dd, mm-dd-yyyy
_BIRTHDAY_FORMATS = ("%Y/%m/%d", "%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y")


def parse_timestamp(value: object) -> float:
    """Unix seconds for a cell; an ISO string without an offset is UTC ("string in UTC")."""
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"not an integer unix timestamp: {value!r}")
        return value
    text = str(value).strip()
    if _UNIX.match(text):
        return float(int(text))
    suffixed = _UTC_SUFFIX.match(text)
    iso = suffixed.group(1) if suffixed else text
    if not _ISO_START.match(iso):
        raise ValueError(f"not a unix or ISO 8601 / RFC 3339 timestamp: {text!r}")
    try:
        parsed = dt.datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"not a unix or ISO 8601 / RFC 3339 timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_UTC)
    elif suffixed:
        raise ValueError(f"two time zones: {text!r}")
    return parsed.timestamp()


def parse_day(value: object) -> float:
    """Start of a query day (yyyy/mm/dd or yyyy-mm-dd) in UTC, the sandbox org's time zone."""
    match = _DAY.match(str(value).strip())
    if match is None:
        raise ValueError(f"not a day (yyyy/mm/dd or yyyy-mm-dd): {value!r}")
    year, month, day = (int(part) for part in match.groups())
    return dt.datetime(year, month, day, tzinfo=_UTC).timestamp()


def parse_birthday(value: object) -> str:
    """A birthday normalized to yyyy-mm-dd."""
    text = str(value).strip()
    for fmt in _BIRTHDAY_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"not a date (yyyy/mm/dd, mm/dd/yyyy, yyyy-mm-dd, mm-dd-yyyy): {text!r}")


def format_timestamp(seconds: float | None) -> str | None:
    """The "2016-03-31 15:36:52 UTC" form the query examples use."""
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=_UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def record_timestamp(seconds: float | None) -> str | None:
    """The "Tue, 13 Oct 2015 18:56:12 UTC +00:00" form of 001's notification objects."""
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=_UTC).strftime("%a, %d %b %Y %H:%M:%S UTC +00:00")

"""Verdicts: what the import would do with each row's records, and why, by 002's table.

No match -> create; a match in a create run -> leave alone; in an update run -> update only when
the row's time is newer. Rows are judged in file order, as Kindful processes them. Reasons name
ids and emails, so they go into the lines (the analyst's terminal and preview.csv), never to logs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any, Literal

import pandas as pd

from pipelines.preview.kindful_state import KindfulState
from pipelines.preview.match_index import (
    CONTACT_FALLBACKS,
    Activity,
    Match,
    Matching,
    Record,
    find,
    kindful_time,
    match_keys,
)
from pipelines.transform.options import RunOptions

__all__ = [
    "PREVIEW_COLUMNS",
    "VERDICTS",
    "Line",
    "Verdict",
    "rejected_lines",
    "verdict_lines",
]

Verdict = Literal["create", "update", "leave alone", "cannot preview", "rejected"]
VERDICTS: tuple[Verdict, ...] = ("create", "update", "leave alone", "cannot preview", "rejected")
PREVIEW_COLUMNS = ("source_row", "verdict", "record", "contact_verdict", "match_key", "reason")
Line = tuple[int, str, str, str, str, str]  # PREVIEW_COLUMNS


def _show_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _describe(kind: str, match: Match) -> str:
    if match.shown is None:
        return f"the row has no {match.how} to match a {kind} by"
    if match.record is None:
        return f"no {kind} with {match.shown}"
    text = f"{kind} matched by {match.shown}{match.record.origin}"
    if match.candidates > 1:
        text += f"; {match.candidates} {kind}s match, Kindful takes the oldest"
    return text


def _decide(
    action: str, record: Record | None, row_time: float | None, column: str
) -> tuple[Verdict, str]:
    """002's table: what the import does with a row's record, and why."""
    if record is None:
        return "create", ""
    if action != "update":
        return "leave alone", "a create run leaves existing records as they are"
    if row_time is None:
        return "leave alone", f"the row has no {column}, so an update leaves it as it is"
    if record.updated_at is None:
        return "cannot preview", "Kindful did not say when it was last updated"
    ours, theirs = _show_time(row_time), _show_time(record.updated_at)
    if row_time > record.updated_at:
        return "update", f"{column} {ours} is newer than Kindful's {theirs}"
    if ours == theirs:
        return "leave alone", f"{column} {ours} is the same as Kindful's"
    return "leave alone", f"{column} {ours} is older than Kindful's {theirs}"


def _joined(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _rows(frames: list[pd.DataFrame]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(source_row, the row's non-empty values), one chunk's dicts at a time."""
    for frame in frames:
        present = frame.astype(object).where(frame.notna(), None)
        for number, values in zip(frame.index, present.to_dict("records"), strict=True):
            yield int(number) + 1, {str(k): str(v) for k, v in values.items() if v is not None}


def rejected_lines(rejects: pd.DataFrame, record: str) -> list[Line]:
    """One line per rejected record: every problem, as `validate` words it."""
    lines: list[Line] = []
    for source_row, problems in rejects.groupby("source_row", sort=True):
        reasons = [
            f"{c}: {r}" if isinstance(c, str) and c else str(r)
            for c, r in zip(problems["column"], problems["reason"], strict=True)
        ]
        lines.append((int(str(source_row)), "rejected", record, "", "", "; ".join(reasons)))
    return lines


def verdict_lines(
    frames: list[pd.DataFrame], options: RunOptions, matching: Matching, state: KindfulState
) -> list[Line]:
    """One line per accepted row of `frames`, judged against `state` (which it updates)."""
    return _Judge(options, matching, state).lines(frames)


class _Judge:
    """Decides row by row in file order, as Kindful processes them.

    Records an earlier row creates or updates are remembered, so a later row of the same
    contact (or with the same email) sees them as Kindful would.
    """

    def __init__(self, options: RunOptions, matching: Matching, state: KindfulState) -> None:
        self.options = options
        self.activity = matching.activity
        self.has_contact = matching.has_contact
        self.contact_how = matching.contact_how
        self.activity_how = matching.activity_how
        self.contact_keys = matching.contact_keys
        self.activity_keys = matching.activity_keys
        self.contacts = state.contacts
        self.transactions = state.transactions
        self.contact_seen: dict[str, tuple[int, Verdict, str, str]] = {}
        self.contact_time: dict[str, float] = {}
        self.activity_seen: dict[str, int] = {}

    def lines(self, frames: list[pd.DataFrame]) -> list[Line]:
        for frame in frames:
            if not self.has_contact or not {"id", "updated_at"} <= set(frame.columns):
                continue
            # Kindful merges one job's rows of a contact, with the latest timestamps.
            for cid, stamp in zip(frame["id"], frame["updated_at"], strict=True):
                when = None if pd.isna(cid) or pd.isna(stamp) else kindful_time(stamp)
                if when is not None:
                    key = str(cid)
                    self.contact_time[key] = max(when, self.contact_time.get(key, when))
        return [self._line(number, values) for number, values in _rows(frames)]

    def _line(self, number: int, values: dict[str, Any]) -> Line:
        act = self.activity
        if not self.has_contact:
            verdict, how, reason = self._split(values)
            return (number, verdict, "split_transaction", "", how, reason)
        c_verdict, c_how, c_reason = self._contact(number, values)
        if act is None:
            if self.options.data_format == "contact_with_cause_team":
                c_reason = _joined(c_reason, "causes and teams are not previewed")
            return (number, c_verdict, "contact", c_verdict, c_how, c_reason)
        if not act.queryable:
            reason = f"Kindful offers no query for {act.plural}: contact verdict only"
            return (number, "cannot preview", act.kind, c_verdict, "", _joined(reason, c_reason))
        verdict, how, reason = self._transaction(number, values, act)
        return (number, verdict, act.kind, c_verdict, how, _joined(reason, c_reason))

    def _contact(self, number: int, values: dict[str, Any]) -> tuple[Verdict, str, str]:
        cid = values.get("id")
        if cid is not None and cid in self.contact_seen:
            first, verdict, how, reason = self.contact_seen[cid]
            return verdict, how, f"same contact as source row {first}: {reason}"
        match = find(
            self.contacts, self.contact_how, cid, values, self.contact_keys, CONTACT_FALLBACKS
        )
        row_time = self.contact_time.get(cid) if cid is not None else None
        if row_time is None:
            row_time = kindful_time(values.get("updated_at"))
        verdict, why = _decide(self.options.action, match.record, row_time, "updated_at")
        reason = _joined(_describe("contact", match), why)
        record = match.record
        if record is None:
            free = cid is not None and self.contact_how != "id"
            external = cid if free and cid not in self.contacts.by_external else None
            # Kindful keeps the row's updated_at; without one the contact is new as of now.
            stamp = row_time if row_time is not None else time.time()
            created = Record(None, external, stamp, f" (created by source row {number})")
            self.contacts.add(created, match_keys(values, self.contact_keys))
        else:
            if verdict == "update":
                record.updated_at = row_time
            if (
                cid is not None
                and self.contact_how != "id"
                and record.kindful_id is not None
                and record.external_id is None
                and cid not in self.contacts.by_external
            ):
                reason = _joined(reason, f"the import links it to id {cid!r}")
                record.external_id = cid
                self.contacts.by_external[cid] = record
        if cid is not None:
            self.contact_seen[cid] = (number, verdict, match.how, reason)
        return verdict, match.how, reason

    def _transaction(
        self, number: int, values: dict[str, Any], act: Activity
    ) -> tuple[Verdict, str, str]:
        aid = values.get(act.id_column)
        if aid is not None and aid in self.activity_seen:
            first = self.activity_seen[aid]
            return (
                "leave alone",
                self.activity_how,
                f"same {act.id_column} as source row {first}: Kindful merges it into that row",
            )
        match = find(self.transactions, self.activity_how, aid, values, self.activity_keys)
        column = f"{act.kind}_updated_at"
        if values.get(column) is None:
            column = f"{act.kind}_time"  # 001: updated_at "will be set to" the time
        row_time = kindful_time(values.get(column))
        verdict, why = _decide(self.options.action, match.record, row_time, column)
        if match.record is None:
            external = aid if self.activity_how == "external_id" else None
            created = Record(None, external, row_time, f" (created by source row {number})")
            self.transactions.add(created, match_keys(values, self.activity_keys))
        elif verdict == "update":
            match.record.updated_at = row_time
        if aid is not None:
            self.activity_seen[aid] = number
        return verdict, match.how, _joined(_describe(act.kind, match), why)

    def _split(self, values: dict[str, Any]) -> tuple[Verdict, str, str]:
        """Splits are not in any query: say only whether their transaction exists."""
        tid = values.get("transaction_id")
        match = find(self.transactions, self.activity_how, tid, values, ())
        found = _describe("transaction", match)
        if match.record is None:
            found += ": Kindful drops a split whose transaction it cannot find"
        return (
            "cannot preview",
            match.how,
            f"Kindful offers no query for split transactions; {found}",
        )

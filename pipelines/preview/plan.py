"""`preview`: what an import would do to each row, judged against Kindful's current state.

A dry run lets an analyst see creates, updates and untouched rows before anything is sent. It
prepares the source exactly as `validate`/`import` do (same options, same derived ids), reads
Kindful once (one paged contacts/query and one transactions/query, or contacts/email_exist for a
handful of emails in a create run) and applies 002's table per row: no match -> create; a match
in a create run -> leave alone; in an update run -> update only when the row's time is newer.
Nothing is written to Kindful. Verdicts and reasons name ids and emails, so they go to the
returned frame (the analyst's terminal and preview.csv), never to logs.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from dateutil import parser as date_parser

from pipelines.kindful.client import KindfulClient
from pipelines.mapping.spec import Mapping as SourceMapping
from pipelines.outputs.csv_text import write_csv
from pipelines.outputs.private_files import open_private_text, private_dir
from pipelines.outputs.validation_files import neutralize_formulas
from pipelines.staging.safe_urls import safe_url
from pipelines.transform.options import RunOptions, parse_match_by
from pipelines.transform.options import resolve_run as resolve_shared_run
from pipelines.transform.prepare import PreparedChunk, prepare_export

logger = logging.getLogger(__name__)

__all__ = [
    "EMAIL_EXIST_MAX",
    "PREVIEW_COLUMNS",
    "VERDICTS",
    "PreviewResult",
    "preview_export",
    "preview_prepared",
    "resolve_run",
    "write_preview",
]

Verdict = Literal["create", "update", "leave alone", "cannot preview", "rejected"]
VERDICTS: tuple[Verdict, ...] = ("create", "update", "leave alone", "cannot preview", "rejected")
PREVIEW_COLUMNS = ("source_row", "verdict", "record", "contact_verdict", "match_key", "reason")
# Up to this many distinct emails, a create run matching contacts by email asks email_exist
# (001: "quickly check if a contact already exists") instead of paging through every contact.
EMAIL_EXIST_MAX = 20
_PER_PAGE = 50  # 001: "50 is max and default page size"


@dataclass(frozen=True)
class _Activity:
    """The record a row carries besides its contact."""

    kind: str  # as in `<kind>_time`, `<kind>_updated_at`
    plural: str
    id_column: str
    queryable: bool  # 001 offers transactions/query; nothing for notes, pledges, ...


_ACTIVITIES = {
    "contact_with_transaction": _Activity("transaction", "transactions", "transaction_id", True),
    "contact_with_note": _Activity("note", "notes", "note_id", False),
    "contact_with_pledge": _Activity("pledge", "pledges", "pledge_id", False),
    "contact_with_non_cash_gift": _Activity(
        "non_cash_gift", "non-cash gifts", "non_cash_gift_id", False
    ),
    "contact_with_soft_credit": _Activity("soft_credit", "soft credits", "soft_credit_id", False),
    "split_transaction": _Activity("split_transaction", "split transactions", "id", False),
}
# 002's match_by keys and the columns each one reads (Kindful and the sandbox match alike).
_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "first_name_last_name": ("first_name", "last_name"),
    "first_name_last_name_email": ("first_name", "last_name", "email"),
    "company_name": ("company_name",),
    "company_name_email": ("company_name", "email"),
    "stripe_customer_id": ("stripe_customer_id",),
    "authorize_customer_id": ("authorize_customer_id",),
    "paypal_payer_id": ("paypal_payer_id",),
    "stripe_charge_id": ("stripe_charge_id",),
    "paypal_transaction_id": ("paypal_transaction_id",),
    "authorize_transaction_id": ("authorize_transaction_id",),
}
# 003: a row without an id is matched by these, in order.
_CONTACT_FALLBACKS = ("first_name_last_name_email", "company_name_email")
_EMAIL_KEYS = frozenset({"email", "first_name_last_name_email", "company_name_email"})
# Names Kindful's answers use for a column the import calls otherwise (001's examples).
_ALIASES = {"company_name": ("company_name", "organization_name")}


# -- options -----------------------------------------------------------------------------------


def resolve_run(
    *,
    data_format: str | None,
    mapping_path: str | None = None,
    action: str | None = None,
    match_by: tuple[str, ...] | list[str] = (),
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: tuple[str, ...] = (),
) -> tuple[SourceMapping | None, RunOptions]:
    """The mapping and options, resolved as `validate` and `import` resolve them."""
    return resolve_shared_run(
        data_format,
        mapping_path,
        action=action,
        match_by=parse_match_by(tuple(match_by)),
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=custom_fields,
    )


# -- matching ----------------------------------------------------------------------------------


def _norm(value: object) -> str:
    """Case- and whitespace-insensitive, as Kindful matches names and emails."""
    return " ".join(str(value).split()).casefold()


def _keys(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The match_by keys a record can be found by; a key needs every one of its columns."""
    keys: dict[str, str] = {}
    for name in names:
        parts = [_norm(values.get(col) or "") for col in _KEY_COLUMNS[name]]
        if all(parts):
            keys[name] = "|".join(parts)
    return keys


def _kindful_time(value: object) -> float | None:
    """Unix seconds, RFC 3339, "2016-04-05 10:36:52 UTC", "Tue, 13 Oct 2015 20:56:12 UTC"."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = date_parser.parse(text)
        except (ValueError, OverflowError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _show_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class _Record:
    """A record as matching sees it: Kindful's, or one an earlier row of the file creates."""

    kindful_id: str | None
    external_id: str | None
    updated_at: float | None
    origin: str  # how the reason names where it came from


@dataclass
class _Index:
    """One kind of record, found by Kindful id, external id or a match key."""

    by_id: dict[str, _Record] = field(default_factory=dict)
    by_external: dict[str, _Record] = field(default_factory=dict)
    by_key: dict[tuple[str, str], list[_Record]] = field(default_factory=dict)
    read: int = 0

    def add(self, record: _Record, keys: Mapping[str, str]) -> None:
        if record.kindful_id is not None:
            self.by_id.setdefault(record.kindful_id, record)
        if record.external_id is not None:
            self.by_external.setdefault(record.external_id, record)
        for pair in keys.items():
            self.by_key.setdefault(pair, []).append(record)

    def add_answer(self, item: Mapping[str, Any], key_names: Iterable[str]) -> None:
        """A contacts/query or transactions/query result, in the sandbox's or 001's shape."""
        values = dict(item)
        for column, aliases in _ALIASES.items():
            values[column] = next((item[a] for a in aliases if item.get(a)), None)
        kindful_id = None if item.get("id") is None else str(item["id"])
        if kindful_id is not None and kindful_id in self.by_id:
            return  # seen on an earlier page
        external = item.get("external_id")
        record = _Record(
            kindful_id=kindful_id,
            external_id=None if external in (None, "") else str(external),
            updated_at=_kindful_time(item.get("updated_at")),
            origin=f" (Kindful id {kindful_id})",
        )
        self.add(record, _keys(values, key_names))
        self.read += 1

    def oldest_first(self) -> None:
        """Several matches: Kindful takes the oldest, i.e. the lowest id."""

        def order(record: _Record) -> tuple[int, int]:
            rid = record.kindful_id or ""
            return (0, int(rid)) if rid.isdigit() else (1, 0)

        for records in self.by_key.values():
            records.sort(key=order)


@dataclass(frozen=True)
class _Match:
    how: str  # the match_by key used
    shown: str | None  # the row's value as a reason names it; None: the row has none
    record: _Record | None
    candidates: int = 0


def _shown(how: str, values: Mapping[str, Any]) -> str:
    return " ".join(str(values[c]) for c in _KEY_COLUMNS[how])


def _find(
    index: _Index,
    how: str,
    row_id: str | None,
    values: Mapping[str, Any],
    key_names: Iterable[str],
    fallbacks: tuple[str, ...] = (),
) -> _Match:
    """The record a row refers to under one match_by option (002; 003 for rows without ids)."""
    if how in ("id", "external_id") and row_id is not None:
        table = index.by_id if how == "id" else index.by_external
        found = table.get(row_id)
        label = "Kindful id" if how == "id" else "external_id"
        return _Match(how, f"{label} {row_id!r}", found, int(found is not None))
    keys = _keys(values, key_names)
    tried: list[_Match] = []
    for key in fallbacks if how == "external_id" else (how,):
        if key in keys:
            candidates = index.by_key.get((key, keys[key]), [])
            shown = f"{key} {_shown(key, values)!r}"
            tried.append(_Match(key, shown, next(iter(candidates), None), len(candidates)))
            if tried[-1].record is not None:
                return tried[-1]
    return tried[0] if tried else _Match(how, None, None)


def _key_names(how: str, fallbacks: tuple[str, ...]) -> tuple[str, ...]:
    """The match keys worth computing: those this run's match_by can use."""
    if how == "external_id":
        return fallbacks
    return (how,) if how in _KEY_COLUMNS else ()


def _describe(kind: str, match: _Match) -> str:
    if match.shown is None:
        return f"the row has no {match.how} to match a {kind} by"
    if match.record is None:
        return f"no {kind} with {match.shown}"
    text = f"{kind} matched by {match.shown}{match.record.origin}"
    if match.candidates > 1:
        text += f"; {match.candidates} {kind}s match, Kindful takes the oldest"
    return text


def _decide(
    action: str, record: _Record | None, row_time: float | None, column: str
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


class _HideEmailExist(logging.Filter):
    """httpx logs each request's URL at INFO; an email_exist URL carries the email."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "email_exist" not in record.getMessage()


# -- the plan ----------------------------------------------------------------------------------

Line = tuple[int, str, str, str, str, str]  # PREVIEW_COLUMNS


class _Planner:
    """Reads Kindful once, then decides row by row in file order, as Kindful processes them.

    Records an earlier row creates or updates are remembered, so a later row of the same
    contact (or with the same email) sees them as Kindful would.
    """

    def __init__(self, options: RunOptions, client: KindfulClient, email_exist_max: int) -> None:
        self.options = options
        self.client = client
        self.email_exist_max = email_exist_max
        self.activity = _ACTIVITIES.get(options.data_format)
        self.has_contact = options.data_format != "split_transaction"
        self.contact_how = options.match_by.get("contact", "external_id")
        self.activity_how = options.match_by.get("transaction", "external_id")
        self.contact_keys = _key_names(self.contact_how, _CONTACT_FALLBACKS)
        self.activity_keys = _key_names(self.activity_how, ())
        self.contacts = _Index()
        self.transactions = _Index()
        self.reads: dict[str, int] = {}
        self.contact_seen: dict[str, tuple[int, Verdict, str, str]] = {}
        self.contact_time: dict[str, float] = {}
        self.activity_seen: dict[str, int] = {}

    # reading Kindful

    def load(self, frames: list[pd.DataFrame]) -> None:
        if not any(len(frame) for frame in frames):
            return
        if self.has_contact:
            self._load_contacts(frames)
        if self.activity is not None and self.activity.kind in ("transaction", "split_transaction"):
            query: list[Any] = ["linked"] if self.activity_how == "external_id" else []
            for item in self.client.query_transactions(
                query, columns={"transaction": ["all"]}, per_page=_PER_PAGE
            ):
                if item.get("record_type", "transaction") == "transaction":
                    self.transactions.add_answer(item, self.activity_keys)
            self.transactions.oldest_first()
            self.reads["transactions/query"] = self.transactions.read

    def _load_contacts(self, frames: list[pd.DataFrame]) -> None:
        emails: set[str] = set()
        for frame in frames:
            if "email" in frame.columns and len(emails) <= self.email_exist_max:
                emails.update(_norm(e) for e in frame["email"].dropna())
        if (
            self.contact_how == "email"
            and self.options.action == "create"
            and len(emails) <= self.email_exist_max
        ):
            # A create run needs no timestamps: "does this email exist" is the whole question.
            quiet, httpx_logger = _HideEmailExist(), logging.getLogger("httpx")
            httpx_logger.addFilter(quiet)
            try:
                for email in sorted(emails):
                    if self.client.email_exists(email):
                        record = _Record(None, None, None, " (contacts/email_exist)")
                        self.contacts.add(record, {"email": email})
            finally:
                httpx_logger.removeFilter(quiet)
            self.reads["contacts/email_exist"] = len(emails)
            return
        query: list[Any] = []
        if self.contact_how == "external_id":
            # Matching by external id only ever finds this app's (linked) contacts.
            without_id = any(
                "id" not in frame.columns or frame["id"].isna().any() for frame in frames
            )
            query = [{"or": ["linked", {"has_email": "Yes"}]}] if without_id else ["linked"]
        elif self.contact_how in _EMAIL_KEYS:
            query = [{"has_email": "Yes"}]
        for item in self.client.query_contacts(
            query, columns={"contact": ["all"]}, per_page=_PER_PAGE
        ):
            self.contacts.add_answer(item, self.contact_keys)
        self.contacts.oldest_first()
        self.reads["contacts/query"] = self.contacts.read

    # deciding

    def plan(self, frames: list[pd.DataFrame]) -> list[Line]:
        for frame in frames:
            if not self.has_contact or not {"id", "updated_at"} <= set(frame.columns):
                continue
            # Kindful merges one job's rows of a contact, with the latest timestamps.
            for cid, stamp in zip(frame["id"], frame["updated_at"], strict=True):
                when = None if pd.isna(cid) or pd.isna(stamp) else _kindful_time(stamp)
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
        match = _find(
            self.contacts, self.contact_how, cid, values, self.contact_keys, _CONTACT_FALLBACKS
        )
        row_time = self.contact_time.get(cid) if cid is not None else None
        if row_time is None:
            row_time = _kindful_time(values.get("updated_at"))
        verdict, why = _decide(self.options.action, match.record, row_time, "updated_at")
        reason = _joined(_describe("contact", match), why)
        record = match.record
        if record is None:
            free = cid is not None and self.contact_how != "id"
            external = cid if free and cid not in self.contacts.by_external else None
            # Kindful keeps the row's updated_at; without one the contact is new as of now.
            stamp = row_time if row_time is not None else time.time()
            created = _Record(None, external, stamp, f" (created by source row {number})")
            self.contacts.add(created, _keys(values, self.contact_keys))
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
        self, number: int, values: dict[str, Any], act: _Activity
    ) -> tuple[Verdict, str, str]:
        aid = values.get(act.id_column)
        if aid is not None and aid in self.activity_seen:
            first = self.activity_seen[aid]
            return (
                "leave alone",
                self.activity_how,
                f"same {act.id_column} as source row {first}: Kindful merges it into that row",
            )
        match = _find(self.transactions, self.activity_how, aid, values, self.activity_keys)
        column = f"{act.kind}_updated_at"
        if values.get(column) is None:
            column = f"{act.kind}_time"  # 001: updated_at "will be set to" the time
        row_time = _kindful_time(values.get(column))
        verdict, why = _decide(self.options.action, match.record, row_time, column)
        if match.record is None:
            external = aid if self.activity_how == "external_id" else None
            created = _Record(None, external, row_time, f" (created by source row {number})")
            self.transactions.add(created, _keys(values, self.activity_keys))
        elif verdict == "update":
            match.record.updated_at = row_time
        if aid is not None:
            self.activity_seen[aid] = number
        return verdict, match.how, _joined(_describe(act.kind, match), why)

    def _split(self, values: dict[str, Any]) -> tuple[Verdict, str, str]:
        """Splits are not in any query: say only whether their transaction exists."""
        tid = values.get("transaction_id")
        match = _find(self.transactions, self.activity_how, tid, values, ())
        found = _describe("transaction", match)
        if match.record is None:
            found += ": Kindful drops a split whose transaction it cannot find"
        return (
            "cannot preview",
            match.how,
            f"Kindful offers no query for split transactions; {found}",
        )


# -- running it --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewResult:
    """Per-row verdicts (PREVIEW_COLUMNS, by source_row) and what was read from Kindful."""

    rows: pd.DataFrame
    data_format: str
    action: str
    match_by: dict[str, str]
    source: str
    rows_read: int
    kindful_reads: dict[str, int]

    @property
    def counts(self) -> dict[str, int]:
        found = self.rows["verdict"].value_counts()
        return {verdict: int(found.get(verdict, 0)) for verdict in VERDICTS}


def _wanted_columns(options: RunOptions) -> set[str]:
    wanted = {"id", "transaction_id", "updated_at", *(c for k in _KEY_COLUMNS.values() for c in k)}
    act = _ACTIVITIES.get(options.data_format)
    if act is not None:
        wanted |= {act.id_column, f"{act.kind}_time", f"{act.kind}_updated_at"}
    return wanted


def _rows(frames: list[pd.DataFrame]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(source_row, the row's non-empty values), one chunk's dicts at a time."""
    for frame in frames:
        present = frame.astype(object).where(frame.notna(), None)
        for number, values in zip(frame.index, present.to_dict("records"), strict=True):
            yield int(number) + 1, {str(k): str(v) for k, v in values.items() if v is not None}


def _rejected_lines(rejects: pd.DataFrame, record: str) -> list[Line]:
    """One line per rejected record: every problem, as `validate` words it."""
    lines: list[Line] = []
    for source_row, problems in rejects.groupby("source_row", sort=True):
        reasons = [
            f"{c}: {r}" if isinstance(c, str) and c else str(r)
            for c, r in zip(problems["column"], problems["reason"], strict=True)
        ]
        lines.append((int(str(source_row)), "rejected", record, "", "", "; ".join(reasons)))
    return lines


def preview_prepared(
    chunks: Iterable[PreparedChunk],
    options: RunOptions,
    client: KindfulClient,
    *,
    source: str = "",
    email_exist_max: int = EMAIL_EXIST_MAX,
) -> PreviewResult:
    """Verdicts for prepared chunks (accepted rows and rejects) against Kindful's state."""
    act = _ACTIVITIES.get(options.data_format)
    record = act.kind if act else "contact"
    wanted = _wanted_columns(options)
    # Only the columns matching needs are kept, so a big export stays small in memory.
    frames: list[pd.DataFrame] = []
    lines: list[Line] = []
    rows_read = 0
    for chunk in chunks:
        rows_read += chunk.rows_read
        lines += _rejected_lines(chunk.rejects, record)
        frames.append(chunk.accepted[[c for c in chunk.accepted.columns if c in wanted]])
    planner = _Planner(options, client, email_exist_max)
    planner.load(frames)
    lines += planner.plan(frames)
    frame = pd.DataFrame(lines, columns=list(PREVIEW_COLUMNS))
    frame = frame.sort_values("source_row", kind="stable", ignore_index=True)
    result = PreviewResult(
        rows=frame,
        data_format=options.data_format,
        action=options.action,
        match_by=dict(options.match_by),
        source=safe_url(source),
        rows_read=rows_read,
        kindful_reads=dict(planner.reads),
    )
    # Counts only: reasons carry ids and emails.
    logger.info("preview of %d rows: %s", rows_read, result.counts)
    return result


def preview_export(
    source: str,
    client: KindfulClient,
    options: RunOptions,
    mapping: SourceMapping | None = None,
    *,
    chunk_rows: int = 100_000,
    email_exist_max: int = EMAIL_EXIST_MAX,
) -> PreviewResult:
    """Prepare `source` as `import` would and say what importing it would do to each row."""
    chunks = prepare_export(source, mapping, options, chunk_rows=chunk_rows)
    return preview_prepared(chunks, options, client, source=source, email_exist_max=email_exist_max)


def write_preview(result: PreviewResult, out_dir: Path) -> Path:
    """preview.csv (UTF-8, no BOM) in `out_dir`; returns its path.

    It is for people and holds donor names and emails: formulas neutralized as in rejects.csv,
    the file 0600 in a private folder.
    """
    private_dir(out_dir)
    path = out_dir / "preview.csv"
    with open_private_text(path, "w") as handle:
        write_csv(neutralize_formulas(result.rows), handle)
    return path

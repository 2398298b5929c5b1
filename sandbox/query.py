"""contacts/query and transactions/query: the query language of 001 and query_token paging."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.render import activity_json, contact_json, select_columns
from sandbox.store import Record, Store
from sandbox.timeparse import parse_day

Predicate = Callable[[Record], bool]


class QueryError(Exception):
    """A query Kindful would answer with `errors` (e.g. "query 'example' does not exist")."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _linked(rec: Record) -> bool:
    return rec.external_id is not None


def _changed(rec: Record) -> bool:
    """Linked records whose version moved past the one the app knows."""
    return rec.external_id is not None and rec.sync_version != rec.linked_version


def _time_of(model: str) -> Callable[[Record], float]:
    if model == "transaction":
        return lambda rec: float(rec.data.get("transaction_time", rec.created_at))
    return lambda rec: rec.created_at


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def build_predicate(store: Store, model: str, terms: list[Any]) -> Predicate:
    """The top level is an implicit "and" (001)."""
    parts = [_term(store, model, term) for term in terms]
    return lambda rec: all(part(rec) for part in parts)


def _term(store: Store, model: str, term: Any) -> Predicate:
    if isinstance(term, str):
        return _keyword(store, model, term, [])
    if isinstance(term, dict):
        # "multiple keys in a hash is also treated as an AND"
        parts = [_keyword(store, model, key, value) for key, value in term.items()]
        return lambda rec: all(part(rec) for part in parts)
    raise QueryError([f"query term {term!r} is not a keyword or an object"])


def _keyword(store: Store, model: str, key: str, value: Any) -> Predicate:
    simple: dict[str, Predicate] = {
        "linked": _linked,
        "not_linked": lambda rec: not _linked(rec),
        "changed": _changed,
    }
    if key in simple:
        return simple[key]
    if key in ("or", "and", "not"):
        parts = [_term(store, model, sub) for sub in _as_list(value)]
        if not parts:
            raise QueryError([f"query '{key}' needs at least one input"])
        if key == "or":
            return lambda rec: any(part(rec) for part in parts)
        if key == "and":
            return lambda rec: all(part(rec) for part in parts)
        return lambda rec: not all(part(rec) for part in parts)
    if key in ("after", "before"):
        try:
            day = parse_day(_as_list(value)[0])
        except (ValueError, IndexError) as exc:
            raise QueryError([f"query '{key}': {exc}"]) from None
        time_of = _time_of(model)
        if key == "after":
            return lambda rec: time_of(rec) >= day
        return lambda rec: time_of(rec) < day
    if key == "campaign_id" and model == "transaction":
        wanted = {str(v) for v in _as_list(value)}
        return lambda rec: _campaign_ids(store, rec) & wanted != set()
    if key == "by_group_id" and model == "contact":
        groups = {str(v) for v in _as_list(value)}
        return lambda rec: {str(g) for g in rec.data.get("groups", [])} & groups != set()
    if key == "has_email" and model == "contact":
        wanted_email = str(_as_list(value)[0]).lower() in ("yes", "true", "1", "y")
        return lambda rec: bool(rec.data.get("email")) == wanted_email
    raise QueryError([f"query '{key}' does not exist"])


def _campaign_ids(store: Store, rec: Record) -> set[str]:
    pk = rec.data.get("campaign_pk")
    campaign = store.get(int(pk)) if pk is not None else None
    if campaign is None:
        return set()
    return {str(campaign.pk)} | ({campaign.external_id} if campaign.external_id else set())


@dataclass
class _Cursor:
    app: str
    model: str
    pks: list[int]
    per_page: int
    columns: dict[str, list[str]] | None
    position: int = 0
    page: int = 0
    touched: float = field(default_factory=time.monotonic)


class QueryPager:
    """Holds query tokens; each answers the next page of a result fixed at the first call."""

    def __init__(self, store: Store, *, page_max: int, ttl: float) -> None:
        self._store = store
        self._page_max = page_max
        self._ttl = ttl
        self._cursors: dict[str, _Cursor] = {}
        self._lock = threading.Lock()

    def start(self, app: str, model: str, body: dict[str, Any]) -> str:
        """Evaluate a new query; returns its query_token."""
        terms = body.get("query", [])
        if not isinstance(terms, list):
            raise QueryError(["query must be an array"])
        predicate = build_predicate(self._store, model, terms)
        kind = "contact" if model == "contact" else "transaction"
        pks = [rec.pk for rec in self._store.records(app, kind) if predicate(rec)]
        try:
            per_page = int(body.get("per_page") or self._page_max)
        except (TypeError, ValueError):
            raise QueryError(["per_page must be a number"]) from None
        per_page = max(1, min(per_page, self._page_max))
        columns = body.get("columns")
        token = f"tok_{secrets.token_hex(8)}"
        with self._lock:
            self._expire()
            self._cursors[token] = _Cursor(
                app, model, pks, per_page, columns if isinstance(columns, dict) else None
            )
        return token

    def next_page(self, app: str, token: str, not_ready_delay: int | None) -> dict[str, Any]:
        with self._lock:
            self._expire()
            cursor = self._cursors.get(token)
            if cursor is None or cursor.app != app:
                raise QueryError([f"query_token {token} is unknown or expired"])
            cursor.touched = time.monotonic()
            path = f"/api/v1/{cursor.model}s/query?query_token={token}"
            if not_ready_delay is not None:
                return {
                    "page": cursor.page + 1,
                    "has_more": True,
                    "model": cursor.model,
                    "query_token": token,
                    "warning": "Results could not be gathered in time.  Delay and try query"
                    " with request_token again",
                    "estimated_results_delay": not_ready_delay,
                    "results": [],
                    "_links": {"next": {"href": path}},
                }
            chunk = cursor.pks[cursor.position : cursor.position + cursor.per_page]
            cursor.position += len(chunk)
            cursor.page += 1
            has_more = cursor.position < len(cursor.pks)
            page, model, columns = cursor.page, cursor.model, cursor.columns
        results = [self._render(model, pk, columns) for pk in chunk]
        answer: dict[str, Any] = {
            "page": page,
            "has_more": has_more,
            "model": model,
            "query_token": token,
            "results": [item for item in results if item is not None],
            "_links": {"next": {"href": path}} if has_more else {},
        }
        return answer

    def _render(self, model: str, pk: int, columns: dict[str, list[str]] | None) -> Any:
        record = self._store.get(pk)
        if record is None:
            return None
        item = (
            contact_json(self._store, record)
            if model == "contact"
            else activity_json(self._store, record)
        )
        return select_columns(item, columns, model)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, c in self._cursors.items() if now - c.touched > self._ttl]:
            del self._cursors[token]

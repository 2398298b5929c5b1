"""Sandbox state in SQLite: `:memory:` by default, a file with `--db PATH` so it survives restarts.

One connection shared by the HTTP threads and the job workers, guarded by a re-entrant lock.
Records of every kind share one table; `record_keys` holds the normalized values that
match_by looks records up by (email, names, ...), so matching is an indexed lookup.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    app TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    kind TEXT NOT NULL,
    external_id TEXT,
    parent_pk INTEGER,
    data TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    sync_version INTEGER NOT NULL DEFAULT 1,
    linked_version INTEGER,
    deleted_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_external
    ON records (app, kind, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_kind ON records (app, kind, parent_pk);
CREATE TABLE IF NOT EXISTS record_keys (
    app TEXT NOT NULL,
    kind TEXT NOT NULL,
    key_type TEXT NOT NULL,
    key_value TEXT NOT NULL,
    pk INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS record_keys_lookup ON record_keys (app, kind, key_type, key_value);
CREATE INDEX IF NOT EXISTS record_keys_pk ON record_keys (pk);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    app TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    row_count INTEGER,
    stats TEXT NOT NULL DEFAULT '{}',
    update_stats TEXT NOT NULL DEFAULT '{}',
    notifications TEXT NOT NULL DEFAULT '[]',
    message TEXT,
    submitted_at REAL NOT NULL,
    finished_at REAL
);
"""

# 001, "Import Statuses": queued (ready, scheduled, pending) or running (working).
QUEUED_STATUSES = ("ready", "scheduled", "pending")
ACTIVE_STATUSES = (*QUEUED_STATUSES, "working")


@dataclass
class Record:
    """One stored record: a contact, a transaction, a fund, ..."""

    pk: int
    app: str
    kind: str
    external_id: str | None
    parent_pk: int | None
    data: dict[str, Any]
    created_at: float
    updated_at: float
    sync_version: int
    linked_version: int | None
    deleted_at: float | None


@dataclass
class Job:
    """One import job as stored."""

    id: str
    app: str
    seq: int
    status: str
    body: dict[str, Any]
    row_count: int | None
    stats: dict[str, int]
    update_stats: dict[str, int]
    notifications: list[dict[str, Any]]
    message: str | None


class Store:
    """All sandbox state; every method takes the lock, `transaction()` groups several."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or ":memory:"
        self.lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._depth = 0
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock and commit (or roll back) everything done inside at once."""
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return list(self._conn.execute(sql, params))

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self._conn.execute(sql, params)

    # -- apps -------------------------------------------------------------------------------

    def add_app(self, app: str) -> bool:
        """Register an app; True when it is new (the caller seeds its defaults)."""
        with self.transaction():
            if self._query("SELECT 1 FROM apps WHERE app = ?", (app,)):
                return False
            self._exec("INSERT INTO apps (app, created_at) VALUES (?, ?)", (app, time.time()))
            return True

    # -- records ----------------------------------------------------------------------------

    def get(self, pk: int) -> Record | None:
        rows = self._query("SELECT * FROM records WHERE pk = ?", (pk,))
        return _record(rows[0]) if rows else None

    def by_external_id(self, app: str, kind: str, external_id: str) -> Record | None:
        rows = self._query(
            "SELECT * FROM records WHERE app = ? AND kind = ? AND external_id = ?",
            (app, kind, external_id),
        )
        return _record(rows[0]) if rows else None

    def by_key(self, app: str, kind: str, key_type: str, key_value: str) -> list[Record]:
        """Records whose normalized `key_type` equals `key_value`, oldest first."""
        rows = self._query(
            "SELECT r.* FROM record_keys k JOIN records r ON r.pk = k.pk"
            " WHERE k.app = ? AND k.kind = ? AND k.key_type = ? AND k.key_value = ?"
            " AND r.deleted_at IS NULL ORDER BY r.pk",
            (app, kind, key_type, key_value),
        )
        return [_record(row) for row in rows]

    def records(
        self, app: str, kind: str, *, parent_pk: int | None = None, with_deleted: bool = False
    ) -> list[Record]:
        sql = "SELECT * FROM records WHERE app = ? AND kind = ?"
        params: list[Any] = [app, kind]
        if parent_pk is not None:
            sql += " AND parent_pk = ?"
            params.append(parent_pk)
        if not with_deleted:
            sql += " AND deleted_at IS NULL"
        return [_record(row) for row in self._query(sql + " ORDER BY pk", tuple(params))]

    def insert(
        self,
        app: str,
        kind: str,
        *,
        data: Mapping[str, Any],
        external_id: str | None = None,
        parent_pk: int | None = None,
        created_at: float | None = None,
        updated_at: float | None = None,
        keys: Mapping[str, str] | None = None,
        linked: bool = True,
    ) -> Record:
        now = time.time()
        with self.transaction():
            cursor = self._exec(
                "INSERT INTO records (app, kind, external_id, parent_pk, data, created_at,"
                " updated_at, sync_version, linked_version) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (
                    app,
                    kind,
                    external_id,
                    parent_pk,
                    json.dumps(dict(data)),
                    created_at if created_at is not None else now,
                    updated_at if updated_at is not None else now,
                    1 if linked else None,
                ),
            )
            pk = int(cursor.lastrowid or 0)
            self._set_keys(app, kind, pk, keys or {})
            record = self.get(pk)
        assert record is not None
        return record

    def save(self, record: Record, keys: Mapping[str, str] | None = None) -> None:
        """Write back a record the caller changed; `keys` replaces its match keys if given."""
        with self.transaction():
            self._exec(
                "UPDATE records SET external_id = ?, parent_pk = ?, data = ?, created_at = ?,"
                " updated_at = ?, sync_version = ?, linked_version = ?, deleted_at = ?"
                " WHERE pk = ?",
                (
                    record.external_id,
                    record.parent_pk,
                    json.dumps(record.data),
                    record.created_at,
                    record.updated_at,
                    record.sync_version,
                    record.linked_version,
                    record.deleted_at,
                    record.pk,
                ),
            )
            if keys is not None:
                self._set_keys(record.app, record.kind, record.pk, keys)

    def _set_keys(self, app: str, kind: str, pk: int, keys: Mapping[str, str]) -> None:
        self._exec("DELETE FROM record_keys WHERE pk = ?", (pk,))
        for key_type, key_value in keys.items():
            self._exec(
                "INSERT INTO record_keys (app, kind, key_type, key_value, pk)"
                " VALUES (?, ?, ?, ?, ?)",
                (app, kind, key_type, key_value, pk),
            )

    # -- jobs -------------------------------------------------------------------------------

    def add_job(self, job_id: str, app: str, body: Mapping[str, Any], row_count: int | None) -> Job:
        with self.transaction():
            self._exec(
                "INSERT INTO jobs (id, app, status, body, row_count, submitted_at)"
                " VALUES (?, ?, 'ready', ?, ?, ?)",
                (job_id, app, json.dumps(dict(body)), row_count, time.time()),
            )
            job = self.job(app, job_id)
        assert job is not None
        return job

    def job(self, app: str, job_id: str) -> Job | None:
        rows = self._query("SELECT * FROM jobs WHERE app = ? AND id = ?", (app, job_id))
        return _job(rows[0]) if rows else None

    def next_pending_job(self, app: str) -> Job | None:
        rows = self._query(
            "SELECT * FROM jobs WHERE app = ? AND status IN ('ready', 'scheduled', 'pending')"
            " ORDER BY seq LIMIT 1",
            (app,),
        )
        return _job(rows[0]) if rows else None

    def set_job_status(self, job_id: str, status: str, message: str | None = None) -> None:
        self._exec(
            "UPDATE jobs SET status = ?, message = ? WHERE id = ?", (status, message, job_id)
        )

    def finish_job(
        self,
        job_id: str,
        status: str,
        *,
        stats: Mapping[str, int] | None = None,
        update_stats: Mapping[str, int] | None = None,
        notifications: list[dict[str, Any]] | None = None,
        message: str | None = None,
    ) -> None:
        self._exec(
            "UPDATE jobs SET status = ?, stats = ?, update_stats = ?, notifications = ?,"
            " message = ?, finished_at = ? WHERE id = ?",
            (
                status,
                json.dumps(dict(stats or {})),
                json.dumps(dict(update_stats or {})),
                json.dumps(notifications or []),
                message,
                time.time(),
                job_id,
            ),
        )

    def active_jobs(self, app: str) -> list[Job]:
        rows = self._query(
            "SELECT * FROM jobs WHERE app = ?"
            " AND status IN ('ready', 'scheduled', 'pending', 'working') ORDER BY seq",
            (app,),
        )
        return [_job(row) for row in rows]

    def requeue_interrupted(self) -> list[str]:
        """After a restart: jobs left working are ready again; returns apps with work."""
        with self.transaction():
            self._exec("UPDATE jobs SET status = 'ready' WHERE status = 'working'")
            rows = self._query(
                "SELECT DISTINCT app FROM jobs WHERE status IN ('ready', 'scheduled', 'pending')"
            )
        return [str(row["app"]) for row in rows]


def _record(row: sqlite3.Row) -> Record:
    return Record(
        pk=int(row["pk"]),
        app=str(row["app"]),
        kind=str(row["kind"]),
        external_id=row["external_id"],
        parent_pk=row["parent_pk"],
        data=json.loads(row["data"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        sync_version=int(row["sync_version"]),
        linked_version=row["linked_version"],
        deleted_at=row["deleted_at"],
    )


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=str(row["id"]),
        app=str(row["app"]),
        seq=int(row["seq"]),
        status=str(row["status"]),
        body=json.loads(row["body"]),
        row_count=row["row_count"],
        stats=json.loads(row["stats"]),
        update_stats=json.loads(row["update_stats"]),
        notifications=json.loads(row["notifications"]),
        message=row["message"],
    )

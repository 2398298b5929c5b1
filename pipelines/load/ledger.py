"""The run ledger: which source, run and batch reached which state, so re-runs resume safely.

A batch counts as done only once its job is reconciled, never at submit. A batch with the same
content, settings and Kindful target as one already done is skipped; one submitted but not
reconciled is polled by its job id, not resubmitted. SQLite by default; PostgreSQL (psycopg 3)
when several workers share it or their disks do not survive.

The schema is alembic's (`pipelines/load/ledger_migrations/`), brought to the head revision the
first time a process opens a ledger URL; a ledger made before migrations existed is adopted in
place. Every registration is an insert-on-conflict, so workers sharing one ledger cannot race each
other into a duplicate or an error. Leases (`acquire_lease`) give one holder at a time a named lock
that lapses on its own when a killed worker stops renewing it.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

metadata = sa.MetaData()

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uri", sa.String(2000), nullable=False),  # stored without any query string
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("uri", "content_hash"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
    sa.Column("target", sa.String(500), nullable=False),  # the Kindful base URL
    sa.Column("fingerprint", sa.String(64), nullable=False),  # format, action, match_by, ...
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("summary", sa.Text),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False, index=True),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("s3_key", sa.String(1000)),
    sa.Column("job_id", sa.String(64)),
    sa.Column("stats", sa.Text),
    sa.Column("update_stats", sa.Text),
    sa.Column("message", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("run_id", "number"),
)

# Which run counts a Kindful job's effect: two runs that meet on one batch (an S3 drop and the
# nightly sweep of the same new file) may both poll the job one of them submitted; the first to
# reconcile it claims it, the other reports the batch as imported by that run.
job_claims = sa.Table(
    "job_claims",
    metadata,
    sa.Column("target", sa.String(500), primary_key=True),
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
)

# A named lock with an expiry (migration 0002): one holder at a time, lapsing unless renewed.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

MIGRATIONS = Path(__file__).with_name("ledger_migrations")
BASELINE_REVISION = "0001"  # the schema `metadata.create_all` made before migrations existed
# The newest migration (a test keeps it equal to alembic's head): a ledger already there is
# opened without importing alembic, which costs an ad-hoc command ~0.2 s.
HEAD_REVISION = "0002"
# pg_advisory_xact_lock key ("kfetlldg"): first opens from several workers upgrade one at a time.
_PG_MIGRATION_LOCK = 0x6B6665746C6C6467
_MIGRATION_TRIES = 8
_LEASE_POLL_SECONDS = 0.2
_SUPPORTED_DIALECTS = ("sqlite", "postgresql")

# Batch states, in order. Only "complete" (and "skipped", which points at a complete one) is done.
WRITTEN, STAGED, SUBMITTED, COMPLETE, FAILED, SKIPPED = (
    "written",
    "staged",
    "submitted",
    "complete",
    "failed",
    "skipped",
)


@dataclass(frozen=True)
class BatchRecord:
    run_id: str
    number: int
    content_hash: str
    rows: int
    status: str
    s3_key: str | None
    job_id: str | None
    stats: dict[str, int]
    update_stats: dict[str, int]
    message: str | None


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    source_uri: str
    source_hash: str
    target: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    settings: dict[str, Any]
    summary: dict[str, Any] | None


def _now() -> datetime:
    return datetime.now(UTC)


def new_run_id() -> str:
    """Sortable and unique: the start time plus a random suffix."""
    return _now().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def database_url(location: str) -> str:
    """A SQLAlchemy URL, or a SQLite file path turned into one.

    A bare `postgresql://` (or `postgres://`) URL gets the psycopg 3 driver kindful-etl ships,
    where SQLAlchemy would otherwise look for psycopg2.
    """
    if "://" in location:
        scheme, rest = location.split("://", 1)
        if scheme in ("postgresql", "postgres"):
            return f"postgresql+psycopg://{rest}"
        return location
    path = Path(location).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _batch(row: sa.Row[Any]) -> BatchRecord:
    return BatchRecord(
        run_id=row.run_id,
        number=row.number,
        content_hash=row.content_hash,
        rows=row.rows,
        status=row.status,
        s3_key=row.s3_key,
        job_id=row.job_id,
        stats=json.loads(row.stats) if row.stats else {},
        update_stats=json.loads(row.update_stats) if row.update_stats else {},
        message=row.message,
    )


_migrated: set[tuple[str, int, int]] = set()
_migration_lock = threading.Lock()


def _schema_key(engine: sa.Engine) -> tuple[str, int, int] | None:
    """What identifies a migrated database in this process; None when it cannot be cached.

    A SQLite file is known by its inode too, so a ledger deleted and made anew at the same path
    is migrated again; an in-memory SQLite database is new with every engine.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return (url.render_as_string(hide_password=False), 0, 0)
    if url.database in (None, "", ":memory:") or "mode=memory" in str(url.query):
        return None
    try:
        found = Path(url.database).stat()
    except OSError:
        return None
    return (str(Path(url.database).resolve()), found.st_dev, found.st_ino)


def _upgrade(db: sa.Connection) -> None:
    """Adopt a pre-migration ledger (stamp the baseline), then upgrade to head, on `db`."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = db
    tables = set(sa.inspect(db).get_table_names())
    if "alembic_version" not in tables and "sources" in tables:
        command.stamp(config, BASELINE_REVISION)
    command.upgrade(config, "head")


def _retryable(error: sa.exc.DBAPIError) -> bool:
    """A concurrent first open: SQLite busy past its timeout, or another process's DDL won."""
    text = str(error.orig).lower()
    return any(word in text for word in ("locked", "busy", "already exists", "duplicate"))


def _at_head(engine: sa.Engine) -> bool:
    """Whether the database records the head revision already (read-only, no lock)."""
    try:
        with engine.connect() as db:
            found = db.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    except sa.exc.DBAPIError:  # no table yet, or no database: migrate
        return False
    return found == [HEAD_REVISION]


def _migrate(engine: sa.Engine) -> None:
    """Bring the schema to head in one transaction that excludes other migrating processes.

    PostgreSQL: a transaction-scoped advisory lock, with transactional DDL. SQLite: BEGIN
    IMMEDIATE takes the write lock first (DDL is transactional there too). Errors from a
    process that did not take that path (an older kindful-etl creating tables) are retried.
    """
    for attempt in range(_MIGRATION_TRIES):
        try:
            with engine.connect() as db:
                if engine.dialect.name == "postgresql":
                    db.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
                else:
                    db.exec_driver_sql("BEGIN IMMEDIATE")
                _upgrade(db)
                db.commit()
            return
        except sa.exc.DBAPIError as error:
            if attempt == _MIGRATION_TRIES - 1 or not _retryable(error):
                raise
            time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))


def ensure_schema(engine: sa.Engine) -> None:
    """Migrate a database once per process (later opens of the same URL cost nothing)."""
    with _migration_lock:
        key = _schema_key(engine)
        if key is not None and key in _migrated:
            return
        if not _at_head(engine):
            _migrate(engine)
        key = _schema_key(engine)
        if key is not None:
            _migrated.add(key)


def _insert(db: sa.Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which has ON CONFLICT (the race-free registration)."""
    if db.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _lease_clock(db: sa.Connection, ttl: float) -> tuple[Any, Any]:
    """Now and now + ttl as SQL: PostgreSQL's clock, so workers with skewed clocks agree;
    SQLite's ledger is a local file, so its processes share this machine's clock."""
    if db.dialect.name == "postgresql":
        now = sa.func.now()
        return now, now + sa.literal(timedelta(seconds=ttl), sa.Interval())
    stamp = sa.DateTime(timezone=True)
    start = _now()
    return sa.literal(start, stamp), sa.literal(start + timedelta(seconds=ttl), stamp)


def _check_lease(name: str, holder: str, ttl: float | None = None) -> None:
    """Names and holders are short printable ASCII (never echoed: never put a token in one)."""
    for what, value in (("name", name), ("holder", holder)):
        if not (0 < len(value) <= 200 and value.isascii() and value.isprintable()):
            raise ValueError(f"a lease {what} must be 1-200 printable ASCII characters")
    if ttl is not None and not ttl > 0:
        raise ValueError("a lease's ttl must be positive")


class Ledger:
    """Run and batch bookkeeping over SQLAlchemy Core, on SQLite or PostgreSQL."""

    def __init__(self, location: str) -> None:
        url = database_url(location)
        if url.startswith("sqlite"):
            # Writers queue for SQLite's one write lock; many workers on one file wait their turn.
            self.engine = sa.create_engine(url, connect_args={"timeout": 30})
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name not in _SUPPORTED_DIALECTS:
            dialect = self.engine.dialect.name
            self.engine.dispose()
            raise ValueError(f"the ledger runs on SQLite or PostgreSQL, not {dialect}")
        ensure_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def start_run(
        self,
        *,
        source_uri: str,
        source_hash: str,
        target: str,
        fingerprint: str,
        settings: dict[str, Any],
        run_id: str | None = None,
    ) -> str:
        """Record a new run of a source (registered once per URI and content, race-free)."""
        run_id = run_id or new_run_id()
        with self.engine.begin() as db:
            # Another worker may register the same source at this moment: the insert then waits
            # for it and does nothing, and the select reads the one row both share.
            db.execute(
                _insert(db, sources)
                .values(uri=source_uri, content_hash=source_hash, first_seen_at=_now())
                .on_conflict_do_nothing(index_elements=[sources.c.uri, sources.c.content_hash])
            )
            source_id = db.execute(
                sa.select(sources.c.id).where(
                    sources.c.uri == source_uri, sources.c.content_hash == source_hash
                )
            ).scalar_one()
            db.execute(
                runs.insert().values(
                    run_id=run_id,
                    source_id=source_id,
                    target=target,
                    fingerprint=fingerprint,
                    settings=json.dumps(settings, sort_keys=True),
                    status="running",
                    started_at=_now(),
                )
            )
        return run_id

    def prior_batch(
        self, *, target: str, fingerprint: str, content_hash: str
    ) -> BatchRecord | None:
        """The furthest-along earlier record of the same batch for the same target and settings.

        Complete beats submitted; failed and merely written or staged records do not count.
        """
        query = (
            sa.select(batches)
            .join(runs, runs.c.run_id == batches.c.run_id)
            .where(
                batches.c.content_hash == content_hash,
                runs.c.target == target,
                runs.c.fingerprint == fingerprint,
                batches.c.status.in_([COMPLETE, SUBMITTED]),
            )
            .order_by(batches.c.updated_at.desc())
        )
        with self.engine.connect() as db:
            found = [_batch(r) for r in db.execute(query)]
        complete = [b for b in found if b.status == COMPLETE]
        best = complete or found
        return best[0] if best else None

    def record_batch(self, run_id: str, number: int, **fields: Any) -> None:
        """Insert or update one batch of a run; dict fields are stored as JSON.

        Updated in place when it exists (an update may carry only the changed fields), else
        inserted with an ON CONFLICT update, so two writers of one batch never collide.
        """
        values = {
            k: json.dumps(v, sort_keys=True) if isinstance(v, dict) else v
            for k, v in fields.items()
        }
        values["updated_at"] = _now()
        with self.engine.begin() as db:
            updated = db.execute(
                batches.update()
                .where(batches.c.run_id == run_id, batches.c.number == number)
                .values(**values)
            ).rowcount
            if not updated:
                # A first record (which carries every required field); should another worker
                # insert the same batch meanwhile, this one's fields win instead of an error.
                db.execute(
                    _insert(db, batches)
                    .values(run_id=run_id, number=number, **values)
                    .on_conflict_do_update(
                        index_elements=[batches.c.run_id, batches.c.number], set_=values
                    )
                )

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        with self.engine.begin() as db:
            db.execute(
                runs.update()
                .where(runs.c.run_id == run_id)
                .values(status=status, finished_at=_now(), summary=json.dumps(summary))
            )

    def _runs_query(self) -> sa.Select[Any]:
        return sa.select(runs, sources.c.uri, sources.c.content_hash).join(
            sources, sources.c.id == runs.c.source_id
        )

    @staticmethod
    def _run(row: sa.Row[Any]) -> RunRecord:
        return RunRecord(
            run_id=row.run_id,
            source_uri=row.uri,
            source_hash=row.content_hash,
            target=row.target,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            settings=json.loads(row.settings),
            summary=json.loads(row.summary) if row.summary else None,
        )

    def runs(self, limit: int = 50) -> list[RunRecord]:
        """Most recent first."""
        query = self._runs_query().order_by(runs.c.started_at.desc()).limit(limit)
        with self.engine.connect() as db:
            return [self._run(r) for r in db.execute(query)]

    def run(self, run_id: str) -> tuple[RunRecord, list[BatchRecord]] | None:
        with self.engine.connect() as db:
            row = db.execute(self._runs_query().where(runs.c.run_id == run_id)).first()
            if row is None:
                return None
            found = db.execute(
                sa.select(batches).where(batches.c.run_id == run_id).order_by(batches.c.number)
            )
            return self._run(row), [_batch(b) for b in found]

    def completed_run(
        self, *, source_uri: str, source_hash: str, target: str, fingerprint: str
    ) -> str | None:
        """The id of a run of this exact source content, target and settings that completed."""
        query = (
            sa.select(runs.c.run_id)
            .join(sources, sources.c.id == runs.c.source_id)
            .where(
                sources.c.uri == source_uri,
                sources.c.content_hash == source_hash,
                runs.c.target == target,
                runs.c.fingerprint == fingerprint,
                runs.c.status == "complete",
            )
            .order_by(runs.c.started_at)
            .limit(1)
        )
        with self.engine.connect() as db:
            found: str | None = db.execute(query).scalar()
            return found

    def last_run_of(self, *, source_uri: str, target: str) -> RunRecord | None:
        """The latest finished run of a source URI (any content) into a target."""
        query = (
            self._runs_query()
            .where(
                sources.c.uri == source_uri,
                runs.c.target == target,
                runs.c.finished_at.is_not(None),
            )
            .order_by(runs.c.finished_at.desc())
            .limit(1)
        )
        with self.engine.connect() as db:
            row = db.execute(query).first()
            return self._run(row) if row is not None else None

    def claim_job(self, *, target: str, job_id: str, run_id: str) -> str:
        """Claim a reconciled job's effect for a run; return the run that holds the claim.

        Race-free through the primary key: of two runs claiming one job, one insert wins and
        the other's does nothing (waiting for the winner to commit), then reads the winner back.
        """
        with self.engine.begin() as db:
            db.execute(
                _insert(db, job_claims)
                .values(target=target, job_id=job_id, run_id=run_id, claimed_at=_now())
                .on_conflict_do_nothing(index_elements=[job_claims.c.target, job_claims.c.job_id])
            )
            owner: str = db.execute(
                sa.select(job_claims.c.run_id).where(
                    job_claims.c.target == target, job_claims.c.job_id == job_id
                )
            ).scalar_one()
            return owner

    def acquire_lease(self, name: str, holder: str, ttl: float, wait: float = 0.0) -> bool:
        """Take the lease `name` for `ttl` seconds; poll until taken or `wait` seconds pass.

        One atomic statement: insert the lease, or on conflict take it over only where it has
        expired (or is already this holder's, which extends it). A killed holder's lease lapses
        after its ttl, so a long job must `renew_lease` well within it. Names are ASCII and
        never hold a token: name an account by its base URL and a fingerprint of its token.
        """
        _check_lease(name, holder, ttl)
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            if self._take_lease(name, holder, ttl):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(remaining, random.uniform(0.5, 1.5) * _LEASE_POLL_SECONDS))

    def _take_lease(self, name: str, holder: str, ttl: float) -> bool:
        with self.engine.begin() as db:
            now, expires = _lease_clock(db, ttl)
            insert = _insert(db, leases).values(
                name=name, holder=holder, acquired_at=now, expires_at=expires
            )
            db.execute(
                insert.on_conflict_do_update(
                    index_elements=[leases.c.name],
                    set_={
                        "holder": insert.excluded.holder,
                        "acquired_at": insert.excluded.acquired_at,
                        "expires_at": insert.excluded.expires_at,
                    },
                    where=sa.or_(leases.c.expires_at < now, leases.c.holder == holder),
                )
            )
            current = db.execute(sa.select(leases.c.holder).where(leases.c.name == name)).scalar()
            return current == holder

    def renew_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Extend a held lease to `ttl` seconds from now; False if `holder` no longer holds it."""
        _check_lease(name, holder, ttl)
        with self.engine.begin() as db:
            _, expires = _lease_clock(db, ttl)
            renewed = db.execute(
                leases.update()
                .where(leases.c.name == name, leases.c.holder == holder)
                .values(expires_at=expires)
            ).rowcount
        return bool(renewed)

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up; only its holder can (anyone else's call changes nothing)."""
        _check_lease(name, holder)
        with self.engine.begin() as db:
            released = db.execute(
                leases.delete().where(leases.c.name == name, leases.c.holder == holder)
            ).rowcount
        return bool(released)

    def lease_holder(self, name: str) -> str | None:
        """Who holds the lease now (an expired lease has no holder)."""
        with self.engine.connect() as db:
            now, _ = _lease_clock(db, 1.0)
            holder: str | None = db.execute(
                sa.select(leases.c.holder).where(leases.c.name == name, leases.c.expires_at > now)
            ).scalar()
            return holder

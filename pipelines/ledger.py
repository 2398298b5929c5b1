"""The run ledger: which source, run and batch reached which state, so re-runs resume safely.

A batch counts as done only once its job is reconciled, never at submit. A batch with the same
content, settings and Kindful target as one already done is skipped; one submitted but not
reconciled is polled by its job id, not resubmitted. SQLite by default; any SQLAlchemy URL
(PostgreSQL) when several workers share it or their disks do not survive.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

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
    """A SQLAlchemy URL as given, or a SQLite file path turned into one."""
    if "://" in location:
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


class Ledger:
    """Run and batch bookkeeping over SQLAlchemy Core."""

    def __init__(self, location: str) -> None:
        self.engine = sa.create_engine(database_url(location))
        metadata.create_all(self.engine)

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
        """Record a new run of a source (registered once per URI and content)."""
        run_id = run_id or new_run_id()
        with self.engine.begin() as db:
            source_id = db.execute(
                sa.select(sources.c.id).where(
                    sources.c.uri == source_uri, sources.c.content_hash == source_hash
                )
            ).scalar()
            if source_id is None:
                source_id = db.execute(
                    sources.insert().values(
                        uri=source_uri, content_hash=source_hash, first_seen_at=_now()
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
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
        """Insert or update one batch of a run; dict fields are stored as JSON."""
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
                db.execute(batches.insert().values(run_id=run_id, number=number, **values))

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
        the other reads the winner back.
        """
        try:
            with self.engine.begin() as db:
                db.execute(
                    job_claims.insert().values(
                        target=target, job_id=job_id, run_id=run_id, claimed_at=_now()
                    )
                )
        except sa.exc.IntegrityError:
            pass
        with self.engine.connect() as db:
            owner: str = db.execute(
                sa.select(job_claims.c.run_id).where(
                    job_claims.c.target == target, job_claims.c.job_id == job_id
                )
            ).scalar_one()
            return owner

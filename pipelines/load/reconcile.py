"""Tie Kindful's job stats and notifications back to the rows sent: every row accounted for.

Per batch: rows sent; created and updated, from the job's `stats` / `update_stats` for the
format's main record type; dropped, from notifications; no effect, the rest (matched and left
alone). Per run: read = rejected + created + updated + no effect + dropped + not imported.

001's notifications carry no row number: each one's `object` is the affected record. It is tied
to source rows by external id through the batch's id index (batch_index): `object.external_id`
under `object.record_type`, else `object.contact.external_id` for a note on a contact. A
notification drops the rows it names through the main record (a transaction in
contact_with_transaction, a split in split_transaction, a contact in contact) unless its code
is one Kindful uses for a row it still imported (ADVISORY_CODES). Kindful's own counts win: a
batch never has more dropped rows than its stats leave unaccounted for.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.kindful.models import ImportResult, Notification
from pipelines.outputs.batch_index import BatchIndex
from pipelines.outputs.batches import Batch
from pipelines.outputs.csv_text import write_csv
from pipelines.outputs.private_files import open_private_text, private_dir, write_private_text
from pipelines.outputs.validation_files import neutralize_formulas

FINDING_COLUMNS = ["source_row", "batch", "job_id", "code", "description", "dropped"]
# Notification codes for a row Kindful imported all the same, or that left nothing undone:
# never a drop. Any other code naming a main record drops its rows (README, "How
# notifications are tied to rows, and which ones drop a row").
ADVISORY_CODES = frozenset(
    {
        "ambiguous_match",  # several contacts matched; the oldest was used
        "conflicting_values_merged",  # rows of one contact merged
        "duplicate_id_merged",  # rows repeating an id merged into one record
        "external_id_in_use",  # the contact was matched, not linked to our id
        "generated_id",  # imported under a guid Kindful made up
        "missing_updated_at",  # a matched contact left as it was
        "deleted_split_not_found",  # nothing to delete
        "unknown_column",  # a column ignored; the row imported
    }
)
# Findings of our own (no Kindful code says these).
UNREAD = "notifications_unread"
COUNTS_DISAGREE = "counts_disagree"


def _no_findings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_row": pd.Series(dtype="Int64"),
            **{name: pd.Series(dtype=object) for name in FINDING_COLUMNS[1:]},
        }
    )


@dataclass
class BatchOutcome:
    """One batch's fate in Kindful."""

    number: int
    name: str
    rows: int
    status: str  # complete, load_failed, error, ..., skipped (already imported earlier)
    job_id: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    update_stats: dict[str, int] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    dropped: int = 0
    no_effect: int = 0
    message: str | None = None
    already_imported_by: str | None = None  # the run that imported it, when skipped
    resubmitted: bool = False
    # One line per (notification, source row it names); FINDING_COLUMNS. A frame, not dicts:
    # a batch whose every row Kindful drops holds 10k of them until the run ends.
    findings: pd.DataFrame = field(default_factory=_no_findings)

    @property
    def accounted(self) -> int:
        return self.created + self.updated + self.dropped + self.no_effect


@dataclass(frozen=True)
class TiedNotes:
    """Notifications against one batch: the findings lines and the batch positions dropped."""

    findings: pd.DataFrame  # note, position (-1: no row sent), dropped
    dropped_positions: np.ndarray


def _keys(notes: list[Notification], main_kind: str | None) -> pd.DataFrame:
    """Where to look for each notification's rows, best first: `note`, `rank`, `kind`, id.

    Rank 0: the object's external id under its record_type (the main record's when it names
    none); rank 1: a typeless object's id as a contact's; rank 2: the id of the contact nested
    in the object, for a note on a contact.
    """
    rows: list[tuple[int, int, str, str]] = []
    for number, note in enumerate(notes):
        own = note.external_id
        if own is not None:
            kind = note.record_type or main_kind
            if kind is not None:
                rows.append((number, 0, kind, own))
            if note.record_type is None and kind != "contact":
                rows.append((number, 1, "contact", own))
        if note.contact_external_id is not None:
            rows.append((number, 2, "contact", note.contact_external_id))
    frame = pd.DataFrame(rows, columns=["note", "rank", "kind", "external_id"])
    return frame.astype({"note": "int64", "rank": "int64", "kind": object, "external_id": object})


def tie_notifications(notes: list[Notification], index: BatchIndex, main_record: str) -> TiedNotes:
    """Each notification's source rows (vectorized over the batch), and which rows it drops."""
    main_kind = index.main_kind(main_record)
    keys = _keys(notes, main_kind)
    keys["key_no"] = np.arange(len(keys), dtype=np.int64)
    hits = index.positions(keys[["key_no", "kind", "external_id"]]).merge(
        keys[["key_no", "note", "rank", "kind"]], on="key_no"
    )
    # Only the best rank that found rows counts: a transaction's own id before its contact's.
    best = hits.groupby("note")["rank"].transform("min")
    hits = hits[hits["rank"] == best].drop_duplicates(["note", "position"])
    codes = pd.Series([note.code for note in notes], dtype=object)
    drops = ~codes.isin(ADVISORY_CODES).to_numpy()
    hits = hits.assign(
        dropped=drops[hits["note"].to_numpy()] & (hits["kind"] == main_kind).to_numpy()
    )
    unmatched = np.setdiff1d(np.arange(len(notes)), hits["note"].to_numpy())
    lines = pd.concat(
        [
            hits[["note", "position", "dropped"]],
            pd.DataFrame({"note": unmatched, "position": -1, "dropped": False}),
        ],
        ignore_index=True,
    ).sort_values(["note", "position"], kind="stable", ignore_index=True)
    dropped = np.unique(lines.loc[lines["dropped"], "position"].to_numpy(dtype=np.int64))
    return TiedNotes(lines, dropped)


def _findings(
    batch: Batch, result: ImportResult, tied: TiedNotes, index: BatchIndex
) -> pd.DataFrame:
    lines = tied.findings
    if lines.empty:
        return _no_findings()
    positions = lines["position"].to_numpy(dtype=np.int64)
    source = pd.array(
        np.where(positions >= 0, index.source_rows[np.maximum(positions, 0)], 0), dtype="Int64"
    )
    source[positions < 0] = pd.NA
    notes = lines["note"].to_numpy()
    codes = np.array([n.code for n in result.notifications], dtype=object)
    descs = np.array([n.desc for n in result.notifications], dtype=object)
    return pd.DataFrame(
        {
            "source_row": source,
            "batch": batch.name,
            "job_id": result.id,
            "code": codes[notes],
            "description": descs[notes],
            "dropped": np.where(lines["dropped"].to_numpy(dtype=bool), "yes", "no"),
        }
    )


def _note(batch: Batch, result: ImportResult, code: str, description: str) -> pd.DataFrame:
    """A finding of our own, about the batch rather than a row."""
    line = {"batch": batch.name, "job_id": result.id, "code": code, "description": description}
    return pd.DataFrame(
        {"source_row": pd.array([pd.NA], dtype="Int64"), **{k: [v] for k, v in line.items()}}
        | {"dropped": ["no"]}
    )


def reconcile_batch(batch: Batch, result: ImportResult, main_record: str) -> BatchOutcome:
    """Count one finished job against the batch it imported."""
    outcome = BatchOutcome(
        number=batch.number,
        name=batch.name,
        rows=batch.rows,
        status=result.status,
        job_id=result.id,
        stats=dict(result.stats),
        update_stats=dict(result.update_stats),
        message=result.message,
    )
    index = BatchIndex.load(batch.index_path, batch.source_rows.to_numpy())
    tied = tie_notifications(result.notifications, index, main_record)
    found = [_findings(batch, result, tied, index)]
    if result.notifications_unread:
        found.append(
            _note(
                batch,
                result,
                UNREAD,
                f"Kindful counted {result.notification_count} notifications; "
                f"{result.notifications_unread} could not be read",
            )
        )
    if result.succeeded:
        outcome.created = min(result.stats.get(main_record, 0), batch.rows)
        outcome.updated = min(result.update_stats.get(main_record, 0), batch.rows - outcome.created)
        named = len(tied.dropped_positions)
        outcome.dropped = min(named, batch.rows - outcome.created - outcome.updated)
        outcome.no_effect = batch.rows - outcome.created - outcome.updated - outcome.dropped
        if named > outcome.dropped:
            found.append(
                _note(
                    batch,
                    result,
                    COUNTS_DISAGREE,
                    f"notifications drop {named} rows but Kindful's {main_record} counts "
                    f"leave {outcome.dropped} unaccounted for; {outcome.dropped} counted dropped",
                )
            )
    outcome.findings = pd.concat([f for f in found if not f.empty] or found, ignore_index=True)
    return outcome


def skipped_batch(batch: Batch, prior_run: str, job_id: str | None) -> BatchOutcome:
    """A batch imported by an earlier run: its rows are accepted with no effect this time."""
    return BatchOutcome(
        number=batch.number,
        name=batch.name,
        rows=batch.rows,
        status="skipped",
        job_id=job_id,
        no_effect=batch.rows,
        already_imported_by=prior_run,
    )


REQUEST_REFUSED = "request_refused"


def refused_batch(batch: Batch, message: str, validation_messages: list[str]) -> BatchOutcome:
    """A batch whose POST /imports Kindful refused whole: no job, every row not imported.

    Kindful's message and each validation message are findings with no source row (a refusal
    names the request, not a row), so findings.csv says why.
    """
    lines = [message, *validation_messages]
    findings = _no_findings().reindex(range(len(lines)))
    findings["batch"] = batch.name
    findings["code"] = REQUEST_REFUSED
    findings["description"] = lines
    findings["dropped"] = "no"
    return BatchOutcome(
        number=batch.number,
        name=batch.name,
        rows=batch.rows,
        status="refused",
        message="; ".join(lines),
        findings=findings,
    )


def _batch_summary(outcome: BatchOutcome) -> dict[str, Any]:
    return {f.name: getattr(outcome, f.name) for f in fields(outcome) if f.name != "findings"}


def run_report(
    *,
    run_id: str,
    validation: dict[str, Any],
    outcomes: list[BatchOutcome],
    main_record: str,
) -> dict[str, Any]:
    """reconciliation.json's content; `status` is complete only when every batch is."""
    ok = {"complete", "skipped"}
    created = sum(o.created for o in outcomes)
    updated = sum(o.updated for o in outcomes)
    no_effect = sum(o.no_effect for o in outcomes)
    dropped = sum(o.dropped for o in outcomes)
    unaccounted = sum(o.rows for o in outcomes if o.status not in ok)
    report = {
        "status": "complete" if all(o.status in ok for o in outcomes) else "failed",
        "run_id": run_id,
        "source": validation.get("source"),
        "data_format": validation.get("data_format"),
        "action": validation.get("action"),
        "main_record": main_record,
        "rows_read": validation["rows_read"],
        "rows_accepted": validation["rows_accepted"],
        "rows_rejected": validation["rows_rejected"],
        "rows_created": created,
        "rows_updated": updated,
        "rows_no_effect": no_effect,
        "rows_dropped": dropped,
        "rows_already_imported": sum(o.rows for o in outcomes if o.status == "skipped"),
        "rows_not_imported": unaccounted,  # in batches whose job failed
        "warnings": validation.get("warnings", 0),
        "findings": sum(len(o.findings) for o in outcomes),
        "batches_submitted": sum(1 for o in outcomes if o.status != "skipped"),
        "batches_skipped": sum(1 for o in outcomes if o.status == "skipped"),
        "batches": [_batch_summary(o) for o in outcomes],
    }
    report["totals_close"] = report["rows_read"] == (
        report["rows_rejected"] + created + updated + no_effect + dropped + unaccounted
    )
    return report


def write_reconciliation(
    out_dir: Path, report: dict[str, Any], outcomes: list[BatchOutcome]
) -> None:
    """reconciliation.json and findings.csv beside the validation files.

    findings.csv opens safely in a spreadsheet like rejects.csv: Kindful's descriptions may
    quote the data, so cells starting with = + - @ get a leading quote.
    """
    private_dir(out_dir)  # run files hold donor data: 0700 folder, 0600 files
    write_private_text(out_dir / "reconciliation.json", json.dumps(report, indent=2) + "\n")
    frames = [o.findings for o in outcomes if not o.findings.empty]
    findings = pd.concat(frames, ignore_index=True) if frames else _no_findings()
    with open_private_text(out_dir / "findings.csv") as handle:
        write_csv(neutralize_formulas(findings[FINDING_COLUMNS]), handle, lineterminator=os.linesep)


def summary_rows(report: dict[str, Any]) -> list[tuple[str, Any]]:
    """The table the CLI prints and the Prefect artifact shows."""
    return [
        ("rows read", report["rows_read"]),
        ("rejected (see rejects.csv)", report["rows_rejected"]),
        (f"created ({report['main_record']})", report["rows_created"]),
        (f"updated ({report['main_record']})", report["rows_updated"]),
        ("accepted, no effect", report["rows_no_effect"]),
        ("  of which already imported", report["rows_already_imported"]),
        ("dropped by Kindful (see findings.csv)", report["rows_dropped"]),
        ("not imported (failed jobs)", report["rows_not_imported"]),
        (
            "batches submitted / skipped",
            f"{report['batches_submitted']} / {report['batches_skipped']}",
        ),
        ("totals close", "yes" if report["totals_close"] else "NO"),
        ("status", report["status"]),
    ]

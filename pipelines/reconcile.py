"""Tie Kindful's job stats back to the rows sent, so every source row is accounted for.

Per batch: rows sent, created and updated (for the format's main record type), rows Kindful
dropped (notifications that say so), and rows with no effect (the rest: matched and left alone).
Per run: read = rejected + created + updated + no effect + dropped.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.kindful_models import ImportResult
from pipelines.write_batches import Batch

FINDING_COLUMNS = ["source_row", "batch", "job_id", "code", "description"]


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
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accounted(self) -> int:
        return self.created + self.updated + self.dropped + self.no_effect


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
    dropped_rows: set[int] = set()
    for note in result.notifications:
        row = note.row
        source_row = batch.source_rows[row - 1] if row and 1 <= row <= batch.rows else None
        if source_row is not None and note.object.get("dropped") is True:
            dropped_rows.add(row or 0)
        outcome.findings.append(
            {
                "source_row": source_row,
                "batch": batch.name,
                "job_id": result.id,
                "code": note.code,
                "description": note.desc,
            }
        )
    if not result.succeeded:
        return outcome
    outcome.created = min(result.stats.get(main_record, 0), batch.rows)
    outcome.updated = min(result.update_stats.get(main_record, 0), batch.rows - outcome.created)
    outcome.dropped = min(len(dropped_rows), batch.rows - outcome.created - outcome.updated)
    outcome.no_effect = batch.rows - outcome.created - outcome.updated - outcome.dropped
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
        "batches": [{k: v for k, v in asdict(o).items() if k != "findings"} for o in outcomes],
    }
    report["totals_close"] = report["rows_read"] == (
        report["rows_rejected"] + created + updated + no_effect + dropped + unaccounted
    )
    return report


def write_reconciliation(
    out_dir: Path, report: dict[str, Any], outcomes: list[BatchOutcome]
) -> None:
    """reconciliation.json and findings.csv beside the validation files."""
    (out_dir / "reconciliation.json").write_text(json.dumps(report, indent=2) + "\n")
    with (out_dir / "findings.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FINDING_COLUMNS)
        writer.writeheader()
        for outcome in outcomes:
            writer.writerows(outcome.findings)


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

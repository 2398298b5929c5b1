"""What an import tells Prefect: artifacts keyed by feed, events automations act on.

The run's own record (reconciliation.json, the ledger) is written by the load; this is the
Prefect view of it, so it lives with the flows: one artifact series and one event resource per
feed (the source's file stem), whichever run or deployment imported it.
"""

from __future__ import annotations

import re
from typing import Any

from prefect.client.schemas.objects import State
from prefect.events import emit_event
from prefect.states import Failed

from pipelines.inbox.listing import export_stem
from pipelines.load.reconcile import summary_rows
from pipelines.load.run import LoadResult
from pipelines.transform.job import strip_query

BAD_INPUT = "bad input: "  # how a Failed state and the failed event's message say "not ours"

EVENT_COUNTS = (
    "rows_read",
    "rows_rejected",
    "rows_created",
    "rows_updated",
    "rows_no_effect",
    "rows_dropped",
    "rows_already_imported",
    "rows_not_imported",
)


def source_name(source: str) -> str:
    """The file name a source is known by in logs, run names and artifact keys."""
    return strip_query(source).rstrip("/").rpartition("/")[2] or source


def feed_slug(source: str) -> str:
    """The source's file stem as `a-z0-9-`: what names one feed in keys and resource ids."""
    slug = re.sub(r"[^a-z0-9]+", "-", export_stem(source_name(source)).lower()).strip("-")
    return slug[:60].strip("-") or "source"


def artifact_key(kind: str, source: str) -> str:
    """`kindful-<kind>-<file stem>`: one artifact series per feed, whichever run imports it."""
    return f"kindful-{kind}-{feed_slug(source)}"


def publish(report: dict[str, Any], source: str) -> None:
    """The Prefect table artifact and markdown summary of a run, keyed by its source."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    rows = summary_rows(report)
    create_table_artifact(
        key=artifact_key("reconciliation", source),
        table=[{"measure": label, "value": str(value)} for label, value in rows],
        description=f"Kindful import {report['run_id']} of {source_name(source)}",
    )
    lines = [
        f"# Kindful import {report['run_id']}: {report['status']}",
        "",
        f"`{report['data_format']}` ({report['action']}) from `{report['source']}`",
        "",
        f"Run files (reconciliation.json, findings.csv, rejects.csv, ...): `{report['out_dir']}`",
        "",
        "| measure | value |",
        "| --- | --- |",
        *(f"| {label} | {value} |" for label, value in rows),
        "",
        "| batch | rows | job | status | created | updated | no effect | dropped |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {b['name']} | {b['rows']} | {b['job_id'] or ''} | {b['status']} | "
            f"{b['created']} | {b['updated']} | {b['no_effect']} | {b['dropped']} |"
            for b in report["batches"]
        ),
    ]
    create_markdown_artifact(key=artifact_key("import-summary", source), markdown="\n".join(lines))
    reasons: dict[str, int] = report.get("reasons") or {}
    create_table_artifact(
        key=artifact_key("rejects", source),
        table=[{"column: reason": reason, "rows": count} for reason, count in reasons.items()]
        or [{"column: reason": "(none)", "rows": 0}],
        description=f"Rejected rows of {source_name(source)} by reason (no values)",
    )


def announce(source: str, report: dict[str, Any] | None, message: str | None = None) -> None:
    """`kindful-etl.import.completed` / `.failed` with the counts, for automations to act on."""
    status = report["status"] if report else "failed"
    payload: dict[str, Any] = {"status": status, "message": message}
    if report:
        payload |= {key: report.get(key, 0) for key in EVENT_COUNTS}
        payload |= {"run_id": report["run_id"], "run_files": report.get("out_dir")}
    resource = {
        "prefect.resource.id": f"kindful-etl.source.{feed_slug(source)}",
        "prefect.resource.name": source_name(source),
    }
    outcome = "completed" if status == "complete" else "failed"
    emit_event(event=f"kindful-etl.import.{outcome}", resource=resource, payload=payload)
    if report and report.get("rows_rejected"):
        # Automations match event names, not payload values: rejects get an event of their own.
        emit_event(event="kindful-etl.import.rejected-rows", resource=resource, payload=payload)


def bad_input(error: BaseException, source: str | None = None) -> State:
    """End the run Failed with `error` itself (the CLI reads it back) and a one-line message.

    The state's message is "bad input: <error>", never a traceback; with a `source`, the
    failed event goes out too.
    """
    message = f"{BAD_INPUT}{' '.join(str(error).split())}"
    if source is not None:
        announce(source, None, message)
    return Failed(message=message, data=error)


def reported(source: str, result: LoadResult, reasons: dict[str, int]) -> dict[str, Any]:
    """Publish and announce a loaded run; its report, or ImportFailed when it failed."""
    publish(result.report | {"reasons": reasons}, source)
    announce(source, result.report, result.failure)
    return result.raise_failure()

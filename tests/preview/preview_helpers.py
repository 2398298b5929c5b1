"""What the preview tests share: the samples, a sandbox token, and a preview run in one call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.models import ImportRequest
from pipelines.preview.plan import preview_export
from pipelines.preview.report import PreviewResult
from pipelines.transform.options import resolve_run
from pipelines.transform.prepare import prepare_export
from sandbox.serve import SandboxHandle

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"
CLASSY = SAMPLES / "classy_transactions.csv"
CLASSY_MAPPING = SAMPLES / "classy_transactions.mapping.yaml"
TOKEN = "preview-test-token"
HEADER = "id,first_name,last_name,email,updated_at,transaction_id,amount_in_cents,transaction_time"
FIRST = [
    f"{HEADER},transaction_updated_at",
    "C-1001,Ann,Lee,ann@example.org,2024-01-01T00:00:00Z,T-3001,5000,2024-01-01T00:00:00Z,",
    "C-1002,Bob,Ray,bob@example.org,2024-01-02T00:00:00Z,T-3002,7000,2024-01-02T00:00:00Z,",
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_inline(client: KindfulClient, source: Path, fmt: str | None, **options: Any) -> None:
    """Import SOURCE's accepted rows (<= 100) inline, as prepared for a real run."""
    run = resolve_run(data_format=fmt, **options)
    rows = [
        {str(k): v for k, v in row.items() if not pd.isna(v)}
        for chunk in prepare_export(str(source), run.mapping, run)
        for row in chunk.accepted.to_dict("records")
    ]
    job = client.submit_import(
        ImportRequest(
            data_format=run.data_format,  # type: ignore[arg-type]
            action_type=run.action,  # type: ignore[arg-type]
            data=rows,
            match_by=run.match_by or None,
        )
    )
    assert client.wait_for_import(job.id, poll_interval=0.02, timeout=30).status == "complete"


def preview(client: KindfulClient, source: Path, fmt: str, **options: Any) -> PreviewResult:
    email_exist_max = options.pop("email_exist_max", 20)
    run = resolve_run(data_format=fmt, **options)
    return preview_export(str(source), client, run, run.mapping, email_exist_max=email_exist_max)


def verdicts(result: PreviewResult) -> dict[int, str]:
    return dict(zip(result.rows["source_row"], result.rows["verdict"], strict=True))


def reason(result: PreviewResult, row: int) -> str:
    return str(result.rows.set_index("source_row").at[row, "reason"])


def posts(kindful: SandboxHandle) -> int:
    return kindful.sandbox_requests().get("POST /imports", 0)

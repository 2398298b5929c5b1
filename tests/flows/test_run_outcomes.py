"""What operators see when runs meet or end: who counts a job, where run files go, run names.

Over real HTTP (moto S3, the sandbox Kindful) and real flows on the session's Prefect server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from flows.import_export import import_export
from flows.reporting import artifact_key, source_name
from flows.run_settings import use_settings
from flows.s3_drop import ALREADY_IMPORTED, import_dropped_object
from flows.sync_inbox import sync_inbox
from pipelines.embedded.s3 import EmbeddedS3
from pipelines.kindful.settings import KindfulSettings
from pipelines.load.ledger import SUBMITTED, Ledger
from pipelines.load.settings import ImportSettings
from pipelines.outputs.run_folder import local_runs_root, run_folder
from pipelines.staging.s3 import StagingSettings, ensure_bucket
from sandbox.serve import SandboxHandle, running_sandbox
from schemas.columns import FORMATS

pytestmark = pytest.mark.slow
# The S3-drop allow-list these tests use (conftest's aws_env sets it).
DROP_BUCKETS = (
    "outcomes-drops",
    "outcomes-meet",
    "outcomes-late",
)
ROOT = Path(__file__).resolve().parents[2]
GIFTS = ROOT / "data_samples" / "contact_with_transaction.csv"
CONTACTS = ROOT / "data_samples" / "contacts.csv"
FORMAT = "contact_with_transaction"


def put(moto_s3: EmbeddedS3, bucket: str, key: str, body: bytes) -> None:
    client = moto_s3.client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key=key, Body=body)


def keys(moto_s3: EmbeddedS3, bucket: str, prefix: str) -> list[str]:
    listing = moto_s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def posts(kindful: SandboxHandle) -> int:
    return kindful.sandbox_requests().get("POST /imports", 0)


def wait_for(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --------------------------------------------------------------------------------------------
# where run files go
# --------------------------------------------------------------------------------------------

STAGING = StagingSettings(uri="s3://staging-bucket/runs/")


@pytest.mark.parametrize(
    ("ledger", "home", "expected"),
    [
        ("/srv/state/ledger.db", None, "/srv/state/runs"),
        ("sqlite:////srv/state/ledger.db", None, "/srv/state/runs"),
        ("sqlite:////srv/state/ledger.db", "/var/lib/k", "/srv/state/runs"),
        ("postgresql+psycopg://u:p@db/kindful", "/var/lib/k", "/var/lib/k/runs"),
        ("postgresql+psycopg://u:p@db/kindful", None, None),
        ("sqlite://", None, None),
    ],
)
def test_run_files_stay_in_the_local_state_folder_when_there_is_one(
    ledger: str, home: str | None, expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if home is None:
        monkeypatch.delenv("KINDFUL_ETL_HOME", raising=False)
    else:
        monkeypatch.setenv("KINDFUL_ETL_HOME", home)
    root = local_runs_root(ledger)
    assert (str(root) if root else None) == expected
    folder = run_folder("20261130T000000Z-abcdef", ledger=ledger, staging=STAGING)
    try:
        if expected is not None:
            assert not folder.remote
            assert folder.location == f"{expected}/20261130T000000Z-abcdef"
        else:
            # Beside the staged batches, written first to a folder only this user can enter.
            assert folder.location == "s3://staging-bucket/runs/20261130T000000Z-abcdef/"
            assert folder.path.is_dir() and folder.path.owner() == Path.home().owner()
            assert stat.S_IMODE(folder.path.stat().st_mode) == 0o700
    finally:
        if folder.remote:
            folder.path.rmdir()


@pytest.mark.usefixtures("prefect_server")
def test_a_run_without_a_local_state_folder_keeps_its_files_beside_the_staged_batches(
    settings: ImportSettings,
    moto_s3: EmbeddedS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A worker with a shared (URL) ledger and no KINDFUL_ETL_HOME: its disk is not the record.
    monkeypatch.delenv("KINDFUL_ETL_HOME", raising=False)
    shared = settings.__class__(**{**settings.__dict__, "ledger": "sqlite://"})
    with use_settings(shared):
        report = import_export(source=str(GIFTS), data_format=FORMAT)
    assert isinstance(report, dict) and report["status"] == "complete"

    prefix = f"{settings.staging.prefix}{report['run_id']}/"
    assert report["out_dir"] == f"s3://{settings.staging.bucket}/{prefix}"
    kept = {key[len(prefix) :] for key in keys(moto_s3, settings.staging.bucket, prefix)}
    # The run files stay; the staged batch (deleted after reconciliation) does not.
    assert {"reconciliation.json", "findings.csv", "rejects.csv", "summary.json"} <= kept
    assert not any(name.endswith(".csv.gz") for name in kept)
    head = moto_s3.client().head_object(
        Bucket=settings.staging.bucket, Key=f"{prefix}reconciliation.json"
    )
    assert head["ServerSideEncryption"] == "AES256"
    # No working copy left behind in the shared temp folder.
    assert not list(Path(tempfile.gettempdir()).glob(f"kindful-etl-run-{report['run_id']}-*"))


# --------------------------------------------------------------------------------------------
# run names and artifact keys
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "key"),
    [
        (
            "s3://drops/inbox/Classy export 2024+Q1.csv",
            "kindful-reconciliation-classy-export-2024-q1",
        ),
        ("/data/gifts.csv.gz", "kindful-reconciliation-gifts"),
        ("https://host/x/Stripe.jsonl?X-Amz-Signature=abc", "kindful-reconciliation-stripe"),
        ("/data/___.csv", "kindful-reconciliation-source"),
    ],
)
def test_artifact_keys_name_the_feed(source: str, key: str) -> None:
    assert artifact_key("reconciliation", source) == key
    assert "Signature" not in source_name(source)


def flow_run_names_and_artifacts(run_id_hint: str) -> tuple[list[str], list[Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    async def read() -> tuple[list[str], list[Any]]:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=run_id_hint))
            )
            found = []
            for run in runs:
                found += await client.read_artifacts(
                    flow_run_filter=FlowRunFilter(id={"any_": [run.id]})  # type: ignore[arg-type]
                )
            return [r.name for r in runs], found

    return asyncio.run(read())


def import_events(resource_id: str) -> list[dict[str, Any]]:
    """The kindful-etl.import.* events about one feed, from the Prefect API."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    answer = httpx.post(
        f"{PREFECT_API_URL.value()}/events/filter",
        json={"filter": {"resource": {"id": [resource_id]}}, "limit": 50},
        timeout=10,
    )
    answer.raise_for_status()
    events: list[dict[str, Any]] = answer.json()["events"]
    return [e for e in events if e["event"].startswith("kindful-etl.import.")]


def flow_run_parameters(name_hint: str) -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    async def read() -> list[dict[str, Any]]:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=name_hint))
            )
            return [run.parameters for run in runs]

    return asyncio.run(read())


@pytest.mark.usefixtures("prefect_server", "aws_env")
def test_a_drop_run_is_named_for_its_object_and_carries_its_imports_artifacts(
    settings: ImportSettings, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    key = f"{tmp_path.name}/Weekly Gifts.csv"
    put(moto_s3, "outcomes-drops", key, GIFTS.read_bytes())
    report = import_dropped_object(bucket="outcomes-drops", key=key, data_format=FORMAT)
    assert isinstance(report, dict) and report["status"] == "complete"
    names, artifacts = flow_run_names_and_artifacts(tmp_path.name)
    # One run (the import is no subflow), and the artifacts are that run's.
    assert names == [f"s3-drop outcomes-drops/{key}"]
    assert sorted(a.key for a in artifacts) == [
        "kindful-import-summary-weekly-gifts",
        "kindful-reconciliation-weekly-gifts",
        "kindful-rejects-weekly-gifts",
    ]
    (rejects,) = [a for a in artifacts if a.key.startswith("kindful-rejects")]
    assert "@" not in str(rejects.data)  # reasons and counts, never a value

    # An automation can act on the outcome: the completed event carries the counts.
    events = wait_for(
        lambda: (
            sorted(e["event"] for e in import_events("kindful-etl.source.weekly-gifts"))
            == ["kindful-etl.import.completed", "kindful-etl.import.rejected-rows"]
            and import_events("kindful-etl.source.weekly-gifts")
        ),
        "the import's events (completed, and rejected rows: the sample has 3)",
    )
    (event,) = [e for e in events if e["event"] == "kindful-etl.import.completed"]
    assert event["payload"]["rows_created"] == 17 and event["payload"]["status"] == "complete"
    assert event["payload"]["run_id"] == report["run_id"]

    # Settings are never a flow parameter: Prefect stores and shows every parameter.
    stored = flow_run_parameters(tmp_path.name)
    assert stored and all("settings" not in params for params in stored)
    assert settings.kindful.token.get_secret_value() not in repr(stored)

    names, _ = flow_run_names_and_artifacts("import contacts.csv")
    before = len(names)
    import_export(source=str(CONTACTS), data_format="contact")
    names, artifacts = flow_run_names_and_artifacts("import contacts.csv")
    assert len(names) == before + 1 and set(names) == {"import contacts.csv"}
    assert {a.key for a in artifacts} == {
        "kindful-import-summary-contacts",
        "kindful-reconciliation-contacts",
        "kindful-rejects-contacts",
    }


# --------------------------------------------------------------------------------------------
# runs that meet
# --------------------------------------------------------------------------------------------


def test_of_many_runs_claiming_one_job_exactly_one_holds_it(tmp_path: Path) -> None:
    ledger_path = str(tmp_path / "ledger.db")
    Ledger(ledger_path).close()  # the tables exist before the race starts

    def claim(n: int) -> str:
        book = Ledger(ledger_path)
        try:
            return book.claim_job(target="kindful", job_id="job-1", run_id=f"run-{n}")
        finally:
            book.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        owners = list(pool.map(claim, range(16)))
    assert len(set(owners)) == 1 and owners[0].startswith("run-")
    # Another job is claimed afresh; claims are per target.
    assert claim(99) == owners[0]
    book = Ledger(ledger_path)
    assert book.claim_job(target="kindful", job_id="job-2", run_id="run-x") == "run-x"
    assert book.claim_job(target="other", job_id="job-1", run_id="run-y") == "run-y"


def run_count(ledger: str) -> dict[str, int]:
    """What `kindful-etl runs` prints, summed over runs: the operator's view of the ledger."""
    listed = subprocess.run(
        [sys.executable, "-m", "flows.cli.main", "runs", "--ledger", ledger],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    totals = {"runs": 0, "created": 0}
    for line in listed.splitlines():
        words = line.split()
        totals["runs"] += 1
        totals["created"] += int(words[words.index("created") + 1])
    return totals


@pytest.mark.usefixtures("prefect_server", "aws_env")
def test_a_drop_and_the_sweep_meeting_on_one_file_count_its_rows_once(
    settings: ImportSettings, kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    inbox = f"{tmp_path.name}/inbox/"
    key = f"{inbox}gifts.csv"
    put(moto_s3, "outcomes-meet", key, GIFTS.read_bytes())
    kindful.set_faults(hold_jobs=True)  # both runs are then waiting on the one job
    results: dict[str, Any] = {}

    def drop() -> None:
        results["drop"] = import_dropped_object(bucket="outcomes-meet", key=key, data_format=FORMAT)

    def sweep() -> None:
        results["sweep"] = sync_inbox(location=f"s3://outcomes-meet/{inbox}", data_format=FORMAT)

    def batch_states() -> list[str]:
        book = Ledger(settings.ledger)
        try:
            return [b.status for r in book.runs() for b in (book.run(r.run_id) or (None, []))[1]]
        finally:
            book.close()

    dropping = threading.Thread(target=drop)
    dropping.start()
    wait_for(lambda: batch_states() == [SUBMITTED], "the drop's submitted batch")
    sweeping = threading.Thread(target=sweep)
    sweeping.start()
    # The sweep meets the drop's job: it waits for the account (one job at a time), or, when
    # it gets there first, follows the job the drop submitted.
    wait_for(lambda: len(Ledger(settings.ledger).runs()) == 2, "the sweep's run")
    time.sleep(1.0)
    kindful.set_faults(hold_jobs=False)
    dropping.join(120)
    sweeping.join(120)

    assert posts(kindful) == 1
    assert len(kindful.records()["transactions"]) == 17
    assert results["sweep"] == {"processed": ["gifts.csv"], "already_imported": [], "failed": []}
    book = Ledger(settings.ledger)
    reports = {r.run_id: r.summary for r in book.runs()}
    book.close()
    assert len(reports) == 2
    counted = [s for s in reports.values() if s and s["rows_created"] == 17]
    deferred = [s for s in reports.values() if s and s["rows_already_imported"] == 17]
    assert len(counted) == 1 and len(deferred) == 1, reports
    (winner,) = counted
    (loser,) = deferred
    assert loser["rows_created"] == 0 and loser["status"] == "complete" and loser["totals_close"]
    assert loser["batches"][0]["already_imported_by"] == winner["run_id"]
    assert run_count(settings.ledger) == {"runs": 2, "created": 17}


@pytest.mark.usefixtures("prefect_server", "aws_env")
def test_a_late_redelivery_after_the_sweep_moved_the_file_is_already_imported(
    settings: ImportSettings, kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    inbox = f"{tmp_path.name}/inbox/"
    put(moto_s3, "outcomes-late", f"{inbox}gifts.csv", GIFTS.read_bytes())
    swept = sync_inbox(location=f"s3://outcomes-late/{inbox}", data_format=FORMAT)
    assert swept["processed"] == ["gifts.csv"]
    assert f"{inbox}gifts.csv" not in keys(moto_s3, "outcomes-late", inbox)
    (run,) = Ledger(settings.ledger).runs()

    state = import_dropped_object(
        bucket="outcomes-late",
        key=f"{inbox}gifts.csv",
        data_format=FORMAT,
        return_state=True,
    )
    assert state.is_completed(), state.message
    assert state.result() == {
        "status": ALREADY_IMPORTED,
        "source": f"s3://outcomes-late/{inbox}gifts.csv",
        "data_format": FORMAT,
        "run_id": run.run_id,
        "message": f"already imported by run {run.run_id}",
    }
    assert posts(kindful) == 1


@pytest.mark.usefixtures("prefect_server")
def test_one_file_that_breaks_the_sync_goes_to_failed_and_the_rest_are_imported(
    settings: ImportSettings, kindful: SandboxHandle, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "broken.csv").write_bytes(CONTACTS.read_bytes())
    # A list where a name belongs: a TypeError deep in the options, not an InputError.
    (inbox / "broken.mapping.yaml").write_text("data_format: [contact]\n")
    (inbox / "good.csv").write_bytes(CONTACTS.read_bytes())
    outcome = sync_inbox(location=str(inbox), data_format="contact")
    assert outcome == {"processed": ["good.csv"], "already_imported": [], "failed": ["broken.csv"]}
    error = (inbox / "failed" / "broken.error.txt").read_text()
    assert len(error.strip().splitlines()) == 1
    assert posts(kindful) == 1


# --------------------------------------------------------------------------------------------
# what a deployment's run form offers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flow_name", ["import_export", "sync_inbox", "import_dropped_object"])
def test_deployed_flows_offer_no_secret_field_and_choices_for_format_and_action(
    flow_name: str,
) -> None:
    from prefect.utilities.callables import parameter_schema

    import flows.import_export
    import flows.s3_drop
    import flows.sync_inbox

    found = {
        "import_export": flows.import_export.import_export,
        "sync_inbox": flows.sync_inbox.sync_inbox,
        "import_dropped_object": flows.s3_drop.import_dropped_object,
    }[flow_name]
    properties = parameter_schema(found.fn).model_dump()["properties"]
    assert not {"settings", "token", "aws_credentials", "ledger"} & set(properties)
    choices = {
        name: next(option["enum"] for option in properties[name]["anyOf"] if "enum" in option)
        for name in ("data_format", "action")
    }
    assert choices["action"] == ["create", "update"]
    assert set(choices["data_format"]) == set(FORMATS)


@pytest.mark.usefixtures("prefect_server")
def test_an_import_that_cannot_run_emits_a_failed_event(
    settings: ImportSettings, tmp_path: Path
) -> None:
    export = tmp_path / "Broken Feed.csv"
    export.write_text("first_name,last_name\nAda,Example\n")
    state = import_export(
        source=str(export), data_format="contact_with_transaction", return_state=True
    )
    assert state.is_failed()
    (event,) = wait_for(
        lambda: import_events("kindful-etl.source.broken-feed"), "the failed import's event"
    )
    assert event["event"] == "kindful-etl.import.failed"
    assert event["payload"]["message"].startswith("bad input: ")


# --------------------------------------------------------------------------------------------
# one Kindful job at a time per account
# --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("prefect_server")
def test_an_import_waits_for_the_account_and_submits_nothing_meanwhile(
    settings: ImportSettings, kindful: SandboxHandle, tmp_path: Path
) -> None:
    from pipelines.load.account import account_name

    name = account_name(settings)
    assert settings.kindful.token.get_secret_value() not in name
    book = Ledger(settings.ledger)
    assert book.acquire_lease(name, "another-run", ttl=60)  # another worker's job is running
    results: dict[str, Any] = {}
    importing = threading.Thread(
        target=lambda: results.update(report=import_export(source=str(GIFTS), data_format=FORMAT))
    )
    importing.start()
    wait_for(lambda: len(book.runs()) == 1, "the run to start")
    time.sleep(1.5)
    assert posts(kindful) == 0  # waiting for the account, not submitting
    book.release_lease(name, "another-run")
    importing.join(60)
    assert results["report"]["status"] == "complete" and posts(kindful) == 1
    assert book.lease_holder(name) is None  # released when the batch was done


@pytest.mark.usefixtures("prefect_server")
def test_an_account_busy_for_too_long_fails_the_run_and_the_next_run_imports(
    settings: ImportSettings, kindful: SandboxHandle
) -> None:
    import dataclasses

    from pipelines.kindful.submit import SubmitSettings
    from pipelines.load.account import account_name
    from pipelines.load.run import ImportFailed

    impatient = dataclasses.replace(
        settings, poll_timeout=0.5, submit=SubmitSettings(sync_wait_max=0.5)
    )
    book = Ledger(settings.ledger)
    book.acquire_lease(account_name(settings), "another-run", ttl=60)
    with use_settings(impatient), pytest.raises(ImportFailed, match="Kindful account busy"):
        import_export(source=str(GIFTS), data_format=FORMAT)
    assert posts(kindful) == 0
    book.release_lease(account_name(settings), "another-run")
    report = import_export(source=str(GIFTS), data_format=FORMAT)
    assert isinstance(report, dict) and report["rows_created"] == 17 and posts(kindful) == 1


@pytest.mark.usefixtures("prefect_server")
def test_an_import_on_a_postgresql_ledger_resumes_and_keeps_its_files_on_s3(
    settings: ImportSettings,
    kindful: SandboxHandle,
    moto_s3: EmbeddedS3,
    postgres_cluster: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    monkeypatch.delenv("KINDFUL_ETL_HOME", raising=False)  # a worker whose disk is not the record
    shared = dataclasses.replace(settings, ledger=postgres_cluster.create_database("outcomes_e2e"))
    with use_settings(shared):
        first = import_export(source=str(GIFTS), data_format=FORMAT)
        again = import_export(source=str(GIFTS), data_format=FORMAT)
    assert isinstance(first, dict) and isinstance(again, dict)
    assert (first["rows_created"], again["rows_created"]) == (17, 0)
    assert again["rows_already_imported"] == 17 and posts(kindful) == 1
    assert first["out_dir"].startswith(f"s3://{settings.staging.bucket}/")
    book = Ledger(shared.ledger)
    assert [r.run_id for r in book.runs()] == [again["run_id"], first["run_id"]]
    assert [r.status for r in book.runs()] == ["complete", "complete"]
    book.close()


def test_the_shipped_automation_is_valid_and_listens_to_the_events_imports_emit() -> None:
    import yaml
    from prefect.events.schemas.automations import AutomationCore

    document = yaml.safe_load((ROOT / "deploy" / "automation-notify.yaml").read_text())
    (automation,) = [AutomationCore.model_validate(a) for a in document["automations"]]
    trigger = automation.trigger.model_dump()
    assert set(trigger["expect"]) == {
        "kindful-etl.import.failed",
        "kindful-etl.import.rejected-rows",
    }
    source = (ROOT / "flows" / "reporting.py").read_text()
    assert '"kindful-etl.import.rejected-rows"' in source
    assert "kindful-etl.import.{outcome}" in source
    assert (
        "prefect automation create --from-file deploy/automation-notify.yaml"
        in (ROOT / "prefect.yaml").read_text()
    )


@pytest.mark.usefixtures("prefect_server")
def test_a_link_in_the_inbox_is_filed_unread_and_the_good_file_beside_it_is_imported(
    settings: ImportSettings, kindful: SandboxHandle, tmp_path: Path
) -> None:
    secret = tmp_path / "outside" / "credentials.csv"
    secret.parent.mkdir()
    secret.write_text("first_name,last_name\nAKIASECRETKEY,do-not-read\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "env.csv").symlink_to(secret)
    (inbox / "good.csv").write_bytes(CONTACTS.read_bytes())
    outcome = sync_inbox(location=str(inbox), data_format="contact")
    assert outcome == {"processed": ["good.csv"], "already_imported": [], "failed": ["env.csv"]}
    error = (inbox / "failed" / "env.error.txt").read_text()
    assert error.startswith("refused: ") and len(error.strip().splitlines()) == 1
    written = [p for p in (inbox / "failed").rglob("*") if p.is_file() and not p.is_symlink()]
    assert all("AKIASECRETKEY" not in p.read_text(errors="replace") for p in written)
    assert posts(kindful) == 1


@pytest.mark.usefixtures("prefect_server")
def test_two_organizations_on_one_base_url_sharing_a_ledger_are_two_accounts(
    moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    import dataclasses

    with running_sandbox(
        token="org-a-token", extra_tokens=["org-b-token"], db=str(tmp_path / "kindful.db")
    ) as kindful:
        staging = moto_s3.settings(bucket="outcomes-staging", prefix=f"{tmp_path.name}/")
        ensure_bucket(moto_s3.client(staging), staging)
        org_a = ImportSettings(
            kindful=KindfulSettings(token=SecretStr("org-a-token"), base_url=kindful.base_url),
            staging=staging,
            ledger=str(tmp_path / "state" / "ledger.db"),
            aws_credentials=moto_s3.credentials(),
            poll_interval=0.05,
        )
        org_b = dataclasses.replace(
            org_a,
            kindful=KindfulSettings(token=SecretStr("org-b-token"), base_url=kindful.base_url),
        )
        assert org_a.target != org_b.target
        assert "org-a-token" not in org_a.target and org_a.target.startswith(kindful.base_url)
        reports = []
        for org in (org_a, org_b):
            with use_settings(org):
                reports.append(import_export(source=str(GIFTS), data_format=FORMAT))
    assert [r["rows_created"] for r in reports if isinstance(r, dict)] == [17, 17]
    assert posts(kindful) == 2


@pytest.mark.usefixtures("prefect_server", "aws_env")
def test_an_s3_inbox_with_a_key_longer_than_a_file_name_imports_everything(
    settings: ImportSettings, kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    inbox = f"{tmp_path.name}/inbox/"
    long_name = "g" * 236 + ".csv"  # 240 characters: no file system takes it as one name
    other_gifts = GIFTS.read_bytes().replace(b";T-", b";L-").replace(b"\nD-", b"\nLD-")
    put(moto_s3, "outcomes-long", f"{inbox}{long_name}", other_gifts)
    put(moto_s3, "outcomes-long", f"{inbox}good.csv", GIFTS.read_bytes())
    outcome = sync_inbox(location=f"s3://outcomes-long/{inbox}", data_format=FORMAT)
    assert sorted(outcome["processed"]) == sorted([long_name, "good.csv"]), outcome
    assert outcome["failed"] == [] and posts(kindful) == 2

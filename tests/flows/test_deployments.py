"""Every documented way of running kindful-etl, on a real Prefect server with a real worker.

One stack for the module (tests/prefect_stack.py): `prefect server start`, the work pool,
`prefect --no-prompt deploy --all` of prefect.yaml and `prefect worker start`, started with the
commands deploy/README.md documents for a local rehearsal, against moto S3 and the sandbox
Kindful over HTTP. On it: the nightly sync fired by the server's scheduler and completed by the
worker, `import-one-file` run from the CLI, an S3 drop delivered twice through the Lambda
handler, the README's drop rehearsal, and the deploy-time checks of the pull step. The
lock update that broke Prefect's scheduler (SQLAlchemy 2.1) passed CI because nothing like
this ran; wall times are recorded and printed at the end of the module.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shlex
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from support.prefect_stack import (
    FINAL_STATES,
    PREFECT_YAML,
    ROOT,
    SETUP_TIMING,
    Localizer,
    PrefectStack,
    clean_env,
    documented_command,
    flow_runs,
    free_port,
    listening,
    prefect_file_copy,
    rehearsal_blocks,
    running_stack,
    s3_notification,
    spec_of,
    start,
    stop,
    table_values,
    wait_until,
)

from flows.deploy_steps import REPO_DIR_VARIABLE, checkout_dir
from pipelines.embedded.s3 import EmbeddedS3

pytestmark = pytest.mark.slow
SAMPLES = ROOT / "data_samples"
NIGHTLY = "sync-inbox/nightly-sync"
ONE_FILE = "import-export/import-one-file"
S3_DROP = "import-dropped-object/s3-drop-import"
SET_WORKING_DIRECTORY = "prefect.deployments.steps.set_working_directory"


@pytest.fixture(scope="module")
def stack(
    moto_s3: EmbeddedS3,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[PrefectStack]:
    with running_stack(tmp_path_factory.mktemp("deployments"), moto_s3) as running:
        try:
            yield running
        finally:
            _report(running, request)


def _report(stack: PrefectStack, request: pytest.FixtureRequest) -> None:
    """Print the wall times (and keep them beside the logs) so they can be quoted."""
    (stack.workdir / "timings.json").write_text(json.dumps(stack.timings, indent=2))
    lines = ["", "deployment stack wall times (s):"]
    lines += [f"  {what:<52} {seconds:6.1f}" for what, seconds in stack.timings.items()]
    lines.append(f"  (logs and timings.json in {stack.workdir})")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n".join(lines), flush=True)


def _seconds_between(start_iso: str, end_iso: str) -> float:
    return (datetime.fromisoformat(end_iso) - datetime.fromisoformat(start_iso)).total_seconds()


def _state(run: dict[str, Any]) -> str:
    return str((run.get("state") or {}).get("type"))


# --------------------------------------------------------------------------------------------
# deploy time: the pull step's directory
# --------------------------------------------------------------------------------------------


def test_the_checkout_dir_step_gives_the_checkout_or_refuses_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(REPO_DIR_VARIABLE, raising=False)
    monkeypatch.chdir(ROOT)
    assert checkout_dir() == {"directory": str(ROOT)}
    monkeypatch.chdir(tmp_path)  # not a checkout: entrypoints and flows/ would not be here
    with pytest.raises(SystemExit) as refused:
        checkout_dir()
    assert "has no flows/" in str(refused.value.code)

    monkeypatch.setenv(REPO_DIR_VARIABLE, "/srv/kindful-etl/")  # need not exist on this machine
    assert checkout_dir() == {"directory": "/srv/kindful-etl"}
    for bad in ("relative/checkout", "", "  ", "{{ $HOME }}"):
        monkeypatch.setenv(REPO_DIR_VARIABLE, bad)
        with pytest.raises(SystemExit) as refused:
            checkout_dir()
        message = str(refused.value.code)
        assert (
            message.startswith(f"kindful-etl deploy: {REPO_DIR_VARIABLE}=") and "\n" not in message
        )


def test_prefect_deploy_stores_a_real_path_in_the_pull_step_or_fails_in_one_line(
    stack: PrefectStack, tmp_path: Path
) -> None:
    def pull(directory: str) -> list[dict[str, Any]]:
        return [{SET_WORKING_DIRECTORY: {"directory": directory}}]

    # The documented deploy (no KINDFUL_ETL_REPO_DIR) stored the directory it ran in.
    for name in (NIGHTLY, ONE_FILE, S3_DROP):
        assert stack.deployment(name)["pull_steps"] == pull(str(ROOT)), name

    # prefect.yaml's own build and pull steps, on one renamed deployment the worker never runs.
    def only_a_probe(document: dict[str, Any]) -> None:
        probe = spec_of(document, "import-one-file")
        probe["name"] = "pull-step-probe"
        document["deployments"] = [probe]

    probe_file = prefect_file_copy(tmp_path / "prefect.yaml", only_a_probe)
    with_variable = stack.deploy(probe_file, **{REPO_DIR_VARIABLE: "/srv/kindful-etl"})
    assert with_variable.returncode == 0, with_variable.stdout + with_variable.stderr
    probe = stack.deployment("import-export/pull-step-probe")
    try:
        assert probe["pull_steps"] == pull("/srv/kindful-etl")

        # Typed in a terminal, without --no-prompt, it asks nothing either (prefect.yaml says
        # `schedules: []` where Prefect would otherwise ask for a schedule).
        status, output = stack.prefect_in_terminal(
            "deploy", "--all", "--prefect-file", str(probe_file), env={REPO_DIR_VARIABLE: "/srv/x"}
        )
        assert (status, "[y/n]" in output) == (0, False), output
        assert stack.deployment("import-export/pull-step-probe")["pull_steps"] == pull("/srv/x")

        bad = stack.deploy(probe_file, **{REPO_DIR_VARIABLE: "relative/checkout"})
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert bad.stderr.strip().splitlines() == [
            f"kindful-etl deploy: {REPO_DIR_VARIABLE}='relative/checkout' must be the absolute "
            "path of the checkout on the worker machine (or unset it to use this directory)"
        ]
        assert "Traceback" not in bad.stdout + bad.stderr
        # The failed deploy changed nothing.
        assert stack.deployment("import-export/pull-step-probe")["pull_steps"] == pull("/srv/x")
    finally:
        with stack.api() as api:
            api.delete(f"/deployments/{probe['id']}").raise_for_status()


# --------------------------------------------------------------------------------------------
# the schedule
# --------------------------------------------------------------------------------------------


def test_scheduled_deployments_get_runs_and_the_worker_completes_a_nightly_sync(
    stack: PrefectStack, tmp_path: Path
) -> None:
    real = yaml.safe_load(PREFECT_YAML.read_text())
    assert spec_of(real, "nightly-sync")["schedules"] == [
        {"cron": "0 2 * * *", "timezone": "America/New_York", "active": True}
    ]
    scheduled = {spec["name"] for spec in real["deployments"] if spec.get("schedules")}
    assert scheduled == {"nightly-sync"}

    # The stack deployed the real prefect.yaml: the scheduler service has made runs of every
    # deployment with a schedule (Prefect 3.8 on SQLAlchemy 2.1 made none), at 02:00 New York.
    with stack.api() as api:
        deployments = api.post("/deployments/filter", json={}).json()
        with_schedules = [d for d in deployments if d["schedules"]]
        assert {d["name"] for d in with_schedules} == scheduled
        for deployment in with_schedules:

            def auto_scheduled(deployment_id: str = deployment["id"]) -> list[dict[str, Any]]:
                runs = flow_runs(api, deployment_id, type={"any_": ["SCHEDULED"]})
                return [r for r in runs if r["auto_scheduled"]]

            runs = wait_until(auto_scheduled, 30, f"scheduled runs of {deployment['name']}")
            new_york = ZoneInfo("America/New_York")
            for run in runs:
                expected = datetime.fromisoformat(run["expected_start_time"]).astimezone(new_york)
                assert (expected.hour, expected.minute) == (2, 0), run["expected_start_time"]

    # An inbox with two exports, each with its mapping beside it.
    bucket = "kindful-etl-scheduled"
    for name in ("classy_transactions", "paypal_activity"):
        stack.drop(bucket, f"inbox/{name}.csv", (SAMPLES / f"{name}.csv").read_bytes())
        mapping = (SAMPLES / f"{name}.mapping.yaml").read_bytes()
        stack.drop(bucket, f"inbox/{name}.mapping.yaml", mapping)
    posts = stack.posts()

    # The same file with the cron replaced by an interval whose first run is due shortly after
    # the deploy (the later ones an hour apart, so nothing else fires during the module).
    lead = max(15.0, 2.5 * stack.timings[SETUP_TIMING])
    due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)

    def interval(document: dict[str, Any]) -> None:
        nightly = spec_of(document, "nightly-sync")
        nightly["schedules"] = [
            {"interval": 3600, "anchor_date": due.isoformat(), "timezone": "UTC", "active": True}
        ]
        nightly["parameters"]["location"] = f"s3://{bucket}/inbox/"

    began = time.monotonic()
    deployed = stack.deploy(prefect_file_copy(tmp_path / "prefect.yaml", interval))
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    stack.record("deploy --all (prefect.yaml with an interval)", time.monotonic() - began)
    assert datetime.now(UTC) < due, "the deploy took longer than the schedule's lead time"

    began = time.monotonic()

    def the_due_run() -> dict[str, Any] | None:
        for run in stack.runs_of(NIGHTLY):
            expected = datetime.fromisoformat(run["expected_start_time"])
            if run["auto_scheduled"] and abs((expected - due).total_seconds()) < 1:
                return run
        return None

    first = wait_until(the_due_run, 30, f"a run scheduled at {due}\n{stack.logs_tail()}")
    stack.record("deploy end -> run scheduled by the scheduler", time.monotonic() - began)
    assert first["parameters"]["location"] == f"s3://{bucket}/inbox/"

    run = stack.wait_for_flow_run(first["id"], timeout=lead + 180)
    assert _state(run) == "COMPLETED", f"{run['state']}\n{stack.logs_tail(run['id'])}"
    stack.record(
        "nightly-sync: due time -> completed", _seconds_between(due.isoformat(), run["end_time"])
    )
    stack.record(
        "nightly-sync: start -> completed", _seconds_between(run["start_time"], run["end_time"])
    )

    assert stack.posts() - posts == 2, stack.logs_tail(run["id"])  # one batch per export
    keys = stack.keys(bucket, "inbox/")
    for name in ("classy_transactions.csv", "paypal_activity.csv"):
        assert f"inbox/processed/{name}" in keys, keys
        assert f"inbox/{name}" not in keys, keys
    stack.wait_for_log(run["id"], r"\b2 processed, 0 already imported, 0 failed")
    # Operator-friendly: named for the inbox, one artifact series per feed, lines name files.
    assert run["name"] == f"sync s3://{bucket}/inbox/"
    assert artifact_keys(stack, run["id"]) == sorted(
        [*feed_keys("classy-transactions"), *feed_keys("paypal-activity")]
    )
    stack.wait_for_log(run["id"], r"^classy_transactions\.csv: read 25 rows")
    stack.wait_for_log(run["id"], r"^paypal_activity\.csv: read \d+ rows")


# --------------------------------------------------------------------------------------------
# the analyst's one-file import and the S3 drop
# --------------------------------------------------------------------------------------------


def test_import_one_file_run_from_the_cli_completes(stack: PrefectStack) -> None:
    posts = stack.posts()
    began = time.monotonic()
    # Paths on the worker, relative to its checkout: the pull step's directory.
    created = stack.run_deployment(
        ONE_FILE,
        {
            "source": "data_samples/stripe_payments.csv",
            "mapping": "data_samples/stripe_payments.mapping.yaml",
        },
    )
    run = stack.wait_for_flow_run(created["id"])
    stack.record("import-one-file: deployment run -> completed", time.monotonic() - began)
    assert _state(run) == "COMPLETED", f"{run['state']}\n{stack.logs_tail(run['id'])}"
    assert stack.posts() - posts == 1

    tables = [
        artifact
        for artifact in stack.artifacts_of(run["id"])
        if artifact["type"] == "table" and artifact["key"].startswith("kindful-reconciliation")
    ]
    assert len(tables) == 1, tables
    values = table_values(tables[0])
    assert values["status"] == "complete" and values["totals close"] == "yes", values
    assert run["name"] == "import stripe_payments.csv"
    assert artifact_keys(stack, run["id"]) == feed_keys("stripe-payments")
    assert any(
        f"Run files (reconciliation.json, findings.csv, rejects.csv, ...): `{stack.state}/runs/"
        in str(a["data"])
        for a in stack.artifacts_of(run["id"])
    )


def test_an_s3_drop_delivered_twice_through_the_lambda_runs_once(stack: PrefectStack) -> None:
    bucket, key = "kindful-etl-drops", "inbox/Gifts 2024+Q1.csv"  # `+` and space: encoded
    settings = b"data_format: contact_with_transaction\nsource_system: gifts\n"
    stack.drop(bucket, "inbox/Gifts 2024+Q1.mapping.yaml", settings)
    head = stack.drop(bucket, key, (SAMPLES / "contact_with_transaction.csv").read_bytes())
    notification = s3_notification(bucket, key, head, sequencer="0065F1A2B3C4D5E6F7")
    posts = stack.posts()

    began = time.monotonic()
    first = stack.deliver(notification)
    second = stack.deliver(notification)
    assert first == second and first["ignored"] == []
    (emitted,) = first["emitted"]
    assert emitted["uri"] == f"s3://{bucket}/{key}"

    def runs_of_the_key() -> list[dict[str, Any]]:
        return [r for r in stack.runs_of(S3_DROP) if r["parameters"].get("key") == key]

    def finished() -> list[dict[str, Any]]:
        runs = runs_of_the_key()
        return runs if runs and all(_state(r) in FINAL_STATES for r in runs) else []

    (run,) = wait_until(finished, 180, f"the drop's run\n{stack.logs_tail()}")
    stack.record("s3 drop: handler -> completed", time.monotonic() - began)
    assert _state(run) == "COMPLETED", f"{run['state']}\n{stack.logs_tail(run['id'])}"
    assert run["parameters"]["bucket"] == bucket
    assert len(runs_of_the_key()) == 1  # the second delivery made no run
    assert stack.posts() - posts == 1
    # The drop's own run carries its import's artifacts (no subflow with a random name).
    assert run["name"] == f"s3-drop {bucket}/{key}"
    assert artifact_keys(stack, run["id"]) == feed_keys("gifts-2024-q1")


def test_a_late_redelivery_after_the_sweep_moved_the_drop_is_already_imported(
    stack: PrefectStack,
) -> None:
    bucket, inbox = "kindful-etl-drops", "inbox/late/"
    key = f"{inbox}Late gifts.csv"
    stack.drop(bucket, f"{inbox}mapping.yaml", b"data_format: contact\nsource_system: late\n")
    head = stack.drop(bucket, key, (SAMPLES / "contacts.csv").read_bytes())
    posts = stack.posts()
    stack.deliver(s3_notification(bucket, key, head, sequencer="00A1"))
    (drop,) = wait_for_final_drops(stack, key, 1)
    assert _state(drop) == "COMPLETED", stack.logs_tail(drop["id"])

    # The nightly sweep finds the drop imported and files it under processed/.
    began = time.monotonic()
    sweep = stack.wait_for_flow_run(
        stack.run_deployment(NIGHTLY, {"location": f"s3://{bucket}/{inbox}"})["id"]
    )
    stack.record("sweep of an imported drop: run -> completed", time.monotonic() - began)
    assert _state(sweep) == "COMPLETED", stack.logs_tail(sweep["id"])
    stack.wait_for_log(sweep["id"], r"^Late gifts\.csv: already imported by run ")
    assert f"{inbox}processed/Late gifts.csv" in stack.keys(bucket, inbox)

    # S3 delivers the event again, late (a new id: past the server's dedup): it completes as
    # already imported, naming the run, with no traceback and no Failed state.
    stack.deliver(s3_notification(bucket, key, head, sequencer="00A2"))
    late = wait_for_final_drops(stack, key, 2)[-1]
    assert _state(late) == "COMPLETED", stack.logs_tail(late["id"])
    imported_by = stack.wait_for_log(late["id"], r"no longer there; imported by run \S+")
    first_run = first_import_run(stack, f"s3://{bucket}/{key}")
    assert imported_by.endswith(f"imported by run {first_run}")
    assert stack.posts() - posts == 1


def test_a_drop_and_the_sweep_meeting_on_one_file_count_its_rows_once(
    stack: PrefectStack,
) -> None:
    bucket, inbox = "kindful-etl-drops", "inbox/meet/"
    key, uri = f"{inbox}Meet gifts.csv", "s3://kindful-etl-drops/inbox/meet/Meet gifts.csv"
    mapping = b"data_format: contact_with_transaction\nsource_system: meet\n"
    stack.drop(bucket, f"{inbox}mapping.yaml", mapping)
    # The gifts sample under ids of its own (M-...), new to this Kindful.
    sample = (SAMPLES / "contact_with_transaction.csv").read_bytes()  # cp1252, as exported
    body = sample.replace(b";T-", b";M-").replace(b"\nD-", b"\nMD-")
    head = stack.drop(bucket, key, body)
    posts = stack.posts()
    stack.kindful.set_faults(hold_jobs=True)  # the drop's job waits; the sweep comes meanwhile
    try:
        stack.deliver(s3_notification(bucket, key, head, sequencer="00B1"))
        wait_until(lambda: batch_states(stack, uri) == ["submitted"], 120, "the drop's job")
        sweep = stack.run_deployment(NIGHTLY, {"location": f"s3://{bucket}/{inbox}"})
        wait_until(
            lambda: _state(stack.flow_run(sweep["id"])) == "RUNNING", 120, "the sweep to start"
        )
        time.sleep(3)  # the sweep reads the file and meets the drop's job
    finally:
        stack.kindful.set_faults(hold_jobs=False)
    sweep = stack.wait_for_flow_run(sweep["id"])
    (drop,) = wait_for_final_drops(stack, key, 1)
    assert (_state(drop), _state(sweep)) == ("COMPLETED", "COMPLETED"), stack.logs_tail()
    assert stack.posts() - posts == 1  # one job for the one batch

    # `kindful-etl runs` counts the 17 gifts once: one run created them, the other says who did.
    listed = stack.shell(
        f".venv/bin/kindful-etl runs --ledger {shlex.quote(str(stack.state / 'ledger.db'))}",
        "runs.log",
    )
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if line.endswith(uri)]
    created = [int(line.split("created")[1].split()[0]) for line in lines]
    assert sorted(created) == [0, 17], listed.stdout
    meet = kindful_transactions(stack, "M-")
    assert len(set(meet)) == len(meet) == 17
    # The runs queued on the account's global concurrency limit (limit 1), named without token.
    with stack.api() as api:
        limits = api.post("/v2/concurrency_limits/filter", json={}).json()
    accounts = [c for c in limits if c["name"].startswith("kindful-127.0.0.1")]
    assert [c["limit"] for c in accounts] == [1], limits
    assert stack.env["KINDFUL_TOKEN"] not in accounts[0]["name"]


def test_a_run_cancelled_from_prefect_stops_and_the_next_run_follows_its_job(
    stack: PrefectStack, tmp_path: Path
) -> None:
    # Gifts with ids of their own (C-...), on the worker's disk (the deployment's source path).
    sample = (SAMPLES / "contact_with_transaction.csv").read_bytes()
    export = tmp_path / "cancel_gifts.csv"
    export.write_bytes(sample.replace(b";T-", b";C-").replace(b"\nD-", b"\nCD-"))
    params = {"source": str(export), "data_format": "contact_with_transaction"}
    posts = stack.posts()
    stack.kindful.set_faults(hold_jobs=True)
    try:
        run = stack.run_deployment(ONE_FILE, params)
        wait_until(lambda: batch_states(stack, str(export)) == ["submitted"], 120, "the run's job")
        began = time.monotonic()
        with stack.api() as api:  # what the UI's Cancel button does
            api.post(
                f"/flow_runs/{run['id']}/set_state",
                json={"state": {"type": "CANCELLING", "name": "Cancelling"}, "force": True},
            ).raise_for_status()
        cancelled = stack.wait_for_flow_run(run["id"], timeout=60)
        stack.record("cancel -> CANCELLED", time.monotonic() - began)
    finally:
        stack.kindful.set_faults(hold_jobs=False)
    assert _state(cancelled) == "CANCELLED", cancelled["state"]
    assert stack.posts() - posts == 1
    assert batch_states(stack, str(export)) == ["submitted"]  # the job stays recorded

    again = stack.wait_for_flow_run(stack.run_deployment(ONE_FILE, params)["id"])
    assert _state(again) == "COMPLETED", stack.logs_tail(again["id"])
    assert stack.posts() - posts == 1  # followed the recorded job, did not submit again
    cancelled_ids = kindful_transactions(stack, "C-")
    assert len(set(cancelled_ids)) == len(cancelled_ids) == 17


def feed_keys(feed: str) -> list[str]:
    """The artifacts one import publishes, keyed by its feed (file stem)."""
    return [
        f"kindful-import-summary-{feed}",
        f"kindful-reconciliation-{feed}",
        f"kindful-rejects-{feed}",
    ]


def artifact_keys(stack: PrefectStack, flow_run_id: str) -> list[str]:
    return sorted(str(a["key"]) for a in stack.artifacts_of(flow_run_id))


def wait_for_final_drops(stack: PrefectStack, key: str, count: int) -> list[dict[str, Any]]:
    def finished() -> list[dict[str, Any]]:
        runs = [r for r in stack.runs_of(S3_DROP) if r["parameters"].get("key") == key]
        done = [r for r in runs if _state(r) in FINAL_STATES]
        return sorted(done, key=lambda r: r["start_time"]) if len(done) >= count else []

    found: list[dict[str, Any]] = wait_until(finished, 180, f"{count} drop run(s) of {key}")
    return found


def batch_states(stack: PrefectStack, uri: str) -> list[str]:
    from pipelines.load.ledger import Ledger

    ledger = Ledger(str(stack.state / "ledger.db"))
    try:
        states = []
        for run in ledger.runs():
            if run.source_uri == uri:
                found = ledger.run(run.run_id)
                states += [b.status for b in (found[1] if found else [])]
        return states
    finally:
        ledger.close()


def first_import_run(stack: PrefectStack, uri: str) -> str:
    from pipelines.load.ledger import Ledger

    ledger = Ledger(str(stack.state / "ledger.db"))
    try:
        return next(r.run_id for r in reversed(ledger.runs()) if r.source_uri == uri)
    finally:
        ledger.close()


def kindful_transactions(stack: PrefectStack, prefix: str) -> list[str]:
    return [
        r["external_id"]
        for r in stack.kindful.records()["transactions"]
        if str(r["external_id"]).startswith(prefix)
    ]


# --------------------------------------------------------------------------------------------
# the docs
# --------------------------------------------------------------------------------------------


def test_the_documented_drop_rehearsal_runs(stack: PrefectStack) -> None:
    key = "inbox/classy_transactions.csv"

    def runs_of_the_key() -> list[dict[str, Any]]:
        return [r for r in stack.runs_of(S3_DROP) if r["parameters"].get("key") == key]

    began = time.monotonic()
    dropped = stack.shell(stack.blocks["drop"], "rehearsal-drop.log")
    assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    assert f"s3://kindful-etl-drops/{key}" in dropped.stdout and "'emitted': [{" in dropped.stdout

    def finished() -> list[dict[str, Any]]:
        runs = runs_of_the_key()
        return runs if runs and all(_state(r) in FINAL_STATES for r in runs) else []

    (run,) = wait_until(finished, 180, f"the rehearsal's drop run\n{stack.logs_tail()}")
    stack.record("rehearsal drop: handler -> completed", time.monotonic() - began)
    assert _state(run) == "COMPLETED", f"{run['state']}\n{stack.logs_tail(run['id'])}"

    # "Run it again": the same content, the same event id, no second run.
    again = stack.shell(stack.blocks["drop"], "rehearsal-drop-again.log")
    assert again.returncode == 0, again.stdout + again.stderr
    time.sleep(3)  # the trigger service would have made a run by now
    assert len(runs_of_the_key()) == 1

    check = stack.shell(stack.blocks["check"], "rehearsal-check.log")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "COMPLETED" in check.stdout, check.stdout
    assert (stack.state / "runs").is_dir()

    # The stack was started with the documented daemon lines, and listens on loopback only.
    blocks = rehearsal_blocks()
    assert stack.commands["server"] == documented_command(
        blocks["servers"], "prefect server start", stack.localize
    )
    assert stack.commands["worker"] == documented_command(
        blocks["worker"], "prefect worker start", stack.localize
    )
    for process in stack.processes.values():
        assert listening(process) <= {"127.0.0.1"}


def _answers(url: str, headers: dict[str, str]) -> bool:
    try:
        return httpx.get(url, headers=headers, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_documented_rehearsal_servers_start(tmp_path: Path) -> None:
    """moto and the sandbox as the rehearsal starts them (the stack uses in-process ones)."""
    blocks = rehearsal_blocks()
    localize = Localizer(0, free_port(), free_port(), tmp_path / "home", tmp_path / "rehearsal.db")
    token = shlex.split(blocks["env"].split("KINDFUL_TOKEN=", 1)[1])[0]
    probes = {
        "moto_server": (f"http://127.0.0.1:{localize.s3_port}/", {}),
        "kindful-etl sandbox": (
            f"http://127.0.0.1:{localize.kindful_port}/api/v1/imports/stats",
            {"Authorization": f'Token token="{token}"'},
        ),
    }
    for marker, (url, headers) in probes.items():
        argv = documented_command(blocks["servers"], marker, localize)
        process = start(
            ["bash", "-c", f"exec {shlex.join(argv)}"],
            tmp_path / f"{argv[0].rpartition('/')[2]}.log",
            cwd=ROOT,
            env=clean_env(drop=("PREFECT_", "AWS_", "KINDFUL_")),
        )
        try:
            wait_until(
                functools.partial(_answers, url, headers),
                60,
                f"{marker} on {url}",
                process,
            )
        finally:
            stop(process)
    assert (tmp_path / "rehearsal.db").exists()  # the sandbox kept its state where told

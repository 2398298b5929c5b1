"""The S3-drop import: the flow, prefect.yaml, the Cloud webhook template, and the whole trigger.

The end-to-end test starts a real Prefect server (`prefect server start`, its own home and
database), serves the `s3-drop-import` deployment with the trigger written in prefect.yaml,
drops an export into moto S3, delivers its S3 notification through the Lambda handler twice,
and checks that exactly one import reached the sandbox Kindful.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support.prefect_stack import FINAL_STATES, flow_runs, s3_notification
from support.prefect_stack import clean_env as _clean_env
from support.prefect_stack import free_port as _free_port
from support.prefect_stack import listening as _listening
from support.prefect_stack import start as _start
from support.prefect_stack import stop as _stop
from support.prefect_stack import wait_until as _wait_until

from flows.s3_drop import (
    ALREADY_IMPORTED,
    IGNORED,
    drop_uri,
    import_dropped_object,
    imported_by,
    not_a_drop,
)
from flows.s3_event_lambda import (
    EVENT_NAME,
    DroppedObject,
    handler,
    read_notification,
)
from pipelines.embedded.s3 import EmbeddedS3
from pipelines.errors import InputError
from pipelines.load.ledger import Ledger
from pipelines.load.settings import ImportSettings
from pipelines.read.fingerprints import source_content_hash
from pipelines.staging.s3 import ensure_bucket
from pipelines.transform.options import resolve_options
from sandbox.serve import SandboxHandle

pytestmark = pytest.mark.slow
# The S3-drop allow-list these tests use (conftest's aws_env sets it).
DROP_BUCKETS = ("drops-direct",)
ROOT = Path(__file__).resolve().parents[2]
GIFTS = ROOT / "data_samples" / "contact_with_transaction.csv"
CLASSY = ROOT / "data_samples" / "classy_transactions.csv"
CLASSY_MAPPING = ROOT / "data_samples" / "classy_transactions.mapping.yaml"
PREFECT_YAML = ROOT / "prefect.yaml"
WEBHOOK_TEMPLATE = ROOT / "deploy" / "prefect-cloud-webhook.j2"
EVENTBRIDGE_RULE = ROOT / "deploy" / "eventbridge-rule.json"


def deployment_spec(name: str) -> dict[str, Any]:
    document = yaml.safe_load(PREFECT_YAML.read_text())
    return next(d for d in document["deployments"] if d["name"] == name)


def posts(kindful: SandboxHandle) -> int:
    return kindful.sandbox_requests().get("POST /imports", 0)


# --------------------------------------------------------------------------------------------
# the flow, called directly (the session's Prefect test server)
# --------------------------------------------------------------------------------------------


def drop(moto_s3: EmbeddedS3, bucket: str, key: str, body: bytes) -> dict[str, Any]:
    """Put an object in moto; return its head (ETag, ...)."""
    client = moto_s3.client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key=key, Body=body)
    head: dict[str, Any] = client.head_object(Bucket=bucket, Key=key)
    return head


@pytest.mark.usefixtures("prefect_server", "aws_env")
def test_a_dropped_object_is_imported_once_and_a_second_delivery_imports_nothing(
    settings: ImportSettings, kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    key = f"{tmp_path.name}/gifts.csv"
    drop(moto_s3, "drops-direct", key, GIFTS.read_bytes())

    first = import_dropped_object(
        bucket="drops-direct",
        key=key,
        data_format="contact_with_transaction",
    )
    assert isinstance(first, dict)
    assert first["status"] == "complete" and first["rows_created"] == 17
    assert first["source"] == f"s3://drops-direct/{key}"
    submitted = posts(kindful)
    assert submitted == 1

    again = import_dropped_object(
        bucket="drops-direct", key=key, data_format="contact_with_transaction"
    )
    assert again == {
        "status": ALREADY_IMPORTED,
        "source": f"s3://drops-direct/{key}",
        "data_format": "contact_with_transaction",
        "run_id": first["run_id"],
        "message": f"already imported by run {first['run_id']}",
    }
    assert posts(kindful) == submitted
    assert len(Ledger(settings.ledger).runs()) == 1  # the second delivery did not even start one
    assert len(kindful.records()["transactions"]) == 17

    # The same content with other settings, or into another Kindful, is a different import.
    source = f"s3://drops-direct/{key}"
    options = resolve_options("contact_with_transaction", None)
    content = source_content_hash(source)
    assert imported_by(source, content, settings, options) == first["run_id"]
    update = resolve_options(options.data_format, None, action="update")
    assert imported_by(source, content, settings, update) is None
    elsewhere = dataclasses.replace(settings, target_name="another-kindful")
    assert imported_by(source, content, elsewhere, options) is None


@pytest.mark.usefixtures("prefect_server", "aws_env")
def test_a_drop_that_is_not_an_object_or_not_there_fails_as_bad_input(
    settings: ImportSettings, kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    state = import_dropped_object(
        bucket="drops-direct",
        key=f"{tmp_path.name}/",
        data_format="contact_with_transaction",
        return_state=True,
    )
    assert state.is_failed() and (state.message or "").startswith("bad input: not an S3 object")
    drop(moto_s3, "drops-direct", "present.csv", b"x")  # the bucket exists, the key does not
    state = import_dropped_object(
        bucket="drops-direct",
        key=f"{tmp_path.name}/missing.csv",
        data_format="contact_with_transaction",
        return_state=True,
    )
    message = state.message or ""
    assert state.is_failed() and message.startswith("bad input: ") and "missing.csv" in message
    assert posts(kindful) == 0


@pytest.mark.usefixtures("prefect_server", "aws_env")
def test_a_drop_from_a_bucket_not_allowed_is_refused_before_anything_is_read(
    settings: ImportSettings,
    kindful: SandboxHandle,
    moto_s3: EmbeddedS3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drop(moto_s3, "someone-elses", "inbox/gifts.csv", GIFTS.read_bytes())
    state = import_dropped_object(
        bucket="someone-elses",
        key="inbox/gifts.csv",
        data_format="contact_with_transaction",
        return_state=True,
    )
    message = state.message or ""
    assert state.is_failed() and message.startswith("bad input: "), message
    assert "not in KINDFUL_ETL_DROP_BUCKETS" in message
    # Without the setting no bucket is allowed at all.
    monkeypatch.delenv("KINDFUL_ETL_DROP_BUCKETS")
    state = import_dropped_object(bucket="drops-direct", key="gifts.csv", return_state=True)
    assert state.is_failed() and "KINDFUL_ETL_DROP_BUCKETS is not set" in (state.message or "")
    assert posts(kindful) == 0


@pytest.mark.usefixtures("prefect_server", "aws_env")
def test_a_drop_uses_the_mapping_beside_it_as_the_inbox_sync_does(
    settings: ImportSettings, kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path
) -> None:
    folder = f"{tmp_path.name}/inbox"
    drop(moto_s3, "drops-direct", f"{folder}/classy.csv", CLASSY.read_bytes())
    drop(moto_s3, "drops-direct", f"{folder}/classy.mapping.yaml", CLASSY_MAPPING.read_bytes())
    report = import_dropped_object(bucket="drops-direct", key=f"{folder}/classy.csv")
    assert isinstance(report, dict) and report["status"] == "complete"
    assert (report["data_format"], report["action"]) == ("contact_with_transaction", "update")
    assert (report["rows_read"], report["rows_rejected"], report["rows_created"]) == (25, 2, 23)

    # The sync's filed copies and run files raise events too; they are not drops.
    for key in (f"{folder}/processed/classy.csv", f"{folder}/processed/classy.findings.csv"):
        ignored = import_dropped_object(bucket="drops-direct", key=key)
        assert isinstance(ignored, dict) and ignored["status"] == IGNORED
    assert posts(kindful) == 1


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("inbox/gifts.csv", None),
        ("gifts.xlsx", None),
        ("inbox/2024/gifts.jsonl", None),
        ("inbox/processed/gifts.csv", "under processed/"),
        ("inbox/failed/2024/gifts.csv", "under failed/"),
        ("inbox/gifts.mapping.yaml", "not an export"),
        ("inbox/.gifts.csv", "not an export"),
        ("inbox/notes.pdf", "not an export"),
    ],
)
def test_what_is_not_a_drop(key: str, reason: str | None) -> None:
    why = not_a_drop(key)
    assert (why is None) if reason is None else (why is not None and reason in why)


def test_drop_uri_refuses_what_names_no_object() -> None:
    assert drop_uri("b", "in/a b+c.csv") == "s3://b/in/a b+c.csv"
    for bucket, key in [("", "k"), ("b", ""), ("b", "dir/"), ("b/c", "k")]:
        with pytest.raises(InputError):
            drop_uri(bucket, key)


def test_the_flow_documents_its_parameters_for_the_deployment_form() -> None:
    from prefect.utilities.callables import parameter_schema

    schema = parameter_schema(import_dropped_object).model_dump_for_openapi()
    properties = schema["properties"]
    assert schema["required"] == ["bucket", "key"]
    for name in ("bucket", "key", "data_format", "mapping", "action"):
        assert properties[name].get("description"), name


# --------------------------------------------------------------------------------------------
# prefect.yaml, the webhook template and the EventBridge rule
# --------------------------------------------------------------------------------------------


def test_prefect_yaml_loads_the_way_prefect_deploy_loads_it() -> None:
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.cli.deploy._triggers import _initialize_deployment_triggers
    from prefect.events import DeploymentEventTrigger

    raw = yaml.safe_load(PREFECT_YAML.read_text())
    model = PrefectYamlModel.model_validate(raw)
    by_name = {d.name: d for d in model.deployments}
    assert set(by_name) == {"nightly-sync", "import-one-file", "s3-drop-import"}

    nightly = by_name["nightly-sync"]
    assert nightly.entrypoint == "flows/sync_inbox.py:sync_inbox"
    (schedule,) = nightly.schedules or []
    assert getattr(schedule, "cron", None) == "0 2 * * *"
    assert getattr(schedule, "timezone", None)
    assert set(nightly.parameters) == {"location", "mapping", "data_format", "action"}
    for word in ("location", "mapping", "data_format", "action"):
        assert f"{word} - " in (nightly.description or "")

    one = by_name["import-one-file"]
    assert one.entrypoint == "flows/import_export.py:import_export"
    assert not one.schedules and not one.triggers

    drop_deployment = by_name["s3-drop-import"]
    assert drop_deployment.entrypoint == "flows/s3_drop.py:import_dropped_object"
    (trigger,) = _initialize_deployment_triggers(
        "s3-drop-import", [dict(t) for t in drop_deployment.triggers or []]
    )
    assert isinstance(trigger, DeploymentEventTrigger)
    assert trigger.expect == {EVENT_NAME}
    assert trigger.parameters == {
        "bucket": "{{ event.resource['s3.bucket'] }}",
        "key": "{{ event.resource['s3.key'] }}",
    }
    for d in model.deployments:
        assert d.work_pool is not None and d.work_pool.name == "kindful-etl"
    # Every entrypoint this repo already has loads as a flow (sync_inbox is written elsewhere).
    from prefect.flows import load_flow_from_entrypoint

    for d in model.deployments:
        assert d.entrypoint
        if (ROOT / d.entrypoint.split(":")[0]).exists():
            assert load_flow_from_entrypoint(str(ROOT / d.entrypoint)).name


EVENTBRIDGE_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "111122223333",
    "time": "2024-03-01T02:03:04Z",
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::kindful-etl-drops"],
    "detail": {
        "version": "0",
        "bucket": {"name": "kindful-etl-drops"},
        "object": {
            "key": 'inbox/Gifts "Q1" 2024+.csv',
            "size": 5120,
            "etag": "b1946ac92492d2347c6235b4d2611184",
            "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
            "sequencer": "617f08299329d189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}


def render_webhook(body: dict[str, Any]) -> dict[str, Any]:
    """Render the Cloud webhook template as Prefect Cloud does: Jinja2 over method/headers/body."""
    import jinja2

    environment = jinja2.Environment()
    template = environment.from_string(WEBHOOK_TEMPLATE.read_text())
    rendered = template.render(
        method="POST", headers={"content-type": "application/json"}, body=body
    )
    result: dict[str, Any] = json.loads(rendered)
    return result


def test_the_cloud_webhook_template_makes_the_event_the_lambda_makes() -> None:
    from prefect.events import Event

    rendered = render_webhook(EVENTBRIDGE_EVENT)
    event = Event.model_validate(rendered)  # a valid Prefect event
    assert event.event == EVENT_NAME
    assert str(event.id) == EVENTBRIDGE_EVENT["id"]  # EventBridge's retries keep its id

    # The Lambda reading the same EventBridge event emits the same resource, so the one
    # deployment trigger serves both paths.
    (from_lambda,) = read_notification(EVENTBRIDGE_EVENT)
    assert isinstance(from_lambda, DroppedObject)
    assert dict(event.resource) == from_lambda.prefect_event()["resource"]
    assert [dict(r) for r in event.related] == from_lambda.prefect_event()["related"]
    assert event.resource["s3.key"] == 'inbox/Gifts "Q1" 2024+.csv'
    assert event.occurred == datetime(2024, 3, 1, 2, 3, 4, tzinfo=UTC)

    # An unversioned bucket's event has no version id; the labels simply leave it out.
    bare = json.loads(json.dumps(EVENTBRIDGE_EVENT))
    del bare["detail"]["object"]["version-id"]
    (from_lambda,) = read_notification(bare)
    assert isinstance(from_lambda, DroppedObject)
    minimal = Event.model_validate(render_webhook(bare))
    assert "s3.version-id" not in minimal.resource
    assert dict(minimal.resource) == from_lambda.prefect_event()["resource"]


def test_deploy_readme_shows_the_template_and_rule_that_ship() -> None:
    import re
    import textwrap

    readme = (ROOT / "deploy" / "README.md").read_text()
    blocks = {
        lang: [textwrap.dedent(b) for b in re.findall(rf"```{lang}\n(.*?)```", readme, re.S)]
        for lang in ("jinja", "json")
    }
    assert blocks["jinja"] == [WEBHOOK_TEMPLATE.read_text()]
    rule = json.loads(EVENTBRIDGE_RULE.read_text())
    assert rule in [json.loads(b) for b in blocks["json"] if '"detail-type"' in b]


def test_the_eventbridge_rule_selects_object_created_in_the_drop_prefix() -> None:
    rule = json.loads(EVENTBRIDGE_RULE.read_text())
    assert rule["source"] == ["aws.s3"] and rule["detail-type"] == ["Object Created"]
    patterns = rule["detail"]["object"]["key"]
    assert {p["wildcard"].rsplit("*", 1)[1] for p in patterns} == {
        ".csv",
        ".csv.gz",
        ".xlsx",
        ".jsonl",
    }


# --------------------------------------------------------------------------------------------
# end to end: a real Prefect server, the served deployment, the Lambda, moto, the sandbox
# --------------------------------------------------------------------------------------------


PREFECT_CLI = (sys.executable, "-m", "prefect")


# The served side, as a worker host would run it: the deployment and trigger from prefect.yaml,
# `serve`d by a runner whose flow-run processes read everything from the environment. It
# imports while the server is still migrating its database, then waits for it.
SERVE_SCRIPT = """
import os, sys, time
import httpx, yaml
from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.events import DeploymentEventTrigger
from flows.s3_drop import import_dropped_object

spec = next(
    d for d in yaml.safe_load(open("prefect.yaml"))["deployments"]
    if d["name"] == "s3-drop-import"
)
deadline = time.monotonic() + 150
while True:
    try:
        if httpx.get(os.environ["PREFECT_API_URL"] + "/health", timeout=2).status_code == 200:
            break
    except httpx.HTTPError:
        pass
    if time.monotonic() > deadline:
        sys.exit("the Prefect server did not start")
    time.sleep(0.25)
deployment = import_dropped_object.to_deployment(
    name=spec["name"],
    parameters=spec["parameters"],
    tags=spec["tags"],
    concurrency_limit=ConcurrencyLimitConfig(**spec["concurrency_limit"]),
    triggers=[DeploymentEventTrigger.model_validate(t) for t in spec["triggers"]],
)
serve(deployment, print_starting_message=False)
"""


@dataclass
class DropStack:
    """A running Prefect server with the s3-drop-import deployment served against it."""

    api_url: str
    deployment_id: str
    ledger: Path
    logs: Path
    processes: tuple[subprocess.Popen[bytes], ...]

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=10)

    def logs_tail(self) -> str:
        parts = []
        for name in ("serve.log", "prefect-server.log"):
            path = self.logs / name
            text = path.read_text(errors="replace")[-2500:] if path.exists() else ""
            parts.append(f"--- {name} ---\n{text}")
        return "\n".join(parts)


@pytest.fixture
def drop_stack(kindful: SandboxHandle, moto_s3: EmbeddedS3, tmp_path: Path) -> Iterator[DropStack]:
    """`prefect server start` (own home, own SQLite) and the served deployment, both stopped after.

    Only the two processes get PREFECT_API_URL: this test process keeps its own settings.
    """
    home = tmp_path / "prefect-home"
    home.mkdir()
    port = str(_free_port())
    api_url = f"http://127.0.0.1:{port}/api"
    prefect_env = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    staging = moto_s3.settings(bucket="drop-e2e-staging", prefix="runs/")
    ensure_bucket(moto_s3.client(staging), staging)
    state = tmp_path / "kindful-etl-home"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        server = _start(
            [*PREFECT_CLI, "server", "start", "--host", "127.0.0.1", "--port", port, "--no-ui"],
            tmp_path / "prefect-server.log",
            env=_clean_env(**prefect_env, PREFECT_SERVER_LOGGING_LEVEL="WARNING"),
        )
        processes.append(server)
        runner = _start(
            [sys.executable, "-c", SERVE_SCRIPT],
            tmp_path / "serve.log",
            cwd=ROOT,
            env=_clean_env(
                **prefect_env,
                PYTHONPATH=str(ROOT),
                PREFECT_API_URL=api_url,
                PREFECT_RUNNER_POLL_FREQUENCY="1",
                PREFECT_LOGGING_LEVEL="INFO",
                KINDFUL_BASE_URL=kindful.base_url,
                KINDFUL_TOKEN=kindful.token,
                KINDFUL_ETL_STAGING_URI=staging.uri,
                KINDFUL_ETL_HOME=str(state),
                KINDFUL_ETL_DROP_BUCKETS="kindful-etl-drops/inbox/",
                KINDFUL_ETL_LEDGER_URL=str(state / "ledger.db"),
                AWS_ENDPOINT_URL_S3=moto_s3.endpoint_url,
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_REGION="us-east-1",
            ),
        )
        processes.append(runner)
        with httpx.Client(base_url=api_url, timeout=10) as api:

            def deployment() -> dict[str, Any] | None:
                with contextlib.suppress(httpx.HTTPError):
                    found = api.get("/deployments/name/import-dropped-object/s3-drop-import")
                    return found.json() if found.status_code == 200 else None
                return None

            found = _wait_until(deployment, 150, "the served deployment", server, runner)

            def automation() -> list[dict[str, Any]]:
                listed = api.post("/automations/filter", json={}).json()
                return [a for a in listed if a["actions"][0].get("deployment_id") == found["id"]]

            _wait_until(automation, 30, "the deployment trigger's automation", server, runner)
        time.sleep(1.0)  # the server's trigger service loads a new automation just after commit
        yield DropStack(api_url, found["id"], state / "ledger.db", tmp_path, (server, runner))
    finally:
        for process in reversed(processes):  # the runner (SIGINT: its clean stop), the server
            _stop(process, signal.SIGINT if process is not processes[0] else signal.SIGTERM)


def wait_for_runs(stack: DropStack, api: httpx.Client, count: int) -> list[dict[str, Any]]:
    """Wait until `count` runs of the deployment have finished; return every run."""

    def finished() -> list[dict[str, Any]] | None:
        runs = flow_runs(api, stack.deployment_id)
        final = [r for r in runs if r["state"] and r["state"]["type"] in FINAL_STATES]
        return runs if len(final) >= count else None

    found: list[dict[str, Any]] = _wait_until(
        finished, 90, f"{count} finished run(s)\n{stack.logs_tail()}", *stack.processes
    )
    return found


def test_end_to_end_an_s3_drop_delivered_twice_through_the_lambda_imports_once(
    drop_stack: DropStack,
    kindful: SandboxHandle,
    moto_s3: EmbeddedS3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = drop_stack
    bucket, key = "kindful-etl-drops", "inbox/Classy export 2024+Q1.csv"  # to be decoded
    drop(moto_s3, bucket, "inbox/mapping.yaml", CLASSY_MAPPING.read_bytes())  # the inbox's
    head = drop(moto_s3, bucket, key, CLASSY.read_bytes())
    notification = s3_notification(bucket, key, head, sequencer="0065F1A2B3C4D5E6F7")

    # The Lambda, configured as deploy/README.md says, gets the notification twice.
    monkeypatch.setenv("PREFECT_API_URL", stack.api_url)
    monkeypatch.delenv("PREFECT_API_KEY", raising=False)
    monkeypatch.setenv("KINDFUL_ETL_DROP_PREFIX", "inbox/")
    monkeypatch.setenv("KINDFUL_ETL_DROP_BUCKETS", "kindful-etl-drops/inbox/")
    first = handler(notification, None)
    second = handler(notification, None)
    assert first == second
    (emitted,) = first["emitted"]
    assert emitted["uri"] == f"s3://{bucket}/{key}"

    with stack.api() as api:
        (run,) = wait_for_runs(stack, api, 1)
        assert run["state"]["type"] == "COMPLETED", stack.logs_tail()
        assert run["parameters"]["bucket"] == bucket and run["parameters"]["key"] == key
        assert run["parameters"]["mapping"] is None  # prefect.yaml's: the inbox's mapping.yaml
        # The server kept one event for the two deliveries.
        stored = api.post(
            "/events/filter", json={"filter": {"event": {"name": [EVENT_NAME]}}, "limit": 50}
        ).json()["events"]
        assert [e["id"] for e in stored] == [emitted["id"]]

    assert posts(kindful) == 1  # one batch, one POST /imports
    transactions = [r["external_id"] for r in kindful.records()["transactions"]]
    assert len(transactions) == len(set(transactions)) == 23
    ledger = Ledger(str(stack.ledger))
    (record,) = ledger.runs()
    assert record.status == "complete" and record.source_uri == f"s3://{bucket}/{key}"
    assert record.settings["action"] == "update"  # from the mapping beside the drop
    assert record.summary is not None
    assert record.summary["rows_created"] == 23 and record.summary["totals_close"]

    # The same content announced again under another id (the same bytes uploaded again, or a
    # delivery after the server's dedup window) runs the flow, which finds it imported.
    handler(s3_notification(bucket, key, head, sequencer="0065F1A2B3C4D5E700"), None)
    with stack.api() as api:
        runs = wait_for_runs(stack, api, 2)
    # Two runs in all: the duplicate delivery of the first event made none.
    assert [r["state"]["type"] for r in runs] == ["COMPLETED", "COMPLETED"], stack.logs_tail()
    assert posts(kindful) == 1
    assert len(ledger.runs()) == 1
    ledger.close()
    for process in stack.processes:
        assert _listening(process) <= {"127.0.0.1"}

"""A real Prefect deployment stack for tests, built with the commands deploy/README.md documents.

`running_stack()` starts what an operator rehearsing a drop starts (deploy/README.md, "Rehearse
a drop locally"): `prefect server start`, the setup commands (buckets, work pool,
`prefect deploy --all`) and `prefect worker start`, each taken from the README's blocks marked
`<!-- rehearsal: ROLE -->` and run as a subprocess from the repo root. Only ports and paths
differ from the text: the test's own ports replace the documented ones and a temporary folder
replaces the documented state folder. moto S3 and the sandbox Kindful run in the test process
(the session's `moto_s3`, a sandbox with the documented token), so tests can count requests.

Every process started here runs in its own session and is stopped with its process group and
its descendants (flow-run processes start sessions of their own), even when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx
import yaml

from pipelines.embedded.s3 import EmbeddedS3
from sandbox.serve import SandboxHandle, running_sandbox

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_README = ROOT / "deploy" / "README.md"
PREFECT_YAML = ROOT / "prefect.yaml"
# The venv's own CLI, as the docs call it (.venv/bin/prefect), whichever venv runs the tests.
PREFECT = str(Path(sys.executable).with_name("prefect"))
POOL = "kindful-etl"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

# What the rehearsal in deploy/README.md listens on, replaced by the stack's own ports.
DOC_PREFECT_PORT, DOC_S3_PORT, DOC_KINDFUL_PORT = 4200, 5000, 8800
DOC_HOME = "$PWD/.kindful-etl-rehearsal"  # the documented state folder (KINDFUL_ETL_HOME)
DOC_SANDBOX_DB = "rehearsal.db"
SETUP_TIMING = "setup (buckets, work pool, deploy --all)"

# Settings the tests add (never in the docs): a private Prefect home, no telemetry, no UI, and
# short loops so schedules and runs show up in seconds.
SERVER_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
}
CLIENT_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_WORKER_QUERY_SECONDS": "1",
    "COLUMNS": "200",  # a terminal's width: the CLI's tables are cut to 80 columns without one
}


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------


class RetryOnBusy(httpx.HTTPTransport):
    """A Prefect server on SQLite answers 503 while its database is locked (a loaded 2-core
    machine, a minute at worst): the test's own API calls wait it out instead of failing."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(40):
            response = super().handle_request(request)
            if response.status_code not in (502, 503) or attempt == 39:
                return response
            response.close()
            time.sleep(min(0.25 * (attempt + 1), 3.0))
        raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(*, drop: tuple[str, ...] = ("PREFECT_", "AWS_"), **extra: str) -> dict[str, str]:
    """This process's environment without any setting starting with `drop`, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def start(args: list[str], log: Path, **popen: Any) -> subprocess.Popen[bytes]:
    """Start a process in its own session (so its children can be found and stopped)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )


def _descendants(process: subprocess.Popen[bytes]) -> list[Any]:
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        return []
    with contextlib.suppress(psutil.Error):
        found: list[Any] = psutil.Process(process.pid).children(recursive=True)
        return found
    return []


def stop(process: subprocess.Popen[bytes], first: int = signal.SIGTERM) -> None:
    """Stop a process this test started, its process group, and what it started elsewhere."""
    children = _descendants(process)  # before the signal: orphans are hard to find after
    if process.poll() is None:
        process.send_signal(first)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    with contextlib.suppress(ProcessLookupError):  # e.g. a flow-run process outliving it
        os.killpg(process.pid, signal.SIGKILL)
    for child in children:  # psutil checks the start time: never another process by pid reuse
        with contextlib.suppress(Exception):
            child.kill()


def listening(root: subprocess.Popen[bytes]) -> set[str]:
    """Addresses that a process and its descendants listen on (empty if psutil is missing)."""
    try:
        import psutil
    except ImportError:
        return set()
    try:
        parent = psutil.Process(root.pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return set()
    found: set[str] = set()
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            for conn in process.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add(conn.laddr.ip)
    return found


def wait_until(
    check: Callable[[], Any], timeout: float, what: str, *processes: subprocess.Popen[bytes]
) -> Any:
    """Poll `check` until it returns something truthy; fail early if a process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args!r} exited ({process.returncode}): {what}")
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def tail(path: Path, chars: int = 2500) -> str:
    text = path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"
    return f"--- {path.name} ---\n{text}"


# --------------------------------------------------------------------------------------------
# Prefect API and S3 notifications
# --------------------------------------------------------------------------------------------


def flow_runs(api: httpx.Client, deployment_id: str, **state: Any) -> list[dict[str, Any]]:
    """The deployment's flow runs, oldest start first; `state={"type": {"any_": [...]}}` filters."""
    query: dict[str, Any] = {"deployment_id": {"any_": [deployment_id]}}
    if state:
        query["state"] = state
    response = api.post("/flow_runs/filter", json={"flow_runs": query, "sort": "START_TIME_ASC"})
    response.raise_for_status()
    runs: list[dict[str, Any]] = response.json()
    return runs


def s3_notification(bucket: str, key: str, head: dict[str, Any], sequencer: str) -> dict[str, Any]:
    """What S3 sends a Lambda for a PUT: the key URL-encoded with `+` for spaces."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "kindful-etl-drop",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": head["ContentLength"],
                        "eTag": head["ETag"].strip('"'),
                        "sequencer": sequencer,
                    },
                },
            }
        ]
    }


def table_values(artifact: dict[str, Any]) -> dict[str, str]:
    """A `measure`/`value` table artifact (the reconciliation) as a dict."""
    data = artifact["data"]
    rows = json.loads(data) if isinstance(data, str) else data
    return {str(row["measure"]): str(row["value"]) for row in rows}


# --------------------------------------------------------------------------------------------
# the rehearsal in deploy/README.md
# --------------------------------------------------------------------------------------------

_BLOCK = re.compile(r"<!-- rehearsal: ([a-z-]+) -->\s*\n```sh\n(.*?)```", re.S)


def rehearsal_blocks(readme: Path = DEPLOY_README) -> dict[str, str]:
    """The shell blocks marked `<!-- rehearsal: ROLE -->` in deploy/README.md, by role."""
    blocks: dict[str, str] = {}
    for role, text in _BLOCK.findall(readme.read_text()):
        assert role not in blocks, f"two rehearsal blocks named {role!r} in {readme}"
        blocks[role] = text
    return blocks


def marked_blocks(path: Path, tag: str) -> dict[str, str]:
    """The shell blocks marked `<!-- TAG: ROLE -->` in a Markdown file, by role."""
    pattern = re.compile(rf"<!-- {re.escape(tag)}: ([a-z-]+) -->\s*\n```sh\n(.*?)```", re.S)
    blocks: dict[str, str] = {}
    for role, text in pattern.findall(path.read_text()):
        assert role not in blocks, f"two blocks marked {tag}: {role!r} in {path}"
        blocks[role] = text
    return blocks


def command_lines(block: str) -> list[str]:
    """A block's commands: continuation lines joined, blank and comment lines left out."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [
        line.strip()
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def exported(block: str) -> dict[str, str]:
    """The variables a block of `export NAME=VALUE ...` lines sets, as written."""
    env: dict[str, str] = {}
    for line in command_lines(block):
        words = shlex.split(line, comments=True)
        assert words[0] == "export", f"not an export line: {line!r}"
        for word in words[1:]:
            name, sep, value = word.partition("=")
            assert sep, f"not NAME=VALUE: {word!r}"
            env[name] = value
    return env


@dataclass(frozen=True)
class Localizer:
    """Replaces the documented ports and paths with the stack's; nothing else."""

    prefect_port: int
    s3_port: int
    kindful_port: int
    home: Path
    sandbox_db: Path

    def __call__(self, text: str) -> str:
        ports = {
            DOC_PREFECT_PORT: self.prefect_port,
            DOC_S3_PORT: self.s3_port,
            DOC_KINDFUL_PORT: self.kindful_port,
        }
        for doc, ours in ports.items():
            text = re.sub(rf"(127\.0\.0\.1:|--port |-p ){doc}\b", rf"\g<1>{ours}", text)
        text = text.replace(DOC_HOME, str(self.home))
        return re.sub(rf"(?<![\w/.-]){re.escape(DOC_SANDBOX_DB)}\b", str(self.sandbox_db), text)


def documented_env(block: str, localize: Localizer) -> dict[str, str]:
    """The variables the env block exports (`export NAME=VALUE ...` lines), localized."""
    env: dict[str, str] = {}
    for line in localize(block).splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        assert words[0] == "export", f"not an export line in the env block: {line!r}"
        for word in words[1:]:
            name, sep, value = word.partition("=")
            assert sep and "$" not in value, f"unexpected export in the env block: {word!r}"
            env[name] = value
    return env


def documented_command(block: str, marker: str, localize: Localizer) -> list[str]:
    """The one line of a block that contains `marker`, localized, as argv."""
    (line,) = [x for x in block.splitlines() if marker in x and not x.lstrip().startswith("#")]
    return shlex.split(localize(line), comments=True)


# --------------------------------------------------------------------------------------------
# the stack
# --------------------------------------------------------------------------------------------


@dataclass
class PrefectStack:
    """A running Prefect server, work pool, deployments and worker, moto S3 and a sandbox."""

    workdir: Path
    api_url: str
    env: dict[str, str]  # for commands run against the stack, as the docs set them up
    state: Path  # KINDFUL_ETL_HOME of the worker: the ledger and run files
    kindful: SandboxHandle
    s3: EmbeddedS3
    blocks: dict[str, str]
    localize: Localizer
    commands: dict[str, list[str]] = field(default_factory=dict)  # what was started, by role
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds, by what was measured

    # ---- Prefect --------------------------------------------------------------------------

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=15, transport=RetryOnBusy())

    def prefect(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """`.venv/bin/prefect ARGS` from the repo root against this stack (not checked)."""
        return subprocess.run(
            [PREFECT, *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def prefect_in_terminal(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> tuple[int | None, str]:
        """`prefect ARGS` in a pseudo-terminal, as typed by an operator: (status, output).

        The status is None when it stopped to ask a question (stopped here) or hung.
        """
        controller, terminal = pty.openpty()
        process = subprocess.Popen(
            [PREFECT, *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
        )
        os.close(terminal)
        output = bytearray()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and b"[y/n]" not in output:
                ready, _, _ = select.select([controller], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(controller, 65536)
                    except OSError:  # EIO: every writer closed the terminal
                        break
                    if not chunk:
                        break
                    output += chunk
                elif process.poll() is not None:
                    break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5 if b"[y/n]" not in output else 0)
        finally:
            status = process.poll()
            if status is None:
                stop(process)
            os.close(controller)
        return status, output.decode(errors="replace")

    def shell(
        self, script: str, log: str, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        """Run a documented block (localized) with bash from the repo root; output in `log`."""
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.localize(script)],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        (self.workdir / log).write_text(completed.stdout + completed.stderr)
        return completed

    def deploy(
        self, prefect_file: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """`prefect --no-prompt deploy --all` (the documented command), optionally another file."""
        args = ["--no-prompt", "deploy", "--all"]
        if prefect_file is not None:
            args += ["--prefect-file", str(prefect_file)]
        return self.prefect(*args, env=env)

    def deployment(self, name: str) -> dict[str, Any]:
        """A deployment by `flow-name/deployment-name`."""
        with self.api() as api:
            response = api.get(f"/deployments/name/{name}")
            response.raise_for_status()
            found: dict[str, Any] = response.json()
            return found

    def runs_of(self, name: str, **state: Any) -> list[dict[str, Any]]:
        with self.api() as api:
            return flow_runs(api, self.deployment(name)["id"], **state)

    def run_deployment(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """`prefect deployment run NAME -p k=v ...` (values as JSON); return the new flow run."""
        args = ["deployment", "run", name]
        for key, value in params.items():
            args += ["-p", f"{key}={json.dumps(value)}"]
        completed = self.prefect(*args)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        match = re.search(r"UUID: ([0-9a-f-]{36})", completed.stdout)
        assert match, completed.stdout
        return self.flow_run(match.group(1))

    def flow_run(self, flow_run_id: str) -> dict[str, Any]:
        with self.api() as api:
            response = api.get(f"/flow_runs/{flow_run_id}")
            response.raise_for_status()
            run: dict[str, Any] = response.json()
            return run

    def wait_for_flow_run(self, flow_run_id: str, timeout: float = 180) -> dict[str, Any]:
        """The flow run once it is in a final state; fails with the logs on timeout."""

        def final() -> dict[str, Any] | None:
            run = self.flow_run(flow_run_id)
            state = run.get("state") or {}
            return run if state.get("type") in FINAL_STATES else None

        try:
            found: dict[str, Any] = wait_until(
                final, timeout, f"flow run {flow_run_id}", *self.processes.values()
            )
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.logs_tail(flow_run_id)}") from None
        return found

    def wait_for_runs(
        self, name: str, count: int, timeout: float = 180, **state: Any
    ) -> list[dict[str, Any]]:
        """Wait until the deployment has `count` runs in a final state; return all its runs."""

        def finished() -> list[dict[str, Any]] | None:
            runs = self.runs_of(name, **state)
            done = [r for r in runs if (r.get("state") or {}).get("type") in FINAL_STATES]
            return runs if len(done) >= count else None

        try:
            found: list[dict[str, Any]] = wait_until(
                finished, timeout, f"{count} finished run(s) of {name}", *self.processes.values()
            )
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.logs_tail()}") from None
        return found

    def artifacts_of(self, flow_run_id: str) -> list[dict[str, Any]]:
        with self.api() as api:
            response = api.post(
                "/artifacts/filter",
                json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "KEY_ASC"},
            )
            response.raise_for_status()
            found: list[dict[str, Any]] = response.json()
            return found

    def flow_run_logs(self, flow_run_id: str, limit: int = 200) -> list[str]:
        """The flow run's log messages (as the worker's flow-run process sent them), in order."""
        with self.api() as api:
            response = api.post(
                "/logs/filter",
                json={
                    "logs": {"flow_run_id": {"any_": [flow_run_id]}},
                    "sort": "TIMESTAMP_ASC",
                    "limit": limit,
                },
            )
            response.raise_for_status()
            return [str(entry["message"]) for entry in response.json()]

    def wait_for_log(self, flow_run_id: str, pattern: str, timeout: float = 20) -> str:
        """The first log line of the run matching `pattern` (logs reach the API after states)."""

        def found() -> str | None:
            return next((m for m in self.flow_run_logs(flow_run_id) if re.search(pattern, m)), None)

        try:
            line: str = wait_until(found, timeout, f"a log line {pattern!r}")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.logs_tail(flow_run_id)}") from None
        return line

    # ---- S3, the Lambda, Kindful ----------------------------------------------------------

    def drop(self, bucket: str, key: str, body: bytes) -> dict[str, Any]:
        """Put an object in moto (creating the bucket); return its head (ETag, size)."""
        client = self.s3.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=bucket)
        client.put_object(Bucket=bucket, Key=key, Body=body)
        head: dict[str, Any] = client.head_object(Bucket=bucket, Key=key)
        return head

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        client = self.s3.client()
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(str(item["Key"]) for item in listed.get("Contents", []))

    def deliver(self, notification: dict[str, Any]) -> dict[str, Any]:
        """Invoke the Lambda handler (`flows.s3_event_lambda.handler`) in its own process.

        Its environment is the documented one (PREFECT_API_URL, KINDFUL_ETL_DROP_PREFIX), as
        the Lambda's configuration would set it; the test process's own settings stay out.
        """
        code = (
            "import json, sys\n"
            "from flows.s3_event_lambda import handler\n"
            "print(json.dumps(handler(json.load(sys.stdin), None)))\n"
        )
        completed = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=self.env,
            input=json.dumps(notification),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
        return result

    def posts(self) -> int:
        """`POST /imports` requests the sandbox Kindful has received."""
        return self.kindful.sandbox_requests().get("POST /imports", 0)

    # ---- reporting ------------------------------------------------------------------------

    def record(self, what: str, seconds: float) -> None:
        self.timings[what] = round(seconds, 1)

    def logs_tail(self, flow_run_id: str | None = None) -> str:
        parts = [tail(self.workdir / f"{role}.log") for role in ("server", "worker")]
        if flow_run_id is not None:
            with contextlib.suppress(Exception):
                parts.append("--- flow run logs ---\n" + "\n".join(self.flow_run_logs(flow_run_id)))
        return "\n".join(parts)


def prefect_file_copy(path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """prefect.yaml as YAML data, changed by `edit`, written to `path` (comments are lost)."""
    document: dict[str, Any] = yaml.safe_load(PREFECT_YAML.read_text())
    edit(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def spec_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in document["deployments"] if d["name"] == name)
    return found


def _healthy(api_url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    return False


def _worker_online(api_url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        response = httpx.post(f"{api_url}/work_pools/{POOL}/workers/filter", json={}, timeout=5)
        return response.status_code == 200 and bool(response.json())
    return False


def server_healthy(api_url: str) -> bool:
    """The Prefect server at `api_url` answers its health check."""
    return _healthy(api_url)


def workers_online(api_url: str, pool: str = POOL) -> list[dict[str, Any]]:
    """The workers the server has heard from for `pool` (empty when it cannot say)."""
    with contextlib.suppress(httpx.HTTPError, ValueError):
        response = httpx.post(f"{api_url}/work_pools/{pool}/workers/filter", json={}, timeout=5)
        if response.status_code == 200:
            found: list[dict[str, Any]] = response.json()
            return found
    return []


@contextlib.contextmanager
def running_stack(workdir: Path, s3: EmbeddedS3) -> Iterator[PrefectStack]:
    """Start the documented rehearsal (server, setup, worker) against moto and a sandbox."""
    blocks = rehearsal_blocks()
    for role in ("env", "servers", "setup", "worker"):
        assert role in blocks, f"deploy/README.md has no <!-- rehearsal: {role} --> block"
    home = workdir / "kindful-etl-home"
    prefect_port = free_port()
    s3_port = urlsplit(s3.endpoint_url).port
    assert s3_port is not None
    raw_env = documented_env(blocks["env"], Localizer(0, 0, 0, home, workdir / "sandbox.db"))
    with running_sandbox(token=raw_env["KINDFUL_TOKEN"], db=str(workdir / "sandbox.db")) as kindful:
        localize = Localizer(prefect_port, s3_port, kindful.port, home, workdir / "sandbox.db")
        prefect_home = workdir / "prefect-home"
        prefect_home.mkdir()
        env = clean_env(
            drop=("PREFECT_", "AWS_", "KINDFUL_"),
            **documented_env(blocks["env"], localize),
            **CLIENT_ENV,
            PREFECT_HOME=str(prefect_home),
        )
        stack = PrefectStack(
            workdir=workdir,
            api_url=env["PREFECT_API_URL"],
            env=env,
            state=home,
            kindful=kindful,
            s3=s3,
            blocks=blocks,
            localize=localize,
        )
        try:
            began = time.monotonic()
            server = documented_command(blocks["servers"], "prefect server start", localize)
            stack.commands["server"] = server
            stack.processes["server"] = start(
                ["bash", "-c", f"exec {shlex.join(server)}"],
                workdir / "server.log",
                cwd=ROOT,
                env={**env, **SERVER_ENV},
            )
            wait_until(
                lambda: _healthy(stack.api_url),
                120,
                f"the Prefect server\n{stack.logs_tail()}",
                *stack.processes.values(),
            )
            stack.record("server start", time.monotonic() - began)

            began = time.monotonic()
            setup = stack.shell(blocks["setup"], "setup.log")
            assert setup.returncode == 0, f"the documented setup failed:\n{setup.stderr[-3000:]}"
            stack.record(SETUP_TIMING, time.monotonic() - began)

            began = time.monotonic()
            worker = documented_command(blocks["worker"], "prefect worker start", localize)
            stack.commands["worker"] = worker
            stack.processes["worker"] = start(
                ["bash", "-c", f"exec {shlex.join(worker)}"],
                workdir / "worker.log",
                cwd=ROOT,
                env=env,
            )
            wait_until(
                lambda: _worker_online(stack.api_url),
                90,
                f"the worker\n{stack.logs_tail()}",
                *stack.processes.values(),
            )
            stack.record("worker start", time.monotonic() - began)
            yield stack
        finally:
            # The worker first (SIGINT: its clean stop, which ends its flow runs), the server last.
            for role in ("worker", "server"):
                if role in stack.processes:
                    stop(
                        stack.processes[role], signal.SIGINT if role == "worker" else signal.SIGTERM
                    )

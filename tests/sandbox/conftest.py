"""Fixtures: a sandbox on a loopback port, a client talking to it, a data_url file server."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.models import ImportRequest, ImportResult
from pipelines.kindful.settings import KindfulSettings, RetryPolicy
from sandbox.faults import FaultSettings
from sandbox.serve import SandboxHandle, running_sandbox

TOKEN = "sandbox-test-token"
FAST_RETRY = RetryPolicy(attempts=4, timeout=10, wait_initial=0.001, wait_max=0.01, wait_jitter=0)


class FileServer:
    """Serves byte strings at /<name> on 127.0.0.1, like presigned S3 URLs."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, bytes]] = {}
        self.hits: dict[str, int] = {}
        files, hits = self.files, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.lstrip("/").split("?")[0]
                hits[name] = hits.get(name, 0) + 1
                status, body = files.get(name, (404, b"missing"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def put(self, name: str, body: bytes, status: int = 200) -> str:
        self.files[name] = (status, body)
        return f"http://127.0.0.1:{self._server.server_address[1]}/{name}"

    def put_csv(self, name: str, header: list[str], rows: list[list[Any]]) -> str:
        lines = [",".join(header)] + [",".join(_csv_cell(v) for v in row) for row in rows]
        return self.put(name, gzip.compress(("\n".join(lines) + "\n").encode()))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f'"{text}"' if "," in text else text


@pytest.fixture(scope="session")
def files() -> Iterator[FileServer]:
    server = FileServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def shared_server() -> Iterator[SandboxHandle]:
    with running_sandbox(token=TOKEN, processing_delay=0.0) as handle:
        yield handle


@pytest.fixture
def sandbox(shared_server: SandboxHandle) -> Iterator[SandboxHandle]:
    """A fresh organization (own token, no records) on the shared server; faults reset after.

    Faults are the server's, so a job the test left queued (held, say) must finish before the
    next test sets its own: else it could run first and take that test's `fail_jobs` status.
    """
    org = shared_server.new_org()
    yield org
    shared_server.sandbox.set_faults(FaultSettings().model_dump())
    deadline = time.monotonic() + 30
    while shared_server.sandbox.store.active_jobs(org.app):
        assert time.monotonic() < deadline, "a test's sandbox jobs did not finish in 30 s"
        time.sleep(0.01)


@pytest.fixture
def own_server() -> Iterator[SandboxHandle]:
    """A server of its own, for request counts and lifecycle tests."""
    with running_sandbox(token=TOKEN, processing_delay=0.0) as handle:
        yield handle


def make_client(base_url: str, token: str = TOKEN, **settings: Any) -> KindfulClient:
    settings.setdefault("retry", FAST_RETRY)
    return KindfulClient(KindfulSettings(token=token, base_url=base_url, **settings))


@pytest.fixture
def client(sandbox: SandboxHandle) -> Iterator[KindfulClient]:
    with make_client(sandbox.base_url, sandbox.token) as kindful:
        yield kindful


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    """A raw HTTP client, for sending the reference's bodies exactly as written."""
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f'Token token="{sandbox.token}"'}
    ) as http:
        yield http


def finish(client: KindfulClient, job_id: str) -> ImportResult:
    return client.wait_for_import(job_id, poll_interval=0.01, timeout=20)


Run = Callable[..., ImportResult]


@pytest.fixture
def run(client: KindfulClient) -> Run:
    """Submit an import (an ImportRequest or its fields) and wait for the job to finish."""

    def submit_and_wait(request: ImportRequest | None = None, **fields: Any) -> ImportResult:
        job = client.submit_import(request or ImportRequest(**fields))
        return finish(client, job.id)

    return submit_and_wait


@pytest.fixture
def run_raw(api: httpx.Client, client: KindfulClient) -> Callable[[dict[str, Any]], ImportResult]:
    """POST a body as-is and wait for the job."""

    def post_and_wait(body: dict[str, Any]) -> ImportResult:
        response = api.post("/imports", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "pending"
        return finish(client, response.json()["id"])

    return post_and_wait

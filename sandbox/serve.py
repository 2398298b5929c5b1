"""Start the sandbox: `serve()` blocks (the CLI), `running_sandbox()` runs it in a thread.

Always on 127.0.0.1; port 0 picks a free port, read back from the bound socket.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from sandbox.app import create_app
from sandbox.auth import app_id, new_token
from sandbox.config import SandboxConfig
from sandbox.faults import FaultSettings
from sandbox.service import Sandbox

HOST = "127.0.0.1"


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it uvicorn's keep-alive answers wait ~40 ms on
    # Nagle + delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    return sock


def _server(sandbox: Sandbox) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(sandbox), log_level="warning", access_log=False, lifespan="off"
    )
    return uvicorn.Server(config)


@dataclass
class SandboxHandle:
    """A running sandbox: where it listens, its token, and test access to its state."""

    sandbox: Sandbox
    port: int
    token: str = field(repr=False)
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """Direct-access base, like https://app.kindful.com/api/v1."""
        return f"{self.root_url}/api/v1"

    @property
    def oauth_base_url(self) -> str:
        """OAuth2 partner base, like https://app.kindful.com/admin/oauth2/api/v1."""
        return f"{self.root_url}/admin/oauth2/api/v1"

    @property
    def app(self) -> str:
        return app_id(self.token)

    def new_org(self, token: str | None = None) -> SandboxHandle:
        """A handle for a fresh app (own token, own records) on this same server."""
        token = token or new_token()
        self.sandbox.add_token(token)
        return dataclasses.replace(self, token=token)

    def records(self) -> dict[str, list[dict[str, Any]]]:
        """Every record of this token's app, by kind (contacts, transactions, funds, ...)."""
        return self.sandbox.dump(self.app)

    def sandbox_requests(self) -> dict[str, int]:
        """Requests received so far, keyed "METHOD /path" (base path stripped)."""
        return dict(self.sandbox.requests)

    def job_peaks(self) -> dict[str, int]:
        """This app's jobs: `submitted`, `peak_active` and `peak_working` (at once)."""
        return self.sandbox.runner.peaks(self.app)

    def set_faults(self, **changes: Any) -> FaultSettings:
        return self.sandbox.set_faults(changes)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self.sandbox.close()


def start_sandbox(
    *,
    token: str | None = None,
    db: str | None = None,
    port: int = 0,
    processing_delay: float = 0.0,
    faults: FaultSettings | dict[str, Any] | None = None,
    extra_tokens: list[str] | None = None,
    **config: Any,
) -> SandboxHandle:
    """Start a sandbox on 127.0.0.1 in a background thread; call `.stop()` when done."""
    token = token or new_token()
    fault_settings = FaultSettings.model_validate(faults) if isinstance(faults, dict) else faults
    sandbox = Sandbox(
        [token, *(extra_tokens or [])],
        db=db,
        config=SandboxConfig(processing_delay=processing_delay, **config),
        faults=fault_settings,
    )
    sock = _bind(port)
    server = _server(sandbox)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sandbox-http", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sandbox.close()
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.01)
    sandbox.start()
    return SandboxHandle(sandbox, sock.getsockname()[1], token, server, thread)


@contextmanager
def running_sandbox(**kwargs: Any) -> Iterator[SandboxHandle]:
    """`with running_sandbox(token=..., db=..., processing_delay=...) as sb:` for tests."""
    handle = start_sandbox(**kwargs)
    try:
        yield handle
    finally:
        handle.stop()


def serve(
    host: str = HOST,
    port: int = 0,
    token: str | None = None,
    db: str | None = None,
    processing_delay: float = 0.5,
    *,
    announce: Any = print,
) -> None:
    """Run until interrupted, announcing the base URL (and the token when generated)."""
    if host != HOST:
        raise ValueError("the sandbox listens on 127.0.0.1 only")
    generated = token is None
    token = token or new_token()
    sandbox = Sandbox([token], db=db, config=SandboxConfig(processing_delay=processing_delay))
    sock = _bind(port)
    bound = sock.getsockname()[1]
    announce(f"Kindful sandbox listening on http://{HOST}:{bound}/api/v1")
    announce(f"OAuth2 base path: http://{HOST}:{bound}/admin/oauth2/api/v1")
    if generated:
        announce(f"Token: {token}")
    sandbox.start()
    try:
        _server(sandbox).run(sockets=[sock])
    finally:
        sandbox.close()

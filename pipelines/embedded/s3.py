"""An in-process moto S3 server on 127.0.0.1, the staging default when no real bucket is set.

It lets a local run (and the tests) exercise the real HTTP path -- uploads, presigned GETs
fetched by another client -- without AWS. Nothing global is set: callers get the endpoint,
settings and fake credentials from the handle and pass them to boto3 explicitly.

Caveats of moto that callers must know: it does not enforce presigned-URL expiry (use
`pipelines.staging.s3.url_expired`), it does not verify signatures, and its state is
per-process, shared by every moto server in the process and kept after `stop()`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pipelines.staging.s3 import S3Client, StagingSettings, s3_client

logger = logging.getLogger(__name__)

FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"
DEFAULT_BUCKET = "kindful-etl-staging"
DEFAULT_PREFIX = "runs/"

_QUERY = re.compile(r"\?[^\s\"]*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class EmbeddedS3:
    """A running moto server: where it listens, and how to stop it."""

    endpoint_url: str
    _server: Any = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def settings(
        self, bucket: str = DEFAULT_BUCKET, prefix: str = DEFAULT_PREFIX, **overrides: Any
    ) -> StagingSettings:
        """Staging settings pointing at this server (region us-east-1)."""
        values: dict[str, Any] = {
            "uri": f"s3://{bucket}/{prefix.lstrip('/')}",
            "endpoint_url": self.endpoint_url,
            "region": REGION,
        }
        return StagingSettings(**(values | overrides))

    def credentials(self) -> dict[str, str]:
        """Fake AWS keys, as boto3 keyword arguments; moto accepts any."""
        return dict(FAKE_CREDENTIALS)

    def client(self, settings: StagingSettings | None = None) -> S3Client:
        """An S3 client for this server with its fake credentials, bypassing the AWS chain."""
        return s3_client(settings or self.settings(), credentials=self.credentials())

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop()
        inner = getattr(self._server, "_server", None)
        if inner is not None:
            inner.server_close()


@contextmanager
def running_moto() -> Iterator[EmbeddedS3]:
    """Run a moto server on 127.0.0.1 at a free port for the duration of the block."""
    embedded = start_moto()
    try:
        yield embedded
    finally:
        embedded.stop()


def start_moto() -> EmbeddedS3:
    """Start a moto server on 127.0.0.1 at a free port; the caller must `stop()` it."""
    from moto.server import ThreadedMotoServer

    started = time.perf_counter()
    # Port 0: the OS picks a free port at bind time, so there is no race with other servers.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _quiet_request_log(server)
    host, port = server.get_host_and_port()
    embedded = EmbeddedS3(endpoint_url=f"http://{host}:{port}", _server=server)
    logger.debug(
        "moto S3 on %s (started in %.2fs)", embedded.endpoint_url, time.perf_counter() - started
    )
    return embedded


def _quiet_request_log(server: Any) -> None:
    """Route werkzeug's per-request log to DEBUG here, without query strings.

    Werkzeug logs every request line at INFO, and a presigned GET's query carries the
    signature and the access key id; redacting it must not depend on logging configuration.
    Done per server (its request handler class), never on the shared "werkzeug" logger.
    """
    inner = getattr(server, "_server", None)
    handler = getattr(inner, "RequestHandlerClass", None)
    if inner is None or handler is None:  # moto changed shape: fail loudly, not leakily
        server.stop()
        raise RuntimeError("unsupported moto ThreadedMotoServer: cannot redact its request log")

    def handler_log(self: Any, type: str, message: str, *args: Any) -> None:
        _log_redacted(type, message, *args)

    inner.RequestHandlerClass = type("QuietMotoRequestHandler", (handler,), {"log": handler_log})
    inner.log = _log_redacted  # the server's own "Error on request" tracebacks


def _log_redacted(type: str, message: str, *args: Any) -> None:
    try:
        text = message % args if args else message
    except (TypeError, ValueError):
        text = message
    level = logging.WARNING if type == "error" else logging.DEBUG
    logger.log(level, "moto %s: %s", type, _QUERY.sub("?<redacted>", _ANSI.sub("", text).rstrip()))

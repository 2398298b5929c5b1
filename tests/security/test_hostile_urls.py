"""Credentials in URLs and sources turned against the network.

Userinfo and query strings never reach summary.json, stdout or stderr; an http(s) source is not
fetched from a loopback, private or link-local address, nor through a redirect to another host,
unless settings allow it; the sandbox fetches data_url only from loopback (or listed) hosts and
follows no redirect.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support.measure import run_measured

from pipelines.read.errors import ExportError
from pipelines.read.export import read_export
from pipelines.staging.s3 import redact_url
from pipelines.staging.safe_urls import SourcePolicy, SourceRefused, _check_redirect, safe_url
from pipelines.transform.job import strip_query
from sandbox.fetch import FETCH_HOSTS_ENV, LoadFailed, _download, fetch_refusal

pytestmark = pytest.mark.slow

CSV = b"first_name,last_name,email\nAda,Lovelace,ada@example.org\n"


@dataclass
class Server:
    """A loopback HTTP server: `routes` maps a path to (status, headers, body)."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    port: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Server, Server]]:
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("no_proxy", "*")
    for name in ("KINDFUL_ETL_ALLOW_PRIVATE_HOSTS", "KINDFUL_ETL_ALLOW_REDIRECT_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    made: list[tuple[Server, ThreadingHTTPServer, threading.Thread]] = []
    for _ in range(2):
        state = Server()

        class Handler(BaseHTTPRequestHandler):
            served = state

            def do_GET(self) -> None:
                self.served.hits.append(self.path)
                self.served.auth.append(self.headers.get("Authorization", ""))
                path = self.path.split("?", 1)[0]
                status, headers, body = self.served.routes.get(path, (404, {}, b""))
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        state.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        made.append((state, server, thread))
    try:
        yield made[0][0], made[1][0]
    finally:
        for _, server, thread in made:
            server.shutdown()
            server.server_close()
            thread.join(5)


# --------------------------------------------------------------------------------------------
# credentials in URLs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("https://user:pass@host/a.csv?X-Amz-Signature=s#f", "https://host/a.csv"),
        ("https://user@host:8443/a.csv", "https://host:8443/a.csv"),
        ("https://u:p@[2001:db8::1]:9000/a.csv?q", "https://[2001:db8::1]:9000/a.csv"),
        ("postgresql://etl:pw@db.internal:5432/ledger", "postgresql://db.internal:5432/ledger"),
        ("s3://bucket/key.csv?versionId=1", "s3://bucket/key.csv"),
        ("https://u:p@host:notaport/a.csv", "https://host:notaport/a.csv"),
        ("/srv/inbox/a.csv", "/srv/inbox/a.csv"),
        ("/srv/inbox/gifts #2.csv", "/srv/inbox/gifts #2.csv"),
        ("s3://Legacy-Bucket/Key.csv?versionId=1", "s3://Legacy-Bucket/Key.csv"),
        ("C:\\exports\\a.csv", "C:\\exports\\a.csv"),
    ],
)
def test_safe_url_strips_userinfo_query_and_fragment(uri: str, shown: str) -> None:
    assert safe_url(uri) == strip_query(uri) == redact_url(uri) == shown


def test_a_userinfo_url_is_not_in_summary_json_stdout_or_stderr(
    servers: tuple[Server, Server], tmp_path: Path
) -> None:
    files, _ = servers
    files.routes["/export.csv"] = (200, {}, CSV)
    source = files.url("/export.csv?X-Amz-Signature=sigsig0000").replace(
        "http://", "http://donor-admin:s3cretpw0000@"
    )
    out = tmp_path / "out"
    cost = run_measured(
        ["validate", source, "--format", "contact", "--out", str(out)],
        out,
        {"KINDFUL_ETL_ALLOW_PRIVATE_HOSTS": "127.0.0.1"},
    )
    assert cost.returncode == 0, cost.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["source"] == files.url("/export.csv")
    everything = cost.stdout + cost.stderr + "".join(p.read_text() for p in out.glob("*.*"))
    for secret in ("s3cretpw0000", "sigsig0000", "donor-admin"):
        assert secret not in everything
    assert files.auth[0].startswith("Basic ")  # the userinfo was the server's to see


def test_a_refusal_names_the_source_without_its_credentials(
    servers: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    files, _ = servers
    with pytest.raises(ExportError) as caught:
        read_export(files.url("/a.csv?X-Amz-Signature=sigsig").replace("//", "//u:pw0000@"))
    assert "pw0000" not in str(caught.value) and "sigsig" not in str(caught.value)


# --------------------------------------------------------------------------------------------
# http(s) sources: addresses and redirects
# --------------------------------------------------------------------------------------------


def test_a_loopback_source_is_refused_unless_allowed(
    servers: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    files, _ = servers
    files.routes["/a.csv"] = (200, {}, CSV)
    for host in ("127.0.0.1", "localhost"):
        with pytest.raises(ExportError, match=r"loopback, private or link-local.*ALLOW_PRIVATE"):
            read_export(files.url("/a.csv", host))
    assert files.hits == []  # refused before connecting
    monkeypatch.setenv("KINDFUL_ETL_ALLOW_PRIVATE_HOSTS", "127.0.0.0/8")
    assert len(read_export(files.url("/a.csv"))) == 1


def test_a_redirect_to_another_host_is_refused_before_it_is_followed(
    servers: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    origin, other = servers
    monkeypatch.setenv("KINDFUL_ETL_ALLOW_PRIVATE_HOSTS", "127.0.0.1,localhost")
    other.routes["/x.csv"] = (200, {}, CSV)
    origin.routes["/a.csv"] = (302, {"Location": other.url("/x.csv", "localhost")}, b"")
    with pytest.raises(ExportError, match=r"redirects to another host \(localhost\)"):
        read_export(origin.url("/a.csv?X-Amz-Signature=sig"))
    assert other.hits == []
    origin.routes["/same.csv"] = (301, {"Location": "/x.csv"}, b"")
    origin.routes["/x.csv"] = (200, {}, CSV)
    assert len(read_export(origin.url("/same.csv"))) == 1  # same host: followed
    monkeypatch.setenv("KINDFUL_ETL_ALLOW_REDIRECT_HOSTS", "localhost")
    assert len(read_export(origin.url("/a.csv"))) == 1
    assert other.hits == ["/x.csv"]


def test_a_redirect_to_the_metadata_address_is_refused_without_connecting(
    servers: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    origin, _ = servers
    monkeypatch.setenv("KINDFUL_ETL_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("KINDFUL_ETL_ALLOW_REDIRECT_HOSTS", "*")  # even then: not link-local
    metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    origin.routes["/a.csv"] = (307, {"Location": metadata}, b"")
    with pytest.raises(ExportError, match=r"169\.254\.169\.254 is a loopback, private or link"):
        read_export(origin.url("/a.csv"))


def test_an_https_source_may_not_redirect_to_http() -> None:
    with pytest.raises(SourceRefused, match="from https to http"):
        _check_redirect("https://a.example/x", "http://a.example/x", SourcePolicy())


def test_endless_redirects_stop(
    servers: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    origin, _ = servers
    monkeypatch.setenv("KINDFUL_ETL_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    origin.routes["/loop.csv"] = (302, {"Location": "/loop.csv"}, b"")
    with pytest.raises(ExportError, match="redirects more than 5 times"):
        read_export(origin.url("/loop.csv"))


# --------------------------------------------------------------------------------------------
# the sandbox's data_url fetch
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "environ", "allowed"),
    [
        ("http://127.0.0.1:9000/b/k.csv.gz", {}, True),
        ("http://localhost:9000/b/k.csv.gz", {}, True),
        ("http://[::1]:9000/b/k.csv.gz", {}, True),
        ("http://169.254.169.254/latest/meta-data/", {}, False),
        ("http://10.0.0.5/k.csv", {}, False),
        ("https://bucket.s3.amazonaws.com/k.csv", {}, False),
        ("https://bucket.s3.amazonaws.com/k.csv", {FETCH_HOSTS_ENV: "*.amazonaws.com"}, True),
        ("https://files.example/k.csv", {FETCH_HOSTS_ENV: "files.example, other"}, True),
        ("file:///etc/passwd", {FETCH_HOSTS_ENV: "*"}, False),
    ],
)
def test_the_sandbox_fetches_only_from_allowed_hosts(
    url: str, environ: dict[str, str], allowed: bool
) -> None:
    assert (fetch_refusal(url, environ) is None) == allowed


def test_the_sandbox_refuses_the_metadata_address_and_redirects(
    servers: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FETCH_HOSTS_ENV, raising=False)
    with pytest.raises(LoadFailed, match=r"169\.254\.169\.254 is not allowed"):
        _download("http://169.254.169.254/latest/meta-data/", 5.0)
    origin, other = servers
    other.routes["/k.csv"] = (200, {}, CSV)
    origin.routes["/k.csv"] = (302, {"Location": other.url("/k.csv")}, b"")
    with pytest.raises(LoadFailed, match="a redirect"):
        _download(origin.url("/k.csv"), 5.0)
    assert other.hits == []
    assert _download(other.url("/k.csv"), 5.0) == CSV

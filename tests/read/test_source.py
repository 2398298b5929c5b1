"""Opening a source: encodings, gzip, files that are not there, real HTTP and S3 servers."""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from read_helpers import (
    JSONL,
    JSONL_EXPECTED,
    LATE_KEYS,
    XLSX_EXPECTED,
    XLSX_ROWS,
    assert_all_strings,
    make_xlsx,
    records,
    write,
)

from pipelines.read.errors import ExportError
from pipelines.read.export import iter_export, read_export

# --------------------------------------------------------------------------------------------
# encodings
# --------------------------------------------------------------------------------------------


ENCODED = "id,first_name,city\n1,José,Zoë’s Café\n2,Ada,Nashville\n"
ENCODED_ROWS = [
    {"id": "1", "first_name": "José", "city": "Zoë’s Café"},
    {"id": "2", "first_name": "Ada", "city": "Nashville"},
]


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("utf-8", ENCODED.encode("utf-8")),
        ("utf-8 with BOM", b"\xef\xbb\xbf" + ENCODED.encode("utf-8")),
        ("windows-1252", ENCODED.encode("cp1252")),
        ("utf-16 LE with BOM", b"\xff\xfe" + ENCODED.encode("utf-16-le")),
        ("utf-16 BE with BOM", b"\xfe\xff" + ENCODED.encode("utf-16-be")),
        ("utf-16 LE without BOM", ENCODED.encode("utf-16-le")),
        ("utf-8 with CRLF", ENCODED.replace("\n", "\r\n").encode("utf-8")),
    ],
)
def test_encodings(tmp_path: Path, label: str, data: bytes) -> None:
    frame = read_export(write(tmp_path, "export.csv", data))
    assert list(frame.columns) == ["id", "first_name", "city"], label  # no BOM in "id"
    assert records(frame) == ENCODED_ROWS
    assert_all_strings(frame)


def test_cp1252_bytes_are_decoded_as_excel_writes_them(tmp_path: Path) -> None:
    # 0xE9 is é and 0x92 the right single quote in Windows-1252; both invalid as UTF-8.
    path = write(tmp_path, "excel.csv", b"name,note\nJos\xe9,O\x92Brien\n")
    assert records(read_export(path)) == [{"name": "José", "note": "O’Brien"}]


def test_cp1252_byte_after_a_long_ascii_head_switches_without_rereading(tmp_path: Path) -> None:
    body = b"".join(b"%d,Ada,Example\n" % i for i in range(20_000))  # ~350 KB of ASCII
    path = write(tmp_path, "late.csv", b"id,first,last\n" + body + b"x,Jos\xe9,Caf\x92\n")
    frame = read_export(path)
    assert len(frame) == 20_001
    assert records(frame.tail(1)) == [{"id": "x", "first": "José", "last": "Caf’"}]


def test_multibyte_utf8_across_read_blocks(tmp_path: Path) -> None:
    text = "id,name,city\n" + "".join(f"{i},Zoë 日本 ’{i}’,Café\n" for i in range(30_000))
    path = write(tmp_path, "wide.csv", text.encode("utf-8"))
    expected = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(read_export(path), expected, check_dtype=False)


def test_bom_never_leaks_into_headers(tmp_path: Path) -> None:
    data = "\ufeff\ufeff id ,\ufeffname\n1,Ada\n".encode()
    assert list(read_export(write(tmp_path, "bom.csv", data)).columns) == ["id", "name"]


# --------------------------------------------------------------------------------------------
# gzip
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export.csv.gz", "export.csv", "export", "export.gz"])
def test_gzip_is_detected_by_magic_bytes(tmp_path: Path, name: str) -> None:
    data = gzip.compress("a;b\n1;Zoë\n".encode("cp1252"))
    assert records(read_export(write(tmp_path, name, data))) == [{"a": "1", "b": "Zoë"}]


def test_gz_extension_on_plain_text_is_fine(tmp_path: Path) -> None:
    assert records(read_export(write(tmp_path, "liar.csv.gz", b"a,b\n1,2\n"))) == [
        {"a": "1", "b": "2"}
    ]


# --------------------------------------------------------------------------------------------
# local files that cannot be read
# --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="file not found") as caught:
        read_export(str(tmp_path / "nowhere.csv"))
    assert "nowhere.csv" in str(caught.value)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot read"):
        read_export(str(tmp_path))


# --------------------------------------------------------------------------------------------
# remote sources: real HTTP and S3 (moto) servers on 127.0.0.1
# --------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("KINDFUL_ETL_ALLOW_PRIVATE_HOSTS", "127.0.0.1")  # loopback is refused
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_csv_gzip_and_xlsx(http_root: tuple[Path, str]) -> None:
    root, base = http_root
    (root / "export.csv").write_bytes(ENCODED.encode("cp1252"))
    (root / "export.bin").write_bytes(gzip.compress(b"a|b\n1|2\n"))
    (root / "book.xlsx").write_bytes(make_xlsx(XLSX_ROWS))
    assert records(read_export(f"{base}/export.csv?X-Amz-Signature=s3cr3t")) == ENCODED_ROWS
    assert records(read_export(f"{base}/export.bin")) == [{"a": "1", "b": "2"}]
    assert records(read_export(f"{base}/book.xlsx")) == XLSX_EXPECTED
    chunks = list(iter_export(f"{base}/export.csv", chunk_rows=1))
    assert [c.index[0] for c in chunks] == [0, 1]


def test_http_not_found_hides_the_query_string(http_root: tuple[Path, str]) -> None:
    _, base = http_root
    with pytest.raises(ExportError, match="not found") as caught:
        read_export(f"{base}/missing.csv?X-Amz-Signature=s3cr3t")
    assert "s3cr3t" not in str(caught.value)
    assert "/missing.csv" in str(caught.value)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    import boto3  # type: ignore[import-untyped]

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "NO_PROXY": "127.0.0.1,localhost",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    # The moto server lives for the module, so the bucket may exist from an earlier test.
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket="donor-exports")
    return client


def test_s3_csv_gzip_and_xlsx(s3_bucket: Any) -> None:
    s3_bucket.put_object(
        Bucket="donor-exports", Key="in/export.csv.gz", Body=gzip.compress(ENCODED.encode())
    )
    s3_bucket.put_object(Bucket="donor-exports", Key="in/book.xlsx", Body=make_xlsx(XLSX_ROWS))
    s3_bucket.put_object(Bucket="donor-exports", Key="in/notes.jsonl", Body=JSONL.encode())
    assert records(read_export("s3://donor-exports/in/export.csv.gz")) == ENCODED_ROWS
    assert records(read_export("s3://donor-exports/in/book.xlsx")) == XLSX_EXPECTED
    assert records(read_export("s3://donor-exports/in/notes.jsonl")) == JSONL_EXPECTED


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("s3://donor-exports/in/missing.csv", "not found"),
        ("s3://no-such-bucket/in/export.csv", "NoSuchBucket"),
    ],
)
def test_s3_errors(s3_bucket: Any, uri: str, fragment: str) -> None:
    with pytest.raises(ExportError, match=fragment) as caught:
        read_export(uri)
    assert uri in str(caught.value)


def test_jsonl_key_pass_on_remote_sources(s3_bucket: Any, http_root: tuple[Path, str]) -> None:
    """The first pass opens the source again: S3 and HTTP bodies are not seekable."""
    body = gzip.compress(LATE_KEYS.encode())
    s3_bucket.put_object(Bucket="donor-exports", Key="in/late.jsonl.gz", Body=body)
    root, base = http_root
    (root / "late.jsonl").write_bytes(LATE_KEYS.encode())
    for uri in ("s3://donor-exports/in/late.jsonl.gz", f"{base}/late.jsonl?X-Amz-Signature=s"):
        chunks = list(iter_export(uri, chunk_rows=4))
        assert [list(c.columns) for c in chunks] == [["id", "late", "Unnamed: 2"]] * 2
        pd.testing.assert_frame_equal(pd.concat(chunks), read_export(uri))

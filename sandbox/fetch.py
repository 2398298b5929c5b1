"""Loading a job's rows: inline `data`, or `data_url` fetched over HTTP when the job runs.

Strict like Kindful (002): UTF-8, no BOM, CSV with a header of Kindful column names, JSON as
one object per line (not an array), gzip only when `compression` says so. Anything that
cannot be read makes the job `load_failed` with a message.

The sandbox fetches what any caller names, so it fetches only from loopback addresses (the
embedded S3, a test's file server) unless `KINDFUL_SANDBOX_FETCH_HOSTS` lists more hosts
(comma-separated names, `*.suffix` patterns, or `*`; a rehearsal against a real bucket needs
e.g. `*.amazonaws.com`), and follows no redirect: a data_url must not reach the cloud metadata
address or an internal service through the sandbox.
"""

from __future__ import annotations

import csv
import gzip
import io
import ipaddress
import json
import os
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from sandbox.request import ImportSpec

NumberedRow = tuple[int, dict[str, Any]]
_BOM = b"\xef\xbb\xbf"
FETCH_HOSTS_ENV = "KINDFUL_SANDBOX_FETCH_HOSTS"


class LoadFailed(Exception):
    """The data could not be loaded; the message is shown on the job."""


def load_rows(spec: ImportSpec, *, timeout: float = 30.0) -> list[NumberedRow]:
    """Rows numbered from 1 in the order they were submitted."""
    if spec.data is not None:
        return list(enumerate(spec.data, start=1))
    assert spec.data_url is not None
    raw = _download(spec.data_url, timeout)
    if spec.compression == "gzip":
        raw = _gunzip(raw)
    return parse_body(raw, spec.data_type or "csv")


def fetch_refusal(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the sandbox will not fetch `url` (None when it will): loopback hosts, plus the
    hosts `KINDFUL_SANDBOX_FETCH_HOSTS` lists."""
    env = os.environ if environ is None else environ
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "data_url must be an http(s) URL"
    if host == "localhost" or _is_loopback(host):
        return None
    for pattern in (p.strip().lower() for p in env.get(FETCH_HOSTS_ENV, "").split(",")):
        if pattern in ("*", host) or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return None
    return f"data_url host {host} is not allowed (loopback only unless {FETCH_HOSTS_ENV} lists it)"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _download(url: str, timeout: float) -> bytes:
    refusal = fetch_refusal(url)
    if refusal is not None:
        raise LoadFailed(f"data_url could not be fetched: {refusal}")
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise LoadFailed(f"data_url could not be fetched: {type(exc).__name__}") from None
    if response.is_redirect:
        raise LoadFailed(
            f"data_url could not be fetched: HTTP {response.status_code}, a redirect (not followed)"
        )
    if response.status_code >= 400:
        raise LoadFailed(f"data_url could not be fetched: HTTP {response.status_code}")
    return response.content


def _gunzip(raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise LoadFailed(f"compression is gzip but the data is not valid gzip: {exc}") from None


def parse_body(raw: bytes, data_type: str) -> list[NumberedRow]:
    """Decode and parse a downloaded (already decompressed) file."""
    if not raw.strip():
        raise LoadFailed("data file is empty")
    if raw.startswith(_BOM):
        # 002: "make sure the file does not contain BOM fields".
        raise LoadFailed("CSV contains a BOM" if data_type == "csv" else "data contains a BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = " (compressed data without compression=gzip?)" if raw[:2] == b"\x1f\x8b" else ""
        raise LoadFailed(f"data is not valid UTF-8{hint}: {exc.reason}") from None
    return _parse_csv(text) if data_type == "csv" else _parse_json_lines(text)


def _parse_csv(text: str) -> list[NumberedRow]:
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = next(reader)
        records = list(reader)
    except csv.Error as exc:
        raise LoadFailed(f"CSV could not be parsed: {exc}") from None
    names = [name.strip() for name in header]
    if not any(names) or len(set(names)) != len(names) or "" in names:
        raise LoadFailed("CSV header must name every column once")
    rows: list[NumberedRow] = []
    for number, record in enumerate((r for r in records if any(r)), start=1):
        if len(record) != len(names):
            raise LoadFailed(
                f"CSV row {number} has {len(record)} fields but the header has {len(names)}"
            )
        rows.append((number, dict(zip(names, record, strict=True))))
    return rows


def _parse_json_lines(text: str) -> list[NumberedRow]:
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[0].lstrip().startswith("["):
        # 002: "a single json object per line, and not a single json array".
        raise LoadFailed("JSON data must be one object per line, not an array")
    rows: list[NumberedRow] = []
    for number, line in enumerate(lines, start=1):
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LoadFailed(f"JSON line {number} could not be parsed: {exc.msg}") from None
        if not isinstance(value, dict):
            raise LoadFailed(f"JSON line {number} is not an object")
        rows.append((number, value))
    return rows

"""URLs fit to show, and http(s) sources that cannot be turned against the network they run in.

`safe_url` is the one function for every URL that is stored, printed or published: presigned
URLs carry their signature in the query string and `https://user:password@host/` carries a
password, so both go (and the fragment with them).

`open_http` fetches an http(s) export without following a redirect to another host, and without
connecting to a loopback, private, link-local or otherwise non-public address, unless settings
allow it: an export URL that redirects to `http://169.254.169.254/` (cloud metadata) or to an
internal service is refused before anything is fetched from there.

- `KINDFUL_ETL_ALLOW_PRIVATE_HOSTS`: comma-separated hosts, `*.suffix` patterns, IPs or CIDRs
  (`127.0.0.1`, `files.corp.example`, `10.0.0.0/8`) that may resolve to non-public addresses;
  `*` for any. Default: none.
- `KINDFUL_ETL_ALLOW_REDIRECT_HOSTS`: hosts a redirect may lead to besides the URL's own (same
  patterns). Default: none. A redirect from https to http is always refused.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from pipelines.errors import KindfulEtlError

__all__ = [
    "SourcePolicy",
    "SourceRefused",
    "host_allowed",
    "is_public_address",
    "open_http",
    "safe_url",
]

MAX_REDIRECTS = 5
PRIVATE_HOSTS_ENV = "KINDFUL_ETL_ALLOW_PRIVATE_HOSTS"
REDIRECT_HOSTS_ENV = "KINDFUL_ETL_ALLOW_REDIRECT_HOSTS"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def safe_url(uri: str) -> str:
    """The URI without query string, fragment or `user:password@`: safe to store and show.

    The host is kept as written (S3 bucket names in ledger keys keep their case). A local path
    loses anything from a `?` on, as the ledger's keys always have; a `#` in a file name stays.
    """
    parts = urlsplit(uri)
    if len(parts.scheme) <= 1 or not parts.netloc:  # a path (or a Windows drive letter)
        return uri.split("?", 1)[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class SourceRefused(KindfulEtlError):
    """An http(s) source that settings do not allow; the message is one line, no query."""


def _patterns(raw: str) -> tuple[str, ...]:
    return tuple(p.strip().lower() for p in raw.split(",") if p.strip())


@dataclass(frozen=True)
class SourcePolicy:
    """Which non-public hosts and which redirect targets an http(s) source may use."""

    private_hosts: tuple[str, ...] = ()
    redirect_hosts: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SourcePolicy:
        env = os.environ if environ is None else environ
        return cls(
            private_hosts=_patterns(env.get(PRIVATE_HOSTS_ENV, "")),
            redirect_hosts=_patterns(env.get(REDIRECT_HOSTS_ENV, "")),
        )


def is_public_address(address: str) -> bool:
    """Whether an IP is on the public internet (not loopback, private, link-local, ...)."""
    ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def host_allowed(host: str, patterns: Iterable[str], addresses: Iterable[str] = ()) -> bool:
    """Whether `host` (or one of its addresses) matches a pattern: a name, `*.suffix`, an IP,
    a CIDR, or `*` for anything."""
    host = host.lower().strip("[]")
    for pattern in patterns:
        if pattern in ("*", host):
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
        try:
            network = ipaddress.ip_network(pattern.strip("[]"), strict=False)
        except ValueError:
            continue
        for address in (host, *addresses):
            try:
                if ipaddress.ip_address(address.split("%", 1)[0]) in network:
                    return True
            except ValueError:
                continue
    return False


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise SourceRefused(f"cannot resolve host {host}") from None
    return sorted({str(info[4][0]) for info in infos})


def check_destination(url: str, policy: SourcePolicy) -> None:
    """Refuse a URL whose host resolves to a non-public address the policy does not allow."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceRefused(f"not an http(s) URL: {safe_url(url)}")
    host = parts.hostname
    if host_allowed(host, policy.private_hosts):
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    private = [a for a in addresses if not is_public_address(a)]
    if private and not host_allowed(host, policy.private_hosts, private):
        raise SourceRefused(
            f"{host} is a loopback, private or link-local address ({private[0]}); "
            f"allow it with {PRIVATE_HOSTS_ENV}"
        )


def _check_redirect(origin: str, target: str, policy: SourcePolicy) -> None:
    before, after = urlsplit(origin), urlsplit(target)
    if before.scheme == "https" and after.scheme != "https":
        raise SourceRefused(f"{safe_url(origin)} redirects from https to {after.scheme or '?'}")
    if (after.hostname or "") != (before.hostname or "") and not host_allowed(
        after.hostname or "", policy.redirect_hosts
    ):
        raise SourceRefused(
            f"{safe_url(origin)} redirects to another host ({after.hostname}); "
            f"allow it with {REDIRECT_HOSTS_ENV}"
        )


def _check_peer(response: Any, url: str, policy: SourcePolicy) -> None:
    """The address actually connected to, against DNS answers that changed since the check.

    Skipped behind a proxy (the peer is the proxy, which resolves the name itself).
    """
    import requests

    if requests.utils.get_environ_proxies(url):
        return
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is None:
        return
    peer = str(sock.getpeername()[0])
    host = urlsplit(url).hostname or ""
    if not is_public_address(peer) and not host_allowed(host, policy.private_hosts, [peer]):
        raise SourceRefused(
            f"{host} connected to a non-public address ({peer}); allow it with {PRIVATE_HOSTS_ENV}"
        )


def open_http(url: str, *, timeout: float, policy: SourcePolicy | None = None) -> IO[bytes]:
    """A binary stream of an http(s) resource, redirects and addresses checked hop by hop.

    HTTP errors raise `requests.HTTPError` (its response carries the status code); refusals
    raise `SourceRefused`.
    """
    import requests

    policy = policy or SourcePolicy.from_env()
    session = requests.Session()
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_destination(current, policy)
            response = session.get(current, stream=True, allow_redirects=False, timeout=timeout)
            try:
                _check_peer(response, current, policy)
                if not response.is_redirect:
                    response.raise_for_status()
                    response.raw.decode_content = True  # the resource, not its transfer coding
                    stream: IO[bytes] = response.raw
                    return stream
                target = urljoin(current, response.headers["location"])
            except BaseException:
                response.close()
                raise
            response.close()
            _check_redirect(current, target, policy)
            current = target
    finally:
        session.close()  # the returned response keeps its own connection
    raise SourceRefused(f"{safe_url(url)} redirects more than {MAX_REDIRECTS} times")

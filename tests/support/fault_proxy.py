"""A TCP proxy for fault tests: resets and delays real connections between a client and a server.

Faults are decided per connection with a seeded generator, so a scenario is repeatable:
- `reset_before`: close the client's connection before forwarding anything (the server never
  sees the request; a client may safely send it again);
- `reset_after`: forward the request, then close the client's connection before the answer (the
  server did the work; the client cannot know);
- `delay`: hold the answer for `delay_seconds` (a client with a shorter timeout gives up).
`match` limits faults to connections whose first bytes contain it (e.g. b"POST /api/v1/imports").
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class FaultProxy:
    upstream_port: int
    reset_before: float = 0.0
    reset_after: float = 0.0
    delay: float = 0.0
    delay_seconds: float = 1.0
    match: bytes | None = None
    seed: int = 7
    counts: dict[str, int] = field(default_factory=dict)
    _rng: random.Random = field(init=False)
    _server: socket.socket = field(init=False)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._server.getsockname()[1])

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self._stop.set()
        self._server.close()

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def _draw(self) -> str:
        with self._lock:
            roll = self._rng.random()
        if roll < self.reset_before:
            return "reset_before"
        if roll < self.reset_before + self.reset_after:
            return "reset_after"
        if roll < self.reset_before + self.reset_after + self.delay:
            return "delay"
        return "pass"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        """One connection = one request here: the proxy asks for `Connection: close`."""
        with client:
            request = self._read_request(client)
            if not request:
                return
            fault = self._draw() if self.match is None or self.match in request else "pass"
            self._count(fault)
            if fault == "reset_before":
                client.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                return
            with socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
                upstream.sendall(request)
                answer = self._read_all(upstream)
            if fault == "reset_after":
                client.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                return
            if fault == "delay":
                time.sleep(self.delay_seconds)
            with contextlib.suppress(OSError):  # the client may have given up
                client.sendall(answer)

    @staticmethod
    def _read_request(sock: socket.socket) -> bytes:
        """Read one HTTP request (headers + Content-Length body); force Connection: close."""
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return b""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        lines = head.split(b"\r\n")
        kept = [lines[0]]
        for line in lines[1:]:
            name = line.split(b":", 1)[0].strip().lower()
            if name == b"content-length":
                length = int(line.split(b":", 1)[1])
            if name == b"connection":
                continue
            kept.append(line)
        kept.append(b"Connection: close")
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return b"\r\n".join(kept) + b"\r\n\r\n" + body

    @staticmethod
    def _read_all(sock: socket.socket) -> bytes:
        sock.settimeout(30)
        parts = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

"""The run's traffic as it passes wicct's own side of each WebSocket connection.

`wicct run --bundle` (issue 10, evidence bundle) starts a `Capture` for the run; each
`harness.ws.stream` stream then hands it the bytes it writes to and reads from TCP: for
wss the TLS records as they leave and enter the `ssl.MemoryBIO` pair (wicct drives
OpenSSL itself, so it holds the ciphertext the peer sees), for ws the plain bytes. Each
chunk keeps its monotonic and wall time. `harness.report.pcap` turns a capture into
`traffic.pcapng`.

Bounded: past `per_connection` bytes on one connection or `per_run` bytes in all, a
connection's later bytes are counted, not kept (`Connection.dropped`), and the bundle's
manifest says so. With no capture started (every run without `--bundle`) a stream does
one `None` check per read or write.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

PER_CONNECTION = 4 * 1024 * 1024
"""Bytes kept per connection (both directions together)."""
PER_RUN = 64 * 1024 * 1024
"""Bytes kept in all, over every connection of the run."""


@dataclass(frozen=True)
class Chunk:
    """Bytes that crossed TCP in one direction: "out" (wicct sent) or "in" (wicct read)."""

    direction: str
    mono: float
    wall: float
    data: bytes


@dataclass
class Connection:
    """One TCP connection seen from wicct's side (`local` is wicct's address)."""

    number: int
    local: tuple[str, int]
    remote: tuple[str, int]
    accepted: bool  # the peer connected to wicct (wicct is the TCP server)
    opened_mono: float
    opened_wall: float
    chunks: list[Chunk] = field(default_factory=list)
    kept: int = 0
    dropped: int = 0  # bytes past a cap: counted, not kept
    closed: dict[str, float] = field(default_factory=dict)  # direction -> mono time of its FIN
    tls: bool = False


def _address(info: Any) -> tuple[str, int]:
    if isinstance(info, tuple) and len(info) >= 2:
        return str(info[0]), int(info[1])
    return "127.0.0.1", 0


class Capture:
    """The connections of one run, thread-safe (cases may run on several threads)."""

    def __init__(self, *, per_connection: int = PER_CONNECTION, per_run: int = PER_RUN) -> None:
        self.per_connection = per_connection
        self.per_run = per_run
        self.connections: list[Connection] = []
        self.kept = 0
        self.dropped = 0
        self.started_mono = time.monotonic()
        self.started_wall = time.time()
        # id(transport) -> (transport, its connection); the transport is held so that its
        # id is not reused by another while the run lasts
        self._by_transport: dict[int, tuple[object, Connection]] = {}
        self._lock = threading.Lock()

    def connection(self, writer: Any, *, accepted: bool) -> Connection:
        """The connection under `writer` (an asyncio.StreamWriter): one per TCP connection,
        also when a TLS stream replaces the plain one on the same transport."""
        transport = getattr(writer, "transport", writer)
        with self._lock:
            found = self._by_transport.get(id(transport))
            if found is not None and found[0] is transport and not found[1].closed:
                return found[1]
            conn = Connection(
                number=len(self.connections),
                local=_address(writer.get_extra_info("sockname")),
                remote=_address(writer.get_extra_info("peername")),
                accepted=accepted,
                opened_mono=time.monotonic(),
                opened_wall=time.time(),
            )
            self.connections.append(conn)
            self._by_transport[id(transport)] = (transport, conn)
            return conn

    def record(self, conn: Connection, direction: str, data: bytes) -> None:
        """Keep `data` (bytes that crossed TCP in `direction`) within the caps."""
        if not data:
            return
        with self._lock:
            if conn.dropped or conn.kept + len(data) > self.per_connection or (
                self.kept + len(data) > self.per_run
            ):
                conn.dropped += len(data)  # once a connection lost bytes, it keeps none after
                self.dropped += len(data)
                return
            conn.chunks.append(Chunk(direction, time.monotonic(), time.time(), bytes(data)))
            conn.kept += len(data)
            self.kept += len(data)

    def close(self, conn: Connection, direction: str) -> None:
        """TCP closed in `direction` ("out": wicct closed or dropped it; "in": the peer did)."""
        with self._lock:
            conn.closed.setdefault(direction, time.monotonic())


_current: Capture | None = None


def start(capture: Capture | None) -> None:
    """Hand every stream opened from now on to `capture` (None: stop recording)."""
    global _current
    _current = capture


def current() -> Capture | None:
    return _current

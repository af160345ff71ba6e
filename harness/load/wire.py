"""One WIC's SIP-over-WebSocket connection on a blocking socket (RFC 7118, RFC 6455).

The frames are websockets' sans-I/O `ClientProtocol`; this module only moves its bytes
over a TLS socket. In Locust's process gevent has patched `socket` and `ssl`, so a
blocking call here yields to the other users. Nothing here decides a verdict: what was
received is handed back (with the handshake's headers) for `judge.py`.

A read waits with a timer of its own (the socket's timeout), except a read for a response
under a `Watch`: one sweep a process enforces every awaited response's deadline, instead
of a timer made, armed and dropped by each read (issue 12: the client's CPU per REGISTER).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin, Subprotocol
from websockets.uri import parse_uri

READ_SIZE = 16384  # the largest TLS record (RFC 8446 §5.1): SSL_read returns one at most; a
# larger buffer is allocated and shrunk on every read and costs memory per connection


class WireError(Exception):
    """The connection could not be opened or was lost; `cause` is the word the load report
    counts it under (refused, reset, eof, timeout, tls, handshake, closed...)."""

    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(f"{cause}: {detail}")
        self.cause = cause
        self.detail = detail


@dataclass(frozen=True)
class Handshake:
    """The upgrade as it happened: what EPC-HS-01 is judged on."""

    request_headers: list[list[str]]
    status: int
    response_headers: list[list[str]]
    error: str | None


@dataclass(frozen=True)
class Message:
    """One reassembled WebSocket data message (RFC 6455 §5.4)."""

    opcode: str  # "text" | "binary"
    payload: bytes
    at: float  # time.monotonic() when its last frame arrived


class Watch:
    """The deadlines of the responses a process's wires await (`Wire.receive(watched=True)`).

    `expire(now)`, called every `SWEEP` seconds or so by whoever runs the process's loop
    (`locustfile.py`: a greenlet), shuts down the socket of each wire whose deadline has
    passed: its read then ends, and the wire returns what a timed read returns when its time
    runs out (no message). The wire is unusable after that: a request left unanswered ends
    its connection anyway (`locustfile.WicUser.outcome`). A deadline is thus kept to within
    one sweep. `readable(sock)` waits until `sock` has bytes (or EOF); the default lets the
    read wait, a process under gevent gives its hub's wait (`gevent.socket.wait_read`),
    which spares the read a first try that finds nothing."""

    SWEEP = 0.25  # seconds between two sweeps

    def __init__(self, readable: Callable[[int], object] | None = None) -> None:
        self.waiting: dict[int, Wire] = {}  # id(wire) -> wire, while it awaits a response
        self._readable = readable

    def readable(self, sock: socket.socket) -> None:
        if self._readable is not None:
            self._readable(sock.fileno())

    def expire(self, now: float) -> int:
        """Shut down the wires whose deadline is past `now`; how many."""
        late = [wire for wire in self.waiting.values() if wire.until <= now]
        for wire in late:
            wire.expire()
        return len(late)


@dataclass
class Wire:
    """A WebSocket to the eP-CSCF: `open()`, then `send()`/`receive()`; `close()` always."""

    url: str
    context: ssl.SSLContext | None
    server_hostname: str
    origin: str
    timeout: float
    sock: socket.socket | None = None
    protocol: ClientProtocol | None = None
    pongs: int = 0
    watch: Watch | None = None
    until: float = 0.0  # the deadline of the response awaited under `watch`
    expired: bool = False  # `watch` shut the socket down: the deadline passed
    _parts: list[bytes] = field(default_factory=list)
    _opcode: str = "text"

    def open(self) -> Handshake:
        """TCP, TLS, then the upgrade offering `sip` with the WWSF's Origin (RFC 7118 §4.1)."""
        uri = parse_uri(self.url)
        try:
            raw = socket.create_connection((uri.host, uri.port), timeout=self.timeout)
        except ConnectionRefusedError as exc:
            raise WireError("refused", str(exc)) from exc
        except TimeoutError as exc:
            raise WireError("connect-timeout", str(exc)) from exc
        except OSError as exc:
            raise WireError("connect-error", str(exc)) from exc
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = raw
        if self.context is not None:
            try:
                self.sock = self.context.wrap_socket(raw, server_hostname=self.server_hostname)
            except ssl.SSLError as exc:
                raw.close()
                raise WireError("tls", str(exc)) from exc
            except OSError as exc:
                raw.close()
                raise WireError(_cause(exc), str(exc)) from exc
        self.protocol = ClientProtocol(
            uri, origin=Origin(self.origin), subprotocols=[Subprotocol("sip")], max_size=None
        )
        request = self.protocol.connect()
        self.protocol.send_request(request)
        self._flush()
        response: Response | None = None
        while response is None:
            self._read()
            for event in self.protocol.events_received():
                if isinstance(event, Response):
                    response = event
        error = self.protocol.handshake_exc
        facts = Handshake(_pairs(request.headers), response.status_code, _pairs(response.headers),
                          f"{type(error).__name__}: {error}" if error is not None else None)
        # the protocol's parser keeps the 101 it parsed for the connection's life: its
        # headers, now in `facts`, are memory per connection for nothing (issue 12)
        response.headers.clear()
        if error is not None or self.protocol.state is not State.OPEN:
            self.close()
            if isinstance(error, InvalidHandshake):
                raise HandshakeRefused(facts)
            raise WireError("handshake", facts.error or f"HTTP {response.status_code}")
        return facts

    def send(self, data: bytes) -> None:
        """One SIP message (or a CRLF keep-alive) as one text message (RFC 7118 §5)."""
        self._need().send_text(data)
        self._flush()

    def ping(self, payload: bytes) -> None:
        """A Ping (RFC 6455 §5.5.2); the Pong is counted in `pongs`."""
        self._need().send_ping(payload)
        self._flush()

    def receive(self, until: float, *, watched: bool = False) -> list[Message]:
        """The data messages that arrive before monotonic time `until` (at least one, unless
        the time runs out: then an empty list). Pings are answered by the protocol.
        `watched` (a response awaited; the wire has a `watch`): the read has no timer, the
        watch ends it at `until`, and the time running out also ends the connection."""
        if watched and self.watch is not None:
            return self._watched(until, self.watch)
        messages: list[Message] = []
        while not messages:
            left = until - time.monotonic()
            if left <= 0:
                return messages
            # the read is here, not in a helper: an idle user waits in it, and each frame
            # above the wait is memory per connection (issue 12)
            read = self._reader(left)
            try:
                data = read(READ_SIZE)
            except TimeoutError:
                return messages
            except (OSError, ValueError) as exc:
                raise _lost(exc) from exc
            self._take(data)
            messages = self._drain()
        return messages

    def _watched(self, until: float, watch: Watch) -> list[Message]:
        messages: list[Message] = []
        if until <= time.monotonic():
            return messages
        sock = self.sock
        if sock is None:
            raise WireError("closed", "the WebSocket is closed")
        self.until = until
        watch.waiting[id(self)] = self
        try:
            while not messages:
                sock.settimeout(None)  # again each time: a Pong sent meanwhile set `timeout`
                try:
                    if not isinstance(sock, ssl.SSLSocket):
                        data = sock.recv(READ_SIZE)
                    else:
                        if not sock.pending():  # no record already decrypted and waiting
                            watch.readable(sock)
                        data = sock.read(READ_SIZE)
                except (OSError, ValueError) as exc:
                    if self.expired:
                        return messages
                    raise _lost(exc) from exc
                if self.expired:
                    return messages
                try:
                    self._take(data)  # may send (a Pong): the deadline may pass meanwhile
                except WireError:
                    if self.expired:
                        return messages
                    raise
                messages = self._drain()
        finally:
            watch.waiting.pop(id(self), None)
        return messages

    def expire(self) -> None:
        """The awaited response's deadline passed (`Watch.expire`): the socket shut down, so
        the read waiting on it ends."""
        self.expired = True
        if self.watch is not None:
            self.watch.waiting.pop(id(self), None)
        if self.sock is not None:
            # already shut down or closed by the SUT: the read ends all the same
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is None:
            return
        try:
            if self.protocol is not None and self.protocol.state is State.OPEN:
                self.protocol.send_close(1000)
                for data in self.protocol.data_to_send():
                    if data:
                        sock.sendall(data)
        except OSError:
            pass
        finally:
            sock.close()

    # -- bytes ---------------------------------------------------------------------------
    def _need(self) -> ClientProtocol:
        if self.expired:
            raise WireError("closed", "shut down when a response's deadline passed")
        if self.protocol is None or self.sock is None or self.protocol.state is not State.OPEN:
            raise WireError("closed", "the WebSocket is not open")
        return self.protocol

    def _flush(self) -> None:
        assert self.protocol is not None and self.sock is not None
        pending = self.protocol.data_to_send()
        if not pending:
            return  # most reads leave nothing to send (a Pong, a Close would be)
        self.sock.settimeout(self.timeout)  # a SUT that stops reading: `timeout` to write
        for data in pending:
            if not data:
                continue  # the EOF marker: the socket is closed by close()
            try:
                _send_all(self.sock, data)
            except OSError as exc:
                raise WireError(_cause(exc), str(exc)) from exc

    def _read(self) -> None:
        """Bytes of the handshake: `timeout` to come."""
        read = self._reader(self.timeout)
        try:
            data = read(READ_SIZE)
        except TimeoutError:
            raise WireError("timeout", f"nothing within {self.timeout:g} s") from None
        except (OSError, ValueError) as exc:
            raise _lost(exc) from exc
        self._take(data)

    def _reader(self, timeout: float) -> Callable[[int], bytes]:
        """The socket's read, `timeout` set: a TLS socket's `read`, which its `recv` only
        calls (one frame less under the wait)."""
        if self.sock is None:
            raise WireError("closed", "the WebSocket is closed")
        self.sock.settimeout(timeout)
        return self.sock.read if isinstance(self.sock, ssl.SSLSocket) else self.sock.recv

    def _take(self, data: bytes) -> None:
        assert self.protocol is not None
        if not data:
            self.protocol.receive_eof()
            raise WireError("eof", "the SUT closed the TCP connection")
        self.protocol.receive_data(data)
        self._flush()

    def _drain(self) -> list[Message]:
        assert self.protocol is not None
        messages: list[Message] = []
        for frame in self.protocol.events_received():
            if not isinstance(frame, Frame):
                continue
            if frame.opcode is Opcode.PONG:
                self.pongs += 1
            elif frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                if frame.opcode is not Opcode.CONT:
                    self._opcode = "text" if frame.opcode is Opcode.TEXT else "binary"
                self._parts.append(bytes(frame.data))
                if frame.fin:
                    messages.append(Message(self._opcode, b"".join(self._parts), time.monotonic()))
                    self._parts = []
            elif frame.opcode is Opcode.CLOSE:
                code = self.protocol.close_code
                raise WireError("closed", f"Close {code} from the SUT")
        if self.protocol.state is not State.OPEN:  # the protocol failed the connection
            raise WireError("protocol", f"websockets failed the connection: "
                            f"{getattr(self.protocol, 'parser_exc', None)!r}")
        return messages


def _lost(exc: OSError | ValueError) -> WireError:
    """A read's error as the `WireError` of its cause (a timeout is the caller's)."""
    if isinstance(exc, ssl.SSLError):
        return WireError("tls", str(exc))
    if isinstance(exc, ValueError):  # `read` on a socket closed meanwhile
        return WireError("closed", str(exc))
    return WireError(_cause(exc), str(exc))


class HandshakeRefused(WireError):
    """The SUT did not open the WebSocket (a non-101, or a 101 websockets refused)."""

    def __init__(self, facts: Handshake) -> None:
        super().__init__("handshake", facts.error or f"HTTP {facts.status}")
        self.facts = facts


def _send_all(sock: socket.socket, data: bytes) -> None:
    """All of `data`: `send` until it is written (a TLS socket writes it all at once). Not
    gevent's `sendall`, which asks the kernel for the send buffer's size on every call."""
    view = memoryview(data)
    while view:
        sent = sock.send(view)
        if sent <= 0:
            raise TimeoutError("the socket took none of the data")
        view = view[sent:]


def _pairs(headers: Headers) -> list[list[str]]:
    return [[name, value] for name, value in headers.raw_items()]


def _cause(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "reset"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "os-error"
